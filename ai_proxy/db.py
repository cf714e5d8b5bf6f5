"""How the proxy's hot path reaches the database: a few statements (the token lookup, the
user's day, the usage write), written once from the models' metadata by the modules that
own them, and run on the drivers' asynchronous paths:

- PostgreSQL: psycopg's `AsyncConnectionPool`, one per event loop; no thread at all;
- SQLite (the embedded default): reads on the event loop through a read-only connection of
  the standard library's driver (in WAL mode a reader never waits for the writer, and one
  indexed row costs about 5 µs); writes on asyncio's default executor, through Django's own
  connection and transaction, since they may wait for the write lock.

Everything else in the project uses the ORM. Not here, because of the "server CPU per
request" row of `bench/proxy_overhead.py`: an ORM query costs about 0.4 ms of CPU to
compile and decode, and its async form another 0.2 ms for the thread handoff, where the
whole relay of a bare aiohttp proxy costs about 0.3 ms; the proxy makes three of them per
request.
"""

import asyncio
import sqlite3
import threading
import weakref
from collections.abc import Callable, Sequence
from typing import Any, TypeVar

from django.conf import settings
from django.db import DatabaseError, close_old_connections, connections, transaction
from psycopg_pool import AsyncConnectionPool

T = TypeVar("T")
ALIAS = "default"

_pools: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, AsyncConnectionPool] = (
    weakref.WeakKeyDictionary()
)
_readers = threading.local()


def is_sqlite(alias: str = ALIAS) -> bool:
    return bool(connections[alias].vendor == "sqlite")


def adapt(alias: str, value: Any) -> Any:
    """A parameter as the driver expects it (SQLite: Django's text forms of dates)."""
    if not is_sqlite(alias):
        return value
    operations = connections[alias].ops
    if hasattr(value, "hour"):
        return operations.adapt_datetimefield_value(value)
    if hasattr(value, "isoformat"):
        return operations.adapt_datefield_value(value)
    if hasattr(value, "is_finite"):  # Decimal
        return str(value)
    return value


async def fetch_one(sql: str, params: Sequence[Any], alias: str = ALIAS) -> tuple[Any, ...] | None:
    """One row of a read-only statement (`%s` placeholders)."""
    params = [adapt(alias, value) for value in params]
    if is_sqlite(alias):
        try:
            row = _sqlite_reader(alias).execute(sql.replace("%s", "?"), params).fetchone()
        except sqlite3.Error:
            _readers.connection = None  # reopened by the next read
            raise
        return None if row is None else tuple(row)
    async with (await _pool(alias)).connection() as connection:
        cursor = await connection.execute(sql, params)
        row = await cursor.fetchone()
        return None if row is None else tuple(row)


async def execute(statements: Sequence[tuple[str, Sequence[Any]]], alias: str = ALIAS) -> None:
    """Run write statements in one transaction."""
    if is_sqlite(alias):
        await asyncio.get_running_loop().run_in_executor(None, execute_here, statements, alias)
        return
    async with (await _pool(alias)).connection() as connection, connection.transaction():
        for sql, params in statements:
            await connection.execute(sql, list(params))


def execute_here(statements: Sequence[tuple[str, Sequence[Any]]], alias: str = ALIAS) -> None:
    """`execute`, on this thread's Django connection and in its transaction."""
    try:
        with transaction.atomic(using=alias), connections[alias].cursor() as cursor:
            for sql, params in statements:
                cursor.execute(sql, [adapt(alias, value) for value in params])
    except DatabaseError:
        connections[alias].close()  # a broken connection is not reused
        raise


async def run_sync(function: Callable[..., T], *args: Any) -> T:
    """An occasional ORM call from the proxy (the configuration snapshot, the platform keys),
    on a worker thread; its connection is let go afterwards, as at the end of a request."""
    return await asyncio.get_running_loop().run_in_executor(None, _as_request, function, *args)


def _as_request(function: Callable[..., T], *args: Any) -> T:
    try:
        return function(*args)
    finally:
        close_old_connections()


def _sqlite_reader(alias: str) -> sqlite3.Connection:
    """This thread's read-only connection to the database file (reopened when the file
    changes, as it does when a test database is set up)."""
    name = str(connections[alias].settings_dict["NAME"])
    reader = getattr(_readers, "connection", None)
    if reader is None or getattr(_readers, "name", None) != name:
        reader = sqlite3.connect(
            f"file:{name}?mode=ro", uri=True, isolation_level=None, check_same_thread=False
        )
        _readers.connection, _readers.name = reader, name
    return reader


async def _pool(alias: str) -> AsyncConnectionPool:
    """This event loop's pool (a pool cannot change loops), opened on first use."""
    loop = asyncio.get_running_loop()
    pool = _pools.get(loop)
    if pool is None:
        params = connections[alias].get_connection_params()
        params.pop("cursor_factory", None)  # Django's is synchronous; psycopg picks its own
        pool = _pools[loop] = AsyncConnectionPool(
            kwargs={**params, "autocommit": True},
            min_size=1,
            max_size=settings.DATABASE_POOL_SIZE,
            open=False,
        )
    if pool.closed:
        await pool.open()  # guarded by the pool's own lock: concurrent first uses are safe
    return pool


async def db_close() -> None:
    """Close this event loop's pool (server shutdown: a test database cannot be dropped
    while connections to it are open)."""
    pool = _pools.pop(asyncio.get_running_loop(), None)
    if pool is not None:
        await pool.close()
