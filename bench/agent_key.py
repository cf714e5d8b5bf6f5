"""Benchmark: agent-key throughput against GET /health on the same server (SPEC §18).

Starts its own uvicorn server (production flags) on a throw-away SQLite database, creates a
user, a workspace and a key, then drives both endpoints with the same concurrent client and
prints a table. Exits non-zero if agent-key reaches less than 50 % of /health's throughput.

    .venv/bin/python bench/agent_key.py [--seconds 5] [--concurrency 16]
"""

import argparse
import asyncio
import json
import os
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx
import loadgen

ROOT = Path(__file__).resolve().parent.parent
TARGET_RATIO = 0.50


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def server_env(db_path: str) -> dict[str, str]:
    return {
        **os.environ,
        "SAM_ENV_FILE": "",
        "SECRET_KEY": "bench-secret-key-0123456789abcdef0123456789",
        "CREDENTIAL_ENCRYPTION_KEYS": "k1:" + "b" * 64,
        "DATABASE_URL": f"sqlite:///{db_path}",
        "AI_PROXY_PUBLIC_URL": "http://127.0.0.1",
        "LOG_LEVEL": "WARNING",
    }


def manage(env: dict[str, str], *args: str, stdin: str | None = None) -> str:
    return subprocess.run(
        [sys.executable, "manage.py", *args],
        cwd=ROOT,
        env=env,
        input=stdin,
        capture_output=True,
        text=True,
        check=True,
    ).stdout


def measure(url: str, seconds: float, concurrency: int, **request) -> dict:
    result = asyncio.run(loadgen.run(url, seconds=seconds, concurrency=concurrency, **request))
    return {
        "rps": result.rps,
        "p50_ms": result.percentile(0.50),
        "p99_ms": result.percentile(0.99),
        "requests": result.requests,
        "errors": result.errors,
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=5.0)
    parser.add_argument("--concurrency", type=int, default=16)
    args = parser.parse_args()

    with tempfile.TemporaryDirectory() as tmp:
        env = server_env(os.path.join(tmp, "bench.sqlite3"))
        manage(env, "migrate", "--noinput", "-v0")
        created = json.loads(manage(env, "create_workspace", "--user", "bench", "--create-user"))
        manage(
            env,
            "set_credential",
            "--scope=user",
            "--user=bench",
            "--agent=claude-code",
            stdin="sk-ant-api03-bench-key-000000000000\n",
        )
        port = free_port()
        server = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "uvicorn",
                "sam_project.asgi:application",
                "--host",
                "127.0.0.1",
                "--port",
                str(port),
                "--loop",
                "uvloop",
                "--http",
                "httptools",
                "--lifespan",
                "on",
                "--no-access-log",
                "--log-level",
                "warning",
            ],
            cwd=ROOT,
            env=env,
        )
        try:
            base = f"http://127.0.0.1:{port}"
            for _ in range(100):
                try:
                    if httpx.get(f"{base}/health").status_code == 200:
                        break
                except httpx.TransportError:
                    time.sleep(0.1)
            key_url = f"{base}/api/workspaces/{created['workspace_id']}/agent-key"
            key_request = {
                "method": "POST",
                "body": b'{"agentType": "claude-code"}',
                "headers": {
                    "Authorization": f"Bearer {created['callback_token']}",
                    "Content-Type": "application/json",
                },
            }
            # Warm both paths (imports, caches) before measuring.
            measure(f"{base}/health", 1, 4)
            measure(key_url, 1, 4, **key_request)
            health = measure(f"{base}/health", args.seconds, args.concurrency)
            agent_key = measure(key_url, args.seconds, args.concurrency, **key_request)
        finally:
            server.terminate()
            server.wait(timeout=10)

    ratio = agent_key["rps"] / health["rps"]
    print(f"agent-key vs /health, {args.concurrency} concurrent clients, {args.seconds:.0f} s each")
    print(f"{'endpoint':<12}{'req/s':>10}{'p50 ms':>10}{'p99 ms':>10}{'requests':>10}{'errors':>8}")
    for name, row in (("/health", health), ("agent-key", agent_key)):
        print(
            f"{name:<12}{row['rps']:>10.0f}{row['p50_ms']:>10.2f}{row['p99_ms']:>10.2f}"
            f"{row['requests']:>10}{row['errors']:>8}"
        )
    verdict = "meets" if ratio >= TARGET_RATIO else "MISSES"
    print(f"throughput ratio {ratio:.2f} (target >= {TARGET_RATIO:.2f}): {verdict} the target")
    return 0 if ratio >= TARGET_RATIO and not (health["errors"] or agent_key["errors"]) else 1


if __name__ == "__main__":
    sys.exit(main())
