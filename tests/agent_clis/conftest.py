"""The real agent CLIs, as a VM runs them: `python -S -m agent_client run --agent A -- CLI …`
against the live server, whose AI proxy forwards to the fake provider.

The CLIs are the npm packages pinned in package.json / package-lock.json, installed into
node_modules/ by `npm ci` (`make test` does it when npm is there). If they are missing or
out of date these tests fail saying how to install them, so CI cannot go green without
them; SAM_SKIP_CLI_TESTS=1 skips them on purpose.

Each run is a fresh machine: its own HOME (and XDG dirs, CODEX_HOME, CLAUDE_CONFIG_DIR
under it), a working directory, no key of the user's (the proxy fallback), the settings
that turn off each CLI's update checks, telemetry and catalogues, and an outside world
that refuses every connection and records it (`tests.fakes.outside`). Every run is bounded
by a timeout that kills the whole process group.
"""

import json
import os
import signal
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from tests.fakes.outside import OutsideWorld
from tests.fakes.upstream import FakeUpstream
from tests.support import LiveWorkspace

REPO_ROOT = Path(__file__).resolve().parents[2]
NODE_BIN = REPO_ROOT / "node_modules" / ".bin"
# Command name → the npm package that provides it.
PACKAGES = {
    "claude": "@anthropic-ai/claude-code",
    "codex": "@openai/codex",
    "opencode": "opencode-ai",
}
RUN_TIMEOUT = 120.0

# Per agent: what keeps the CLI from reaching anything but the proxy, and non-interactive.
QUIET = {
    "claude-code": {
        "DISABLE_AUTOUPDATER": "1",
        "CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC": "1",  # telemetry, error reports, checks
        "DISABLE_TELEMETRY": "1",
        "DISABLE_ERROR_REPORTING": "1",
    },
    "openai-codex": {"NO_COLOR": "1"},  # the rest is in CODEX_SETTINGS
    "opencode": {
        "OPENCODE_DISABLE_AUTOUPDATE": "1",
        "OPENCODE_DISABLE_MODELS_FETCH": "1",  # the models.dev catalogue
        "OPENCODE_DISABLE_DEFAULT_PLUGINS": "1",
        "OPENCODE_DISABLE_LSP_DOWNLOAD": "1",
        "OPENCODE_DISABLE_SHARE": "1",
        "OPENCODE_DISABLE_CLAUDE_CODE": "1",  # do not read ~/.claude
        "OPENCODE_DISABLE_EXTERNAL_SKILLS": "1",
        "OPENCODE_DISABLE_PROJECT_CONFIG": "1",
        # OpenCode installs @opencode-ai/plugin into its config directory on every start;
        # offline, npm answers from its (empty) cache instead of the registry.
        "npm_config_offline": "true",
        "NO_COLOR": "1",
    },
}
# What a VM image's ~/.codex/config.toml would hold besides the client's managed block: no
# update check, no analytics, no plugin catalogue (both would call OpenAI's servers).
CODEX_SETTINGS = """\
check_for_update_on_startup = false

[analytics]
enabled = false

[features]
plugins = false
"""


@pytest.fixture(scope="session")
def agent_clis() -> Path:
    """node_modules/.bin, once every CLI there is the version package.json pins."""
    if os.environ.get("SAM_SKIP_CLI_TESTS") == "1":
        pytest.skip("SAM_SKIP_CLI_TESTS=1")
    pins = json.loads((REPO_ROOT / "package.json").read_text())["dependencies"]
    problems = []
    for command, package in PACKAGES.items():
        manifest = REPO_ROOT / "node_modules" / package / "package.json"
        installed = json.loads(manifest.read_text())["version"] if manifest.exists() else None
        if installed is None or not (NODE_BIN / command).exists():
            problems.append(f"{package} is not installed")
        elif installed != pins[package]:
            problems.append(f"{package} is {installed}, package.json pins {pins[package]}")
    if problems:
        pytest.fail(
            "The agent CLIs are not installed as package-lock.json pins them ("
            + "; ".join(problems)
            + "): run `npm ci` in the repository root (`make test` does when npm is "
            "installed), or set SAM_SKIP_CLI_TESTS=1 to skip the CLI tests.",
            pytrace=False,
        )
    return NODE_BIN


