"""A minimal Codex: reads its provider from config.toml as Codex does, then calls the Responses API.

Codex ignores OPENAI_BASE_URL: it takes `model_provider` and `model` from
$CODEX_HOME/config.toml (else ~/.codex/config.toml), the provider's `base_url`, and the key
from the variable named by the provider's `env_key`, or from what the provider's `auth`
command prints; `wire_api = "responses"` means the Responses API. Prints {"text", "model"} as JSON; never a key.
"""

import argparse
import json
import os
import subprocess
import sys
import tomllib
from pathlib import Path

import openai


def provider_key(provider: dict) -> str:
    auth = provider.get("auth")
    if auth is None:
        return os.environ[provider["env_key"]]
    argv = [auth["command"], *auth.get("args", [])]
    return subprocess.run(argv, check=True, capture_output=True, text=True).stdout.strip()


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--stream", action="store_true")
    parser.add_argument("--prompt", default="Say pong.")
    args = parser.parse_args()
    home = Path(os.environ.get("CODEX_HOME") or Path.home() / ".codex")
    config = tomllib.loads((home / "config.toml").read_text())
    provider = config["model_providers"][config["model_provider"]]
    if provider.get("wire_api") != "responses":
        print("codex: the provider does not speak the Responses API", file=sys.stderr)
        return 2
    client = openai.OpenAI(
        base_url=provider["base_url"],
        api_key=provider_key(provider),
        max_retries=0,
        timeout=30,
    )
    try:
        if args.stream:
            text, answered_by = "", config["model"]
            for event in client.responses.create(
                model=config["model"], input=args.prompt, stream=True
            ):
                if event.type == "response.output_text.delta":
                    text += event.delta
                elif event.type == "response.completed":
                    answered_by = event.response.model
        else:
            response = client.responses.create(model=config["model"], input=args.prompt)
            text, answered_by = response.output_text, response.model
    except openai.APIError as error:
        print(f"codex: {type(error).__name__}", file=sys.stderr)
        return 1
    print(json.dumps({"text": text, "model": answered_by}))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
