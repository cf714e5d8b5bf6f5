"""A stand-in agent that reports what it was started with, without printing any value.

Prints one JSON document: for each credential-related variable its length and SHA-256, the
env file (if any) with its mode and the SHA-256 of each variable it defines, and the command
line of the process that started it. Exits with --exit N.
"""

import argparse
import hashlib
import json
import os
import shlex
import stat

PREFIXES = ("ANTHROPIC_", "CLAUDE_", "OPENAI_", "OPENCODE_", "GEMINI_", "MISTRAL_", "SAM_")


def fingerprint(value: str) -> dict[str, object]:
    return {"length": len(value), "sha256": hashlib.sha256(value.encode()).hexdigest()}


def env_file_report(path: str) -> dict[str, object]:
    report: dict[str, object] = {"path": path, "exists": os.path.exists(path)}
    if not report["exists"]:
        return report
    report["mode"] = oct(stat.S_IMODE(os.stat(path).st_mode))
    names = {}
    with open(path, encoding="utf-8") as handle:
        for line in handle:
            words = shlex.split(line)
            if len(words) == 2 and words[0] == "export":
                name, _, value = words[1].partition("=")
                names[name] = fingerprint(value)
    report["variables"] = names
    return report


def parent_cmdline() -> list[str]:
    with open(f"/proc/{os.getppid()}/cmdline", "rb") as handle:
        return [arg.decode(errors="replace") for arg in handle.read().split(b"\0") if arg]


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--exit", type=int, default=0)
    args = parser.parse_args()
    env_file = os.environ.get("SAM_AGENT_ENV_FILE")
    report = {
        "env": {k: fingerprint(v) for k, v in os.environ.items() if k.startswith(PREFIXES)},
        "env_file": env_file_report(env_file) if env_file else None,
        "parent_cmdline": parent_cmdline(),
    }
    print(json.dumps(report))
    return args.exit


if __name__ == "__main__":
    raise SystemExit(main())
