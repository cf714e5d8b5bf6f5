"""Server-sent events, split incrementally as the bytes of a stream arrive.

Lines end with CR, LF or CRLF, and with nothing else (the SSE specification): a JSON string
may hold U+2028, U+2029, U+0085 or a form feed unescaped, and `str.splitlines()` would cut
the event there. An event ends at a blank line.
"""

import json
import re
from dataclasses import dataclass
from typing import Any

_LINE_END = re.compile(rb"\r\n?|\n")
_TEXT_LINE_END = re.compile(r"\r\n?|\n")
_CR = 0x0D


@dataclass(frozen=True)
class SSEEvent:
    raw: bytes  # exactly as received, separator included, so it can be relayed unchanged
    event: str | None
    data: str

    def json(self) -> Any:
        """The data as JSON, or None when it is not JSON (such as `[DONE]`)."""
        try:
            return json.loads(self.data)
        except (ValueError, RecursionError):
            return None


def parse_event(raw: bytes) -> SSEEvent:
    name: str | None = None
    data: list[str] = []
    text = raw.decode("utf-8", errors="replace")
    lines = _TEXT_LINE_END.split(text) if "\r" in text else text.split("\n")
    for line in lines:
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
    """Feed it chunks; it hands back each event once its closing blank line has arrived.

    Each byte is scanned once, however the stream is chunked: the search for the next line
    end resumes where the last one stopped. A CR at the very end of what has arrived is left
    for the next chunk to settle, since an LF may follow it (one CRLF line end, not two).
    """

    def __init__(self) -> None:
        self._buffer = bytearray()
        self._scan = 0  # where the search for the next line end resumes
        self._line_start = 0  # where the line being scanned starts
        self._lf_only = True  # no CR seen yet: events end at the first empty line, "\n\n"

    def feed(self, chunk: bytes) -> list[SSEEvent]:
        if self._lf_only and b"\r" not in chunk:
            return self._feed_lf(chunk)
        if self._lf_only:
            # The buffer holds the start of one event: its lines are scanned again, once.
            self._lf_only, self._scan, self._line_start = False, 0, 0
        return self._feed_any(chunk)

    def _feed_lf(self, chunk: bytes) -> list[SSEEvent]:
        """`feed` while the stream has only LF line ends (as the providers send them): an
        event ends at its first empty line, found with one byte search per event rather than
        one per line — a streamed answer's per-chunk cost (`bench/proxy_overhead.py`)."""
        buffer = self._buffer
        buffer += chunk
        events: list[SSEEvent] = []
        event_start = 0
        while True:
            if buffer[event_start : event_start + 1] == b"\n":
                end = event_start + 1  # an empty line where an event starts: an event
            elif (found := buffer.find(b"\n\n", max(self._scan, event_start))) >= 0:
                end = found + 2
            else:
                break
            events.append(parse_event(bytes(buffer[event_start:end])))
            event_start = end
        self._scan = max(len(buffer) - 1, event_start)
        if event_start:
            del buffer[:event_start]
            self._scan -= event_start
        return events

    def _feed_any(self, chunk: bytes) -> list[SSEEvent]:
        buffer = self._buffer
        buffer += chunk
        events: list[SSEEvent] = []
        event_start = 0
        while (found := _LINE_END.search(buffer, self._scan)) is not None:
            end = found.end()
            if end == len(buffer) and buffer[end - 1] == _CR:
                self._scan = found.start()
                break
            blank = found.start() == self._line_start
            self._scan = self._line_start = end
            if blank:
                events.append(parse_event(bytes(buffer[event_start:end])))
                event_start = end
        else:
            self._scan = len(buffer)
        if event_start:
            # Once per chunk, and what is left is the start of an event within this chunk.
            del buffer[:event_start]
            self._scan -= event_start
            self._line_start -= event_start
        return events

    def flush(self) -> list[SSEEvent]:
        """What is left when the stream ends: an event without its closing blank line, or
        bytes of no event (kept all the same, for a byte-exact relay)."""
        rest = bytes(self._buffer)
        self._buffer.clear()
        self._scan = self._line_start = 0
        self._lf_only = True
        return [parse_event(rest)] if rest else []
