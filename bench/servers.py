"""The processes a benchmark measures, and what the kernel says each one has used.

The fake provider (`python -m tests.fakes.upstream`), the project's server (uvicorn with
the flags `make run` uses, on a throw-away SQLite database with one workspace and a
platform key, set up through `manage.py` as an operator would), the same server with the
floor's one relaying view under /ai/ (`bench/floor_app.py`) and the bare aiohttp relay
(`bench/bare_relay.py`) each run in a process of their own, their log written to a file
of the run's temporary directory (its tail is shown if one fails to start).

CPU time is the process's own accounting: user + system time of all its threads (and of
its child processes, should the server command fork workers), read from the kernel's
per-process CPU clock (nanoseconds; `/proc/<pid>/stat`, in clock ticks, where that clock
cannot be read).
"""

import json
import os
import socket
import subprocess
import sys
import time
from contextlib import ExitStack
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PLATFORM_KEY = "sk-ant-api03-bench-platform-key-000000000000000000"
# The failover phase's second platform key, which its fake answers 529 at once.
OVERLOADED_KEY = "sk-ant-api03-bench-overloaded-key-0000000000000000"
UVICORN_FLAGS = ["--loop", "uvloop", "--http", "httptools", "--lifespan", "on"]
UVICORN_FLAGS += ["--no-access-log"]


@dataclass
class Server:
    url: str
    pid: int

    def cpu_seconds(self) -> float:
        return sum(_cpu_seconds(pid) for pid in _tree(self.pid))

    def rss_mib(self) -> float:
        return sum(_rss_mib(pid) for pid in _tree(self.pid))


@dataclass
class Database:
    """The throw-away database, and the environment every server process is started with."""

    env: dict[str, str]
    workspace_token: str


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def start(
    stack: ExitStack, name: str, command: list[str], logs: Path, env: dict[str, str] | None = None
) -> subprocess.Popen[str]:
    """Start `command`, stopped when `stack` closes; its stderr goes to `logs/<name>.log`."""
    log = stack.enter_context((logs / f"{name}.log").open("w"))
    child = subprocess.Popen(
        command, cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=log, text=True
    )

    def stop() -> None:
        child.terminate()
        try:
            child.wait(timeout=10)
        except subprocess.TimeoutExpired:
            child.kill()
            child.wait()

    stack.callback(stop)
    return child


def first_line(child: subprocess.Popen[str], name: str, logs: Path) -> str:
    """The URL a fake or relay prints when it is ready."""
    assert child.stdout is not None
    line = child.stdout.readline().strip()
    if not line:
        raise RuntimeError(f"{name} did not start:\n{tail(logs / f'{name}.log')}")
    return line


def start_fake(
    stack: ExitStack,
    logs: Path,
    name: str,
    *,
    delay: float,
    chunks: int,
    chunk_delay: float,
    stamp: bool,
    overloaded_key: str | None = None,
) -> str:
    command = [sys.executable, "-m", "tests.fakes.upstream", "--delay", str(delay)]
    command += ["--chunks", str(chunks), "--chunk-delay", str(chunk_delay)]
    command += ["--stamp"] if stamp else []
    command += ["--overloaded-key", overloaded_key] if overloaded_key else []
    return first_line(start(stack, name, command, logs), name, logs)


def start_relay(stack: ExitStack, logs: Path, upstream: str) -> Server:
    command = [sys.executable, "bench/bare_relay.py", "--upstream", upstream]
    command += ["--api-key", PLATFORM_KEY]
    child = start(stack, "relay", command, logs)
    return Server(first_line(child, "relay", logs), child.pid)


