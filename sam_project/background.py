"""Work each server process does on a schedule, beside serving: started and stopped by the
ASGI lifespan (`sam_project.asgi`).

- Every hour, dead workspace tokens are purged (`workspaces.tokens.tokens_purge`). Each
  process does it; the delete is idempotent, so several processes only repeat each other.
  The first run waits a while so that starting many workers at once does not start as many
  deletes at once.
- With AI_PROXY_ALERT_WEBHOOK_URL set, every few seconds, budget alerts are recorded and
  delivered (`ai_proxy.alerts`); the database makes sure each goes out once.
"""

import asyncio
import logging
import random

from asgiref.sync import sync_to_async
from django.conf import settings
from django.db import DatabaseError, connections

from ai_proxy.alerts import budget_alerts_job
from workspaces.tokens import tokens_purge

logger = logging.getLogger(__name__)

PURGE_INTERVAL_SECONDS = 3600.0
# The first purge comes at a random moment within this many seconds of the start.
PURGE_FIRST_WITHIN_SECONDS = 300.0


def _purge_once() -> None:
    try:
        purged = tokens_purge()
    except DatabaseError:
        logger.exception("tokens.purge_failed")
        return
    finally:
        connections.close_all()  # this thread's connections; the next run may get another
    logger.info("tokens.purged", extra={"count": purged})


async def tokens_purge_hourly() -> None:
    await asyncio.sleep(random.uniform(0, PURGE_FIRST_WITHIN_SECONDS))  # noqa: S311 - jitter
    while True:
        await sync_to_async(_purge_once, thread_sensitive=False)()
        await asyncio.sleep(PURGE_INTERVAL_SECONDS)


def background_jobs_start() -> list[asyncio.Task[None]]:
    jobs = [asyncio.create_task(tokens_purge_hourly(), name="tokens_purge_hourly")]
    if settings.AI_PROXY_ALERT_WEBHOOK_URL:
        jobs.append(asyncio.create_task(budget_alerts_job(), name="budget_alerts"))
    return jobs


async def background_jobs_stop(jobs: list[asyncio.Task[None]]) -> None:
    for job in jobs:
        job.cancel()
    await asyncio.gather(*jobs, return_exceptions=True)
