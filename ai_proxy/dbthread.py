"""The proxy's one thread for blocking reads: the configuration snapshot (cache), the token
lookup and the platform key (database).

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
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any, TypeVar

from django.db import DatabaseError, InterfaceError, OperationalError, connection

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
