"""A stand-in agent that does what Claude Code and Codex do with their token hooks: reads
the hook from its configuration file (Claude Code: `apiKeyHelper` in settings.json, run by
a shell; Codex: `[model_providers.sam-proxy.auth]` in config.toml) and runs it twice.

Prints one JSON document: the configuration file as it found it, each token the hook
printed (the test checks they are proxy tokens of the workspace), the hook's exit codes,
and the environment's credential variables.
"""

import json
import os
import subprocess
import sys
import tomllib
from pathlib import Path

PREFIXES = ("ANTHROPIC_", "CLAUDE_", "OPENAI_", "SAM_")


def claude_hook() -> tuple[str, list[str] | str]:
    path = Path(os.environ["CLAUDE_CONFIG_DIR"]) / "settings.json"
    text = path.read_text()
    return text, json.loads(text)["apiKeyHelper"]


def codex_hook() -> tuple[str, list[str] | str]:
    path = Path(os.environ["CODEX_HOME"]) / "config.toml"
    text = path.read_text()
    auth = tomllib.loads(text)["model_providers"]["sam-proxy"]["auth"]
    return text, [auth["command"], *auth["args"]]


def main() -> int:
    text, hook = claude_hook() if sys.argv[1] == "claude" else codex_hook()
    runs = [
        subprocess.run(hook, shell=isinstance(hook, str), capture_output=True, text=True)
        for _ in range(2)
    ]
    report = {
        "config": text,
        "stdout": [run.stdout for run in runs],
        "stderr": [run.stderr for run in runs],
        "returncodes": [run.returncode for run in runs],
        "env": {k: v for k, v in os.environ.items() if k.startswith(PREFIXES)},
    }
    print(json.dumps(report))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
