"""How the proxy's hot path reaches the database: a few statements (the token lookup, the
user's day, the usage write), written once from the models' metadata by the modules that
own them, and run on the drivers' asynchronous paths:

- PostgreSQL: psycopg's `AsyncConnectionPool`, one per event loop; no thread at all;
- SQLite (the embedded default): reads on the event loop through a read-only connection of
  the standard library's driver (in WAL mode a reader never waits for the writer, and one
  indexed row costs about 5 µs); writes on a thread of their own (`_sqlite_writes`), since
  they may wait for the write lock, through a connection of the same driver with Django's
  settings for it (busy timeout, `BEGIN IMMEDIATE`, WAL): Django's connection and `atomic`
  around the same two statements cost about 0.2 ms of CPU a request more.

Everything else in the project uses the ORM. Not here, because of the "server CPU per
request" row of `bench/proxy_overhead.py`: an ORM query costs about 0.4 ms of CPU to
compile and decode, and its async form another 0.2 ms for the thread handoff, where the
whole relay of a bare aiohttp proxy costs about 0.3 ms; the proxy makes three of them per
request.
"""

import asyncio
import functools
import sqlite3
import threading
import weakref
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from datetime import date, datetime
from decimal import Decimal
from typing import Any, TypeVar
from uuid import UUID

from django.conf import settings
from django.db import (
    DatabaseError,
    IntegrityError,
    close_old_connections,
    connections,
)
from psycopg_pool import AsyncConnectionPool

T = TypeVar("T")
ALIAS = "default"

_pools: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, AsyncConnectionPool] = (
    weakref.WeakKeyDictionary()
)
_readers = threading.local()
_writers = threading.local()
Statements = Sequence[tuple[str, Sequence[Any]]]


@functools.cache
def is_sqlite(alias: str = ALIAS) -> bool:
    return bool(connections[alias].vendor == "sqlite")


@functools.cache
def _operations(alias: str) -> Any:
    # In async code Django hands each task a connection object of its own; its `ops` are the
    # same for all, so one is kept rather than one built per request.
    return connections[alias].ops


def adapt(alias: str, value: Any) -> Any:
    """A parameter as the driver expects it: psycopg takes Python's types; SQLite takes
    them as Django stores them (dates and times as ISO text, decimals as text, UUIDs as 32
    hex digits)."""
    if not is_sqlite(alias) or isinstance(value, str | int | bytes | None):
        return value
    operations = _operations(alias)
    if isinstance(value, datetime):
        return operations.adapt_datetimefield_value(value)
    if isinstance(value, date):
        return operations.adapt_datefield_value(value)
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, UUID):
        return value.hex
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


async def execute(statements: Statements, alias: str = ALIAS) -> None:
    """Run write statements in one transaction."""
    if is_sqlite(alias):
        loop = asyncio.get_running_loop()
        await loop.run_in_executor(_sqlite_writes(), _sqlite_write, statements, alias)
        return
    async with (await _pool(alias)).connection() as connection, connection.transaction():
        for sql, params in statements:
            await connection.execute(sql, [adapt(alias, value) for value in params])


class GroupCommit:
    """Commits the writes of requests in flight at the same time in one transaction (group
    commit): a burst of answers costs one commit, not one each — on SQLite, where writes are
    serialised anyway, the commit and the thread handoff are most of a usage write's cost.
    Each caller still waits for its own rows to be committed. When a shared transaction
    fails, each caller's writes are tried again on their own, so one bad row (a workspace
    deleted meanwhile) fails its own request only."""

    def __init__(self, alias: str = ALIAS) -> None:
        self.alias = alias
        self._waiting: list[tuple[Statements, asyncio.Future[None]]] = []
        self._drain: asyncio.Task[None] | None = None

    async def commit(self, statements: Statements) -> None:
        done = asyncio.get_running_loop().create_future()
        self._waiting.append((statements, done))
        if self._drain is None or self._drain.done():
            self._drain = asyncio.get_running_loop().create_task(self._commit_waiting())
        await done

    async def _commit_waiting(self) -> None:
        while self._waiting:
            batch, self._waiting = self._waiting, []
            try:
                await execute(
                    [statement for statements, _ in batch for statement in statements], self.alias
                )
            except DatabaseError:
                await self._one_by_one(batch)
            else:
                for _, done in batch:
                    done.set_result(None)

    async def _one_by_one(self, batch: list[tuple[Statements, "asyncio.Future[None]"]]) -> None:
        for statements, done in batch:
            try:
                await execute(statements, self.alias)
            except DatabaseError as failure:
                done.set_exception(failure)
            else:
                done.set_result(None)


_group_commits: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, GroupCommit] = (
    weakref.WeakKeyDictionary()
)


async def commit(statements: Statements) -> None:
    """Write `statements` in a transaction shared with the writes of requests in flight."""
    loop = asyncio.get_running_loop()
    group = _group_commits.get(loop)
    if group is None:
        group = _group_commits[loop] = GroupCommit()
    await group.commit(statements)


async def run_sync(function: Callable[..., T], *args: Any) -> T:
    """An occasional ORM call from the proxy (the configuration snapshot, the platform keys),
    on a worker thread; its connection is let go afterwards, as at the end of a request."""
    return await asyncio.get_running_loop().run_in_executor(None, _as_request, function, *args)


def _as_request(function: Callable[..., T], *args: Any) -> T:
    try:
        return function(*args)
    finally:
        close_old_connections()


@functools.cache
def _sqlite_writes() -> ThreadPoolExecutor:
    """The one thread SQLite writes run on: SQLite takes one writer at a time anyway, and one
    thread keeps one writing connection (and its page cache) per process, where asyncio's
    default executor would open one on each of its threads as load spreads over them — the
    memory of the "open streams" row of `bench/proxy_overhead.py` grew 20 % from its first
    round to its third that way."""
    return ThreadPoolExecutor(max_workers=1, thread_name_prefix="sqlite-writes")


def _sqlite_write(statements: Statements, alias: str) -> None:
    """`execute` on SQLite, on this (executor) thread's writing connection; a failure is
    raised as Django's exception of the same kind, as the ORM would."""
    writer = _sqlite_writer(alias)
    try:
        writer.execute("BEGIN IMMEDIATE")
        try:
            for sql, params in statements:
                writer.execute(sql.replace("%s", "?"), [adapt(alias, value) for value in params])
        except BaseException:
            writer.execute("ROLLBACK")
            raise
        writer.execute("COMMIT")
    except sqlite3.IntegrityError as failure:
        raise IntegrityError(*failure.args) from failure
    except sqlite3.Error as failure:
        _writers.connection = None  # reopened by the next write
        raise DatabaseError(*failure.args) from failure


def _sqlite_writer(alias: str) -> sqlite3.Connection:
    """This thread's writing connection, opened with the settings Django's would have."""
    name = str(settings.DATABASES[alias]["NAME"])
    writer = getattr(_writers, "connection", None)
    if writer is None or getattr(_writers, "name", None) != name:
        options = settings.DATABASES[alias].get("OPTIONS", {})
        writer = sqlite3.connect(
            name, timeout=options.get("timeout", 5), isolation_level=None, check_same_thread=False
        )
        writer.execute("PRAGMA synchronous=NORMAL")
        _writers.connection, _writers.name = writer, name
    return writer


def _sqlite_reader(alias: str) -> sqlite3.Connection:
    """This thread's read-only connection to the database file (reopened when the file
    changes, as it does when a test database is set up)."""
    name = str(settings.DATABASES[alias]["NAME"])  # the test database's, once it is set up
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
            timeout=settings.DATABASE_POOL_TIMEOUT,
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
