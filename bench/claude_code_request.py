"""A request shaped like the ones Claude Code 2.1.x sends to `POST /v1/messages?beta=true`.

What matters for the benchmarks is the size and the structure, not the words: a system
prompt given as a list of text blocks (two marked `cache_control: ephemeral`), twelve tool
definitions with long descriptions and JSON-schema `input_schema`s, a short conversation
with a tool call and its result, `max_tokens: 32000`, `metadata.user_id`, and the headers
the CLI sends. The text is generated from a fixed seed, so every run sends the same bytes;
the default size is about 88 KB, like a real first request of a session.
"""

import json
import random
from typing import Any

PATH = "/v1/messages?beta=true"
MODEL = "claude-sonnet-4-6"
DEFAULT_SIZE = 88_000

_VOCABULARY = (
    "the file tool call user command output path directory search pattern result when "
    "before after always never only must should may use run read write edit create update "
    "repository branch commit test code function module class value string number list "
    "task agent context session prompt answer error message line lines content change "
    "changes project workspace shell timeout background process parallel instead exact "
    "absolute relative existing new old replace match matches glob regex filter include "
    "exclude limit offset format json markdown plan step steps todo status pending done "
    "important note example examples avoid prefer ensure verify check lint build install "
    "dependency package version configuration settings environment variable secret key "
    "request response server client stream token tokens model review summary detail"
)
_WORDS = _VOCABULARY.split()

# (name, share of the tool text, parameters: name → (JSON type, required))
_TOOLS: tuple[tuple[str, float, dict[str, tuple[str, bool]]], ...] = (
    (
        "Task",
        0.12,
        {
            "description": ("string", True),
            "prompt": ("string", True),
            "subagent_type": ("string", True),
        },
    ),
    (
        "Bash",
        0.22,
        {
            "command": ("string", True),
            "timeout": ("number", False),
            "description": ("string", False),
            "run_in_background": ("boolean", False),
        },
    ),
    ("Glob", 0.02, {"pattern": ("string", True), "path": ("string", False)}),
    (
        "Grep",
        0.06,
        {
            "pattern": ("string", True),
            "path": ("string", False),
            "glob": ("string", False),
            "output_mode": ("string", False),
            "-i": ("boolean", False),
            "-n": ("boolean", False),
            "head_limit": ("number", False),
            "multiline": ("boolean", False),
        },
    ),
    ("ExitPlanMode", 0.03, {"plan": ("string", True)}),
    (
        "Read",
        0.05,
        {"file_path": ("string", True), "offset": ("number", False), "limit": ("number", False)},
    ),
    (
        "Edit",
        0.04,
        {
            "file_path": ("string", True),
            "old_string": ("string", True),
            "new_string": ("string", True),
            "replace_all": ("boolean", False),
        },
    ),
    ("Write", 0.03, {"file_path": ("string", True), "content": ("string", True)}),
    (
        "NotebookEdit",
        0.03,
        {
            "notebook_path": ("string", True),
            "cell_id": ("string", False),
            "new_source": ("string", True),
            "cell_type": ("string", False),
            "edit_mode": ("string", False),
        },
    ),
    ("WebFetch", 0.04, {"url": ("string", True), "prompt": ("string", True)}),
    ("TodoWrite", 0.18, {"todos": ("array", True)}),
    (
        "WebSearch",
        0.03,
        {
            "query": ("string", True),
            "allowed_domains": ("array", False),
            "blocked_domains": ("array", False),
        },
    ),
)

# Of the generated text: the system prompt, the tool descriptions, the conversation.
_SYSTEM_SHARE, _TOOLS_SHARE = 0.30, 0.45


def headers() -> dict[str, str]:
    """The headers the CLI sends, less its credential and the framing."""
    return {
        "accept": "application/json",
        "accept-encoding": "gzip, deflate",
        "anthropic-beta": (
            "claude-code-20250219,interleaved-thinking-2025-05-14,"
            "context-management-2025-06-27,fine-grained-tool-streaming-2025-05-14"
        ),
        "anthropic-dangerous-direct-browser-access": "true",
        "anthropic-version": "2023-06-01",
        "content-type": "application/json",
        "user-agent": "claude-cli/2.1.19 (external, cli)",
        "x-app": "cli",
        "x-stainless-arch": "x64",
        "x-stainless-lang": "js",
        "x-stainless-os": "Linux",
        "x-stainless-package-version": "0.70.0",
        "x-stainless-retry-count": "0",
        "x-stainless-runtime": "node",
        "x-stainless-runtime-version": "v22.19.0",
        "x-stainless-timeout": "600",
    }


def body(*, stream: bool, size: int = DEFAULT_SIZE) -> bytes:
    """The JSON body, within a few hundred bytes of `size`."""
    text = size  # generated characters; JSON escapes make the body a little larger
    for _ in range(3):
        encoded = json.dumps(_document(text, stream=stream)).encode()
        text = max(0, text + size - len(encoded))
    return encoded


