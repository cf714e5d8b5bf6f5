"""One JSON object per log line, carrying the request id of the request being served.

Call sites log an event name as the message and the facts as `extra`:
`logger.info("agent_key.resolved", extra={"agent": ..., "source": ...})`. Secrets and tokens
are never passed in; the formatter does not try to guess which values are secret.
"""

import logging
from contextvars import ContextVar
from datetime import UTC, datetime

import orjson

request_id_var: ContextVar[str | None] = ContextVar("request_id", default=None)

# Attributes every LogRecord has; anything else on a record came in through `extra`.
# Django's request logger also passes the request object, whose repr carries the query string.
_STANDARD_ATTRS = frozenset(vars(logging.LogRecord("", 0, "", 0, "", (), None))) | {
    "message",
    "asctime",
    "taskName",
    "request",
}


class JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, object] = {
            "ts": datetime.fromtimestamp(record.created, tz=UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname.lower(),
            "logger": record.name,
            "event": record.getMessage(),
        }
        request_id = request_id_var.get()
        if request_id:
            entry["request_id"] = request_id
        for key, value in vars(record).items():
            if key not in _STANDARD_ATTRS and not key.startswith("_"):
                entry[key] = value
        if record.exc_info:
            # The exception type and where it was raised; never the message, which may quote input.
            exc_type = record.exc_info[0]
            entry["exc_type"] = exc_type.__name__ if exc_type else None
            entry["traceback"] = self.formatException(record.exc_info)
        # orjson: the proxy writes one of these lines per request (SPEC 25's CPU row).
        return orjson.dumps(entry, default=str, option=orjson.OPT_NON_STR_KEYS).decode()
