"""A minimal Claude Code: the official Anthropic SDK configured only by its environment.

Like Claude Code it reads ANTHROPIC_BASE_URL, ANTHROPIC_AUTH_TOKEN (sent as a bearer token)
or ANTHROPIC_API_KEY, else the key the `apiKeyHelper` of $CLAUDE_CONFIG_DIR/settings.json
(default ~/.claude/settings.json) prints, run by a shell; and ANTHROPIC_MODEL. Prints
{"text", "model"} as JSON; never a key.
"""

import argparse
import json
import os
import subprocess
import sys
from pathlib import Path

import anthropic
from anthropic.types import MessageParam


def helper_key() -> str | None:
    """The key from settings.json's apiKeyHelper, when the environment holds none."""
    if os.environ.get("ANTHROPIC_AUTH_TOKEN") or os.environ.get("ANTHROPIC_API_KEY"):
        return None  # everything from the environment
    directory = Path(os.environ.get("CLAUDE_CONFIG_DIR") or Path.home() / ".claude")
    helper = json.loads((directory / "settings.json").read_text())["apiKeyHelper"]
    key = subprocess.run(helper, shell=True, check=True, capture_output=True, text=True)  # noqa: S602 - as Claude Code runs it
    return key.stdout.strip()


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--stream", action="store_true")
    parser.add_argument("--prompt", default="Say pong.")
    args = parser.parse_args()
    client = anthropic.Anthropic(max_retries=0, timeout=30, api_key=helper_key())
    model = os.environ["ANTHROPIC_MODEL"]
    messages: list[MessageParam] = [{"role": "user", "content": args.prompt}]
    try:
        if args.stream:
            with client.messages.stream(model=model, max_tokens=64, messages=messages) as stream:
                text = "".join(stream.text_stream)
                answered_by = stream.get_final_message().model
        else:
            message = client.messages.create(model=model, max_tokens=64, messages=messages)
            text = "".join(block.text for block in message.content if block.type == "text")
            answered_by = message.model
    except anthropic.APIError as error:
        print(f"claude_code: {type(error).__name__}", file=sys.stderr)
        return 1
    print(json.dumps({"text": text, "model": answered_by}))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
