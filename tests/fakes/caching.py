"""Anthropic prompt caching, as the API reports it, with deterministic token counts.

The prompt is read in the API's order — tools, system, then each message's content blocks —
and each block costs ceil(bytes / 4) tokens of its JSON without `cache_control`. A block
with `cache_control` is a breakpoint (a top-level `cache_control` puts one on the last
block); `ttl` "1h" or the default "5m". Per model, the cache remembers each prefix that
ended at a breakpoint:

- the longest remembered prefix that ends at a breakpoint or up to 20 blocks before one
  (the API's lookback: a conversation moves its last breakpoint forward each turn) is a
  cache **read** (`cache_read_input_tokens`);
- what lies after it, up to the last breakpoint, is a cache **write**
  (`cache_creation_input_tokens`), each segment counted under the ttl of the breakpoint
  that ends it (`cache_creation.ephemeral_5m_input_tokens` / `ephemeral_1h_input_tokens`),
  and is remembered from then on;
- the rest is uncached `input_tokens` (at least 1).

As with the real API, a prefix shorter than `min_tokens` (1024, Sonnet's minimum) is never
cached, and a request without any breakpoint reports no cache use at all.
"""

import hashlib
import json
import threading
from dataclasses import dataclass
from typing import Any

MIN_CACHEABLE_TOKENS = 1024
LOOKBACK = 20  # blocks before a breakpoint where the API looks for an earlier cached prefix


@dataclass(frozen=True)
class CacheUsage:
    input_tokens: int
    cache_read: int = 0
    cache_write_5m: int = 0
    cache_write_1h: int = 0

    @property
    def cache_write(self) -> int:
        return self.cache_write_5m + self.cache_write_1h


def block_tokens(block: Any) -> int:
    if isinstance(block, dict):
        block = {k: v for k, v in block.items() if k != "cache_control"}
    size = len(json.dumps(block, sort_keys=True, separators=(",", ":")).encode())
    return max(1, -(-size // 4))


def prompt_blocks(request: dict[str, Any]) -> list[Any]:
    """The prompt's blocks in the order the API caches them: tools, system, messages."""
    blocks: list[Any] = list(request.get("tools") or [])
    system = request.get("system")
    if isinstance(system, str):
        blocks.append({"type": "text", "text": system})
    elif isinstance(system, list):
        blocks.extend(system)
    for message in request.get("messages") or []:
        if not isinstance(message, dict):
            continue
        content = message.get("content")
        parts = [{"type": "text", "text": content}] if isinstance(content, str) else content
        for part in parts if isinstance(parts, list) else []:
            blocks.append({"role": message.get("role"), **part} if isinstance(part, dict) else part)
    return blocks


def _ttl(marker: Any) -> str:
    return "1h" if isinstance(marker, dict) and marker.get("ttl") == "1h" else "5m"


def breakpoints(request: dict[str, Any], blocks: list[Any]) -> list[tuple[int, str]]:
    """(index of the block, ttl) of each breakpoint, in prompt order."""
    marks = [
        (index, _ttl(block["cache_control"]))
        for index, block in enumerate(blocks)
        if isinstance(block, dict) and block.get("cache_control")
    ]
    automatic = request.get("cache_control")
    if automatic and blocks and all(index != len(blocks) - 1 for index, _ in marks):
        marks.append((len(blocks) - 1, _ttl(automatic)))
    return marks


def has_breakpoints(request: dict[str, Any]) -> bool:
    return bool(breakpoints(request, prompt_blocks(request)))


class PromptCache:
    def __init__(self, min_tokens: int = MIN_CACHEABLE_TOKENS):
        self.min_tokens = min_tokens
        self._prefixes: set[str] = set()
        self._lock = threading.Lock()

    def clear(self) -> None:
        with self._lock:
            self._prefixes.clear()

    def use(self, request: dict[str, Any]) -> CacheUsage:
        """The usage of `request`, remembering the prefixes it writes."""
        blocks = prompt_blocks(request)
        digest = hashlib.sha256(str(request.get("model")).encode())
        digests: list[str] = []  # of the prefix ending at each block
        so_far: list[int] = []  # tokens up to and including each block
        for block in blocks:
            digest.update(json.dumps(_bare(block), sort_keys=True).encode())
            digests.append(digest.hexdigest())
            so_far.append((so_far[-1] if so_far else 0) + block_tokens(block))
        marks = [
            (i, ttl) for i, ttl in breakpoints(request, blocks) if so_far[i] >= self.min_tokens
        ]
        with self._lock:
            hit = max((self._hit(digests, index) for index, _ttl in marks), default=-1)
            self._prefixes.update(digests[index] for index, _ttl in marks)
        read = so_far[hit] if hit >= 0 else 0
        written = {"5m": 0, "1h": 0}
        previous = read
        for index, ttl in marks:
            if index > hit:
                written[ttl] += so_far[index] - previous
                previous = so_far[index]
        return CacheUsage(
            input_tokens=max(1, (so_far[-1] if so_far else 0) - previous),
            cache_read=read,
            cache_write_5m=written["5m"],
            cache_write_1h=written["1h"],
        )

    def _hit(self, digests: list[str], breakpoint: int) -> int:
        """The longest remembered prefix ending within LOOKBACK blocks of a breakpoint."""
        for index in range(breakpoint, max(breakpoint - LOOKBACK, -1), -1):
            if digests[index] in self._prefixes:
                return index
        return -1


def _bare(block: Any) -> Any:
    if isinstance(block, dict):
        return {k: v for k, v in block.items() if k != "cache_control"}
    return block
