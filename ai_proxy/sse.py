"""Server-sent events, split incrementally as the bytes of a stream arrive."""

import json
from dataclasses import dataclass
from typing import Any

_SEPARATORS = (b"\r\n\r\n", b"\n\n", b"\r\r")


@dataclass(frozen=True)
class SSEEvent:
    raw: bytes  # exactly as received, separator included, so it can be relayed unchanged
    event: str | None
    data: str

    def json(self) -> Any:
        """The data as JSON, or None when it is not JSON (such as `[DONE]`)."""
        try:
            return json.loads(self.data)
        except ValueError:
            return None


def parse_event(raw: bytes) -> SSEEvent:
    name: str | None = None
    data: list[str] = []
    for line in raw.decode("utf-8", errors="replace").splitlines():
        if not line or line.startswith(":"):
            continue
        field, _, value = line.partition(":")
        value = value[1:] if value.startswith(" ") else value
        if field == "event":
            name = value
        elif field == "data":
            data.append(value)
    return SSEEvent(raw=raw, event=name, data="\n".join(data))


def encode(data: Any, event: str | None = None) -> bytes:
    """One event, JSON-encoded unless `data` is already a string."""
    text = data if isinstance(data, str) else json.dumps(data, separators=(",", ":"))
    prefix = f"event: {event}\n" if event else ""
    return f"{prefix}data: {text}\n\n".encode()


class SSESplitter:
    """Feed it chunks; it hands back each event once its closing blank line has arrived."""

    def __init__(self) -> None:
        self._buffer = b""

    def feed(self, chunk: bytes) -> list[SSEEvent]:
        self._buffer += chunk
        events: list[SSEEvent] = []
        while True:
            cut = self._next_boundary()
            if cut is None:
                return events
            raw, self._buffer = self._buffer[:cut], self._buffer[cut:]
            events.append(parse_event(raw))

    def flush(self) -> list[SSEEvent]:
        """What is left when the stream ends (an event without its closing blank line)."""
        rest, self._buffer = self._buffer, b""
        return [parse_event(rest)] if rest.strip() else []

    def _next_boundary(self) -> int | None:
        best: int | None = None
        for separator in _SEPARATORS:
            at = self._buffer.find(separator)
            if at != -1 and (best is None or at + len(separator) < best):
                best = at + len(separator)
        return best
