"""The server command of deploy/systemd/sam.service, for tests to run on loopback."""

import re
import shlex
import sys
from pathlib import Path

from tests.processes import ROOT

UNIT = ROOT / "deploy" / "systemd" / "sam.service"
INSTALLED_UVICORN = "/opt/sam/.venv/bin/uvicorn"
APPLICATION = "sam_project.asgi:application"


def unit_setting(name: str) -> str:
    """One setting of the unit, continuation lines joined."""
    joined = UNIT.read_text().replace("\\\n", " ")
    found = re.search(rf"^{name}=(.*)$", joined, re.MULTILINE)
    assert found, f"{name} is not set in the unit"
    return found.group(1).strip()


def unit_server_command(port: int, workers: int) -> list[str]:
    """The unit's ExecStart with this virtualenv's uvicorn, on 127.0.0.1:`port`, behind a
    proxy on loopback, with `workers` workers."""
    words = shlex.split(unit_setting("ExecStart"))
    assert words[:2] == [INSTALLED_UVICORN, APPLICATION], words[:2]
    words[0] = str(Path(sys.executable).parent / "uvicorn")
    for flag, value in {
        "--host": "127.0.0.1",
        "--port": str(port),
        "--workers": str(workers),
        "--forwarded-allow-ips": "127.0.0.1",
    }.items():
        words[words.index(flag) + 1] = value
    return words


def unit_server_flags() -> list[str]:
    """The unit's uvicorn flags other than the address and the number of workers."""
    words = unit_server_command(0, 1)[2:]
    for flag in ("--host", "--port", "--workers"):
        at = words.index(flag)
        del words[at : at + 2]
    return words
