"""`make run` points agents at the address it serves, whatever HOST and PORT it is given."""

import subprocess
from pathlib import Path

from sam_project.new_env import TEMPLATE

ROOT = Path(__file__).resolve().parents[1]


def planned_commands(*variables: str, env: dict[str, str] | None = None) -> list[str]:
    """What `make run` would run (make's dry run), one command per line."""
    result = subprocess.run(
        ["make", "--dry-run", "--always-make", "run", *variables],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
        env=env,
    )
    return [line for line in result.stdout.replace("\\\n", "").splitlines() if line.strip()]


def server_command(commands: list[str]) -> str:
    (command,) = [line for line in commands if "uvicorn sam_project.asgi:application" in line]
    return command


def test_the_served_address_is_the_proxy_url_it_hands_out():
    command = server_command(planned_commands("HOST=127.0.0.2", "PORT=8765"))

    assert command.startswith("AI_PROXY_PUBLIC_URL=http://127.0.0.2:8765 ")
    assert "--host 127.0.0.2 --port 8765" in command


def test_a_public_url_from_the_environment_is_kept():
    env = {"PATH": "/usr/bin:/bin", "AI_PROXY_PUBLIC_URL": "https://api.example.org"}
    command = server_command(planned_commands("PORT=8765", env=env))

    assert command.startswith("AI_PROXY_PUBLIC_URL=https://api.example.org ")


def test_the_generated_env_file_does_not_pin_a_port():
    assert "AI_PROXY_PUBLIC_URL=" not in TEMPLATE