@pytest.fixture
def outside() -> Iterator[OutsideWorld]:
    world = OutsideWorld().start()
    yield world
    world.stop()


@dataclass
class CLIRun:
    argv: list[str]
    returncode: int
    stdout: str
    stderr: str

    @property
    def output(self) -> str:
        return self.stdout + self.stderr


@dataclass
class AgentVM:
    """A workspace VM with the client and the CLIs, for a user who holds no key."""

    root: Path
    control_plane: str
    workspace: LiveWorkspace
    outside: OutsideWorld
    node_bin: Path
    runs: list[CLIRun] = field(default_factory=list)

    def __post_init__(self) -> None:
        for directory in (self.home, self.workdir, self.codex_home):
            directory.mkdir(parents=True)
        (self.codex_home / "config.toml").write_text(CODEX_SETTINGS)

    @property
    def home(self) -> Path:
        return self.root / "home"

    @property
    def workdir(self) -> Path:
        return self.root / "work"

    @property
    def codex_home(self) -> Path:
        return self.home / ".codex"

    def environment(self, agent: str) -> dict[str, str]:
        home = str(self.home)
        return {
            "PATH": f"{self.node_bin}{os.pathsep}{os.environ['PATH']}",
            "HOME": home,
            "XDG_CONFIG_HOME": f"{home}/.config",
            "XDG_DATA_HOME": f"{home}/.local/share",
            "XDG_CACHE_HOME": f"{home}/.cache",
            "XDG_STATE_HOME": f"{home}/.local/state",
            "CODEX_HOME": str(self.codex_home),
            "CLAUDE_CONFIG_DIR": f"{home}/.claude",
            "LANG": "C.UTF-8",
            "TERM": "dumb",
            # The client runs from the working directory, as the agent does.
            "PYTHONPATH": str(REPO_ROOT),
            "SAM_CONTROL_PLANE_URL": self.control_plane,
            "SAM_WORKSPACE_ID": self.workspace.id,
            "SAM_CALLBACK_TOKEN": self.workspace.token,
            **self.outside.environment(),
            **QUIET[agent],
        }

    def run(self, agent: str, *command: str, timeout: float = RUN_TIMEOUT) -> CLIRun:
        argv = [sys.executable, "-S", "-m", "agent_client", "run", "--agent", agent, "--"]
        argv += command
        process = subprocess.Popen(
            argv,
            cwd=self.workdir,
            env=self.environment(agent),
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            start_new_session=True,  # the CLI and whatever it starts share one group
        )
        try:
            stdout, stderr = process.communicate(timeout=timeout)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            stdout, stderr = process.communicate()
            pytest.fail(f"{command[0]} ran past {timeout} s:\n{stdout}\n{stderr}", pytrace=False)
        run = CLIRun(argv, process.returncode, stdout, stderr)
        self.runs.append(run)
        return run


@pytest.fixture
def vm(
    agent_clis: Path,
    live_url: str,
    proxy_upstream: FakeUpstream,
    ws: LiveWorkspace,
    outside: OutsideWorld,
    settings: Any,
    tmp_path: Path,
) -> AgentVM:
    """alice's workspace VM; alice has no key, so every agent gets the platform proxy."""
    settings.AI_PROXY_PUBLIC_URL = live_url
    return AgentVM(tmp_path, live_url, ws, outside, agent_clis)


def inference(upstream: FakeUpstream) -> list[Any]:
    """The bodies of the inference requests the provider received, in order."""
    paths = ("/v1/messages", "/v1/chat/completions", "/v1/responses")
    return [record.json() for record in upstream.received if record.path in paths]


def with_tools(body: Any) -> bool:
    """The agent's own turns carry its tools; side requests (titles…) do not."""
    return bool(body.get("tools"))