def database(
    tmp: Path, name: str = "bench", more_keys: tuple[tuple[str, str, int], ...] = ()
) -> Database:
    """Migrate a new SQLite database, create a workspace and store the platform key (and
    `more_keys`: label, key, weight)."""
    env = {
        **os.environ,
        "SAM_ENV_FILE": "",
        "SECRET_KEY": "bench-secret-key-0123456789abcdef0123456789",
        "CREDENTIAL_ENCRYPTION_KEYS": "k1:" + "b" * 64,
        "DATABASE_URL": f"sqlite:///{tmp / f'{name}.sqlite3'}",
        "AI_PROXY_PUBLIC_URL": "http://127.0.0.1",
        # The workspace's callback token is the proxy token the benchmark sends.
        "AI_PROXY_TOKEN_MODE": "callback",
        # The benchmark measures the proxy's work, limits included, not their refusals.
        "AI_PROXY_RATE_LIMIT_RPM": "100000000",
        "AI_PROXY_DAILY_INPUT_TOKENS": "1000000000000",
        "AI_PROXY_DAILY_OUTPUT_TOKENS": "1000000000000",
        "AI_PROXY_DAILY_COST_CAP_USD": "1000000000",
        "AI_PROXY_MAX_PARALLEL_REQUESTS": "100000",
        # The production default: one JSON line per request, written (to the log file).
        "LOG_LEVEL": "INFO",
    }
    _manage(env, "migrate", "--noinput", "-v0")
    created = json.loads(_manage(env, "create_workspace", "--user", "bench", "--create-user"))
    _manage(
        env,
        "set_credential",
        "--scope=platform",
        "--agent=claude-code",
        "--label=bench",
        stdin=PLATFORM_KEY + "\n",
    )
    for label, key, weight in more_keys:
        _manage(
            env,
            "set_credential",
            "--scope=platform",
            "--agent=claude-code",
            f"--label={label}",
            f"--weight={weight}",
            stdin=key + "\n",
        )
    return Database(env, created["callback_token"])


def start_proxy(
    stack: ExitStack,
    logs: Path,
    name: str,
    db: Database,
    upstream: str,
    more_env: dict[str, str] | None = None,
) -> Server:
    """The project's server, one process, relaying Anthropic requests to `upstream`."""
    port = free_port()
    command = [sys.executable, *os.environ.get("BENCH_SERVER", "-m uvicorn").split()]
    command += ["sam_project.asgi:application", "--host", "127.0.0.1", "--port", str(port)]
    command += UVICORN_FLAGS
    env = {**db.env, "AI_PROXY_ANTHROPIC_UPSTREAM": upstream, **(more_env or {})}
    child = start(stack, name, command, logs, env)
    _wait_for(port, child, logs / f"{name}.log")
    return Server(f"http://127.0.0.1:{port}", child.pid)


def start_floor(stack: ExitStack, logs: Path, db: Database, upstream: str) -> Server:
    """The project's server as `start_proxy` starts it, on the settings of
    `bench/floor_settings.py`: /ai/ served by the one relaying view of `bench/floor_app.py`."""
    path = os.pathsep.join(filter(None, [str(ROOT / "bench"), os.environ.get("PYTHONPATH")]))
    more_env = {
        "DJANGO_SETTINGS_MODULE": "floor_settings",
        "PYTHONPATH": path,
        "AI_PROXY_ANTHROPIC_API_KEY": PLATFORM_KEY,
    }
    return start_proxy(stack, logs, "floor", db, upstream, more_env)


def _manage(env: dict[str, str], *args: str, stdin: str | None = None) -> str:
    done = subprocess.run(
        [sys.executable, "manage.py", *args],
        cwd=ROOT,
        env=env,
        input=stdin,
        capture_output=True,
        text=True,
        check=False,
    )
    if done.returncode:
        raise RuntimeError(f"manage.py {args[0]} failed:\n{done.stderr[-2000:]}")
    return done.stdout


def _wait_for(port: int, child: subprocess.Popen[str], log: Path) -> None:
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline and child.poll() is None:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
            return
        except OSError:
            time.sleep(0.05)
    raise RuntimeError(f"the server did not start on port {port}:\n{tail(log)}")


def tail(log: Path, lines: int = 20) -> str:
    try:
        return "\n".join(log.read_text(errors="replace").splitlines()[-lines:])
    except OSError:
        return ""


# --- what the kernel accounts ------------------------------------------------------------
def _tree(pid: int) -> list[int]:
    """The process and its descendants."""
    found, pending = [], [pid]
    while pending:
        current = pending.pop()
        found.append(current)
        try:
            children = Path(f"/proc/{current}/task/{current}/children").read_text().split()
        except OSError:
            continue
        pending += [int(child) for child in children]
    return found


def _cpu_seconds(pid: int) -> float:
    # Linux's CPU clock of a whole process: MAKE_PROCESS_CPUCLOCK(pid, CPUCLOCK_SCHED).
    try:
        return time.clock_gettime((~pid << 3) | 2)
    except OSError:
        pass
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0  # gone: a worker that exited
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def _rss_mib(pid: int) -> float:
    try:
        status = Path(f"/proc/{pid}/status").read_text()
    except OSError:
        return 0.0
    for line in status.splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return 0.0