def _document(text: int, *, stream: bool) -> dict[str, Any]:
    rng = random.Random(2025)
    document: dict[str, Any] = {
        "model": MODEL,
        "messages": _messages(rng, int(text * (1 - _SYSTEM_SHARE - _TOOLS_SHARE))),
        "system": [
            {
                "type": "text",
                "text": "x-anthropic-billing-header: cc_version=2.1.19; cc_entrypoint=cli",
            },
            {
                "type": "text",
                "text": "You are Claude Code, Anthropic's official CLI for Claude.",
                "cache_control": {"type": "ephemeral"},
            },
            {
                "type": "text",
                "text": _prose(rng, int(text * _SYSTEM_SHARE)),
                "cache_control": {"type": "ephemeral"},
            },
        ],
        "tools": [
            _tool(rng, name, int(text * _TOOLS_SHARE * share), parameters)
            for name, share, parameters in _TOOLS
        ],
        "metadata": {"user_id": _user_id(rng)},
        "max_tokens": 32000,
    }
    if stream:
        document["stream"] = True
    return document


def _messages(rng: random.Random, text: int) -> list[dict[str, Any]]:
    tool_id = "toolu_01" + "".join(
        rng.choices("ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz", k=22)
    )
    return [
        {
            "role": "user",
            "content": [
                {
                    "type": "text",
                    "text": "<system-reminder>\n" + _prose(rng, text // 2) + "\n</system-reminder>",
                },
                {"type": "text", "text": "Find where the request body is parsed and explain it."},
            ],
        },
        {
            "role": "assistant",
            "content": [
                {"type": "text", "text": "I'll look for the parser first."},
                {
                    "type": "tool_use",
                    "id": tool_id,
                    "name": "Grep",
                    "input": {"pattern": "def parse_body", "output_mode": "content", "-n": True},
                },
            ],
        },
        {
            "role": "user",
            "content": [
                {"type": "tool_result", "tool_use_id": tool_id, "content": _code(rng, text // 2)},
                {
                    "type": "text",
                    "text": "Now summarise it in two sentences, please.",
                    "cache_control": {"type": "ephemeral"},
                },
            ],
        },
    ]


def _tool(
    rng: random.Random, name: str, text: int, parameters: dict[str, tuple[str, bool]]
) -> dict[str, Any]:
    properties: dict[str, Any] = {}
    for parameter, (kind, _required) in parameters.items():
        schema: dict[str, Any] = {"type": kind, "description": _sentence(rng, 14)}
        if kind == "array":
            schema["items"] = {
                "type": "object",
                "properties": {
                    "content": {"type": "string", "minLength": 1},
                    "status": {"type": "string", "enum": ["pending", "in_progress", "completed"]},
                    "activeForm": {"type": "string", "minLength": 1},
                },
                "required": ["content", "status", "activeForm"],
                "additionalProperties": False,
            }
        properties[parameter] = schema
    return {
        "name": name,
        "description": _prose(rng, text),
        "input_schema": {
            "type": "object",
            "properties": properties,
            "required": [p for p, (_kind, required) in parameters.items() if required],
            "additionalProperties": False,
            "$schema": "http://json-schema.org/draft-07/schema#",
        },
    }


def _sentence(rng: random.Random, words: int) -> str:
    chosen = rng.choices(_WORDS, k=words)
    return " ".join(chosen).capitalize() + "."


def _prose(rng: random.Random, chars: int) -> str:
    """Markdown-ish instructions: paragraphs, bullet lists, quoted commands."""
    parts: list[str] = []
    length = 0
    while length < chars:
        roll = rng.random()
        if roll < 0.5:
            part = " ".join(_sentence(rng, rng.randint(8, 24)) for _ in range(rng.randint(2, 5)))
        elif roll < 0.85:
            part = "\n".join(f"- {_sentence(rng, rng.randint(6, 16))}" for _ in range(4))
        else:
            part = f'<example>\nuser: "{_sentence(rng, 8)}"\nassistant: `{rng.choice(_WORDS)} --{rng.choice(_WORDS)}`\n</example>'
        parts.append(part)
        length += len(part) + 2
    return "\n\n".join(parts)[:chars]


def _code(rng: random.Random, chars: int) -> str:
    """A file as the Read tool returns it: numbered lines of source."""
    lines: list[str] = []
    length = 0
    while length < chars:
        words = rng.choices(_WORDS, k=rng.randint(2, 6))
        indent = "    " * rng.randint(0, 3)
        line = f'{len(lines) + 1:>6}\t{indent}{"_".join(words)} = "{" ".join(words)}"'
        lines.append(line)
        length += len(line) + 1
    return "\n".join(lines)[:chars]


def _user_id(rng: random.Random) -> str:
    def hexes(count: int) -> str:
        return "".join(rng.choices("0123456789abcdef", k=count))

    session = f"{hexes(8)}-{hexes(4)}-4{hexes(3)}-a{hexes(3)}-{hexes(12)}"
    return f"user_{hexes(64)}_account__session_{session}"
