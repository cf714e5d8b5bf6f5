"""The proxy's reads: one thread for blocking reads (the configuration snapshot, the platform
key, usage writes), and `read_row` for its one-row lookups (token, today's usage).

Django's `sync_to_async` would, under ASGI, run each request's reads in a thread created for
that request, with a database connection opened and closed for it: more work than the one
indexed query the proxy needs. This thread instead keeps one database connection and one
cache client for the life of the worker, and every proxy read queues on it.

Functions run here in the thread's own context, not the request's: they must not log (the
request id would be missing) and must not rely on request-scoped state.
"""

import asyncio
import functools
import logging
import sqlite3
import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from datetime import date
from typing import Any, TypeVar

from django.conf import settings
from django.db import DatabaseError, InterfaceError, OperationalError, connection, connections

logger = logging.getLogger(__name__)

T = TypeVar("T")

_thread = ThreadPoolExecutor(max_workers=1, thread_name_prefix="ai-proxy-db")


async def db_read(function: Callable[..., T], *args: Any) -> T:
    """Run a read-only function on the proxy's database thread."""
    loop = asyncio.get_running_loop()
    retried, result = await loop.run_in_executor(_thread, functools.partial(_run, function, *args))
    if retried:
        logger.warning("ai_proxy.db_reconnected")
    return result


async def db_write(function: Callable[..., T], **kwargs: Any) -> T:
    """Run a write on the proxy's database thread. Not retried: a write that failed on a
    dying connection may or may not have been committed."""
    loop = asyncio.get_running_loop()
    return await loop.run_in_executor(_thread, functools.partial(_write, function, **kwargs))


def _write(function: Callable[..., T], **kwargs: Any) -> T:
    try:
        return function(**kwargs)
    except DatabaseError:
        connection.close()
        raise


def _run(function: Callable[..., T], *args: Any) -> tuple[bool, T]:
    try:
        return False, function(*args)
    except (OperationalError, InterfaceError):
        # The kept connection may have died (database restart, idle timeout). A read is
        # safe to repeat, on a new connection.
        connection.close()
    try:
        return True, function(*args)
    except DatabaseError:
        connection.close()
        raise


def db_thread_close() -> None:
    """Close the thread's database connection (before a test database is dropped)."""
    # `connection` resolves to the calling thread's connection: look it up on the thread.
    _thread.submit(lambda: connection.close()).result()


def _fetch_row(alias: str, sql: str, params: list[Any]) -> Any:
    with connections[alias].cursor() as cursor:
        cursor.execute(sql, params)
        return cursor.fetchone()


async def read_row(alias: str, sql: str, params: list[Any]) -> Any:
    """One row of a prepared, read-only query (`%s` placeholders).

    On SQLite, the embedded default, it runs on the event loop through a read-only
    connection of the standard library's driver: a local read of one indexed row costs less
    than any thread handoff. Elsewhere it runs on the proxy's database thread.
    """
    if settings.DATABASES[alias]["ENGINE"] != "django.db.backends.sqlite3":
        return await db_read(_fetch_row, alias, sql, params)
    # Stored as Django stores them: dates as ISO text.
    params = [p.isoformat() if isinstance(p, date) else p for p in params]
    try:
        return _sqlite_reader(alias).execute(sql.replace("%s", "?"), params).fetchone()
    except sqlite3.Error:
        _sqlite_readers.connection = None  # reopened by the next request
        raise


_sqlite_readers = threading.local()


def _sqlite_reader(alias: str) -> sqlite3.Connection:
    """This thread's read-only connection to the database file (reopened when it changes,
    as it does when a test database is set up)."""
    name = str(settings.DATABASES[alias]["NAME"])
    reader = getattr(_sqlite_readers, "connection", None)
    if reader is None or _sqlite_readers.name != name:
        reader = sqlite3.connect(name, isolation_level=None, check_same_thread=False)
        reader.execute("PRAGMA query_only = ON")
        _sqlite_readers.connection, _sqlite_readers.name = reader, name
    return reader
