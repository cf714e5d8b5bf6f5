"""Running the client the way a VM does: `python -S -m agent_client …` as a separate process.

`-S` keeps site-packages out, so the client runs with the standard library alone. Its
environment is built from scratch: PATH, a private HOME (so ~/.codex is the test's), and the
SAM_* variables; the token only ever travels in SAM_CALLBACK_TOKEN. Every run is kept, so a
test can search everything the client printed.
"""

import json
import os
import subprocess
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

REPO_ROOT = Path(__file__).resolve().parents[2]
AGENTS_DIR = Path(__file__).resolve().parent / "agents"


def agent_command(script: str, *args: str) -> list[str]:
    """argv for one of the stand-in agents in tests/agent_client/agents/ (full virtualenv)."""
    return [sys.executable, str(AGENTS_DIR / script), *args]


@dataclass
class ClientRun:
    argv: list[str]
    returncode: int
    stdout: str
    stderr: str

    def json(self) -> Any:
        return json.loads(self.stdout)


@dataclass
class VMClient:
    control_plane: str
    workspace_id: str
    token: str
    home: Path
    runs: list[ClientRun] = field(default_factory=list)

    @property
    def codex_home(self) -> Path:
        return self.home / ".codex"

    def environment(self, **extra: str) -> dict[str, str]:
        return {
            "PATH": os.environ["PATH"],
            "HOME": str(self.home),
            "LANG": "C.UTF-8",
            "SAM_CONTROL_PLANE_URL": self.control_plane,
            "SAM_WORKSPACE_ID": self.workspace_id,
            "SAM_CALLBACK_TOKEN": self.token,
            **extra,
        }

    def __call__(self, *args: str, timeout: float = 60, **extra_env: str) -> ClientRun:
        argv = [sys.executable, "-S", "-m", "agent_client", *args]
        result = subprocess.run(
            argv,
            cwd=REPO_ROOT,
            env=self.environment(**extra_env),
            capture_output=True,
            text=True,
            timeout=timeout,
        )
        run = ClientRun(argv, result.returncode, result.stdout, result.stderr)
        self.runs.append(run)
        return run

    def written_files(self) -> dict[Path, bytes]:
        """Every file under the client's HOME (Codex's files, env file directories…)."""
        return {path: path.read_bytes() for path in sorted(self.home.rglob("*")) if path.is_file()}
