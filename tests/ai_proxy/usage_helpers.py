"""Waiting for the usage records the proxy writes after each answer is out."""

import time

from ai_proxy.models import UsageRecord


def usage_records(expected: int, timeout: float = 5.0) -> list[UsageRecord]:
    """The usage records, once `expected` are written (they are written after the answer)."""
    deadline = time.monotonic() + timeout
    while True:
        records = list(UsageRecord.objects.order_by("id"))
        if len(records) >= expected or time.monotonic() > deadline:
            return records
        time.sleep(0.02)


def no_usage_records_after(seconds: float = 0.3) -> bool:
    time.sleep(seconds)
    return not UsageRecord.objects.exists()
