"""Starting the agent: its environment, the optional env file, and its exit status.

Secrets reach the agent through its environment, or, with an env file directory, through a
0600 file created exclusively under a random name and deleted once the agent has exited;
never through argv, where every user of the machine can read them.
"""

import os
import secrets
import shlex
import shutil
import signal
import subprocess
import tempfile
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from pathlib import Path
from types import FrameType

from agent_client.environment import AgentSetup
from agent_client.errors import CommandNotStarted, LocalFileError
from agent_client.redaction import Secret

ENV_FILE_VARIABLE = "SAM_AGENT_ENV_FILE"
# Forwarded to the agent. SIGINT is not: a terminal's Ctrl-C already reaches the whole
# process group, and a second copy would look like a double Ctrl-C to the agent.
FORWARDED_SIGNALS = (signal.SIGTERM, signal.SIGHUP)


def shell_assignments(env: Mapping[str, str]) -> str:
    return "".join(f"export {name}={shlex.quote(value)}\n" for name, value in sorted(env.items()))


def child_environment(
    base: Mapping[str, str],
    setup: AgentSetup,
    *,
    secret: frozenset[str],
    env_file: Path | None,
) -> dict[str, str]:
    """The agent's environment: the VM's, minus what it must not inherit, plus the setup's.

    With an env file the secret variables are only in the file; the rest are in both.
    """
    env = {k: v for k, v in base.items() if k not in setup.unset and k not in setup.env}
    env.pop(ENV_FILE_VARIABLE, None)
    if env_file is None:
        env.update(setup.env)
        return env
    env.update({k: v for k, v in setup.env.items() if k not in secret})
    env[ENV_FILE_VARIABLE] = str(env_file)
    return env


@contextmanager
def env_file_written(directory: Path, env: Mapping[str, str]) -> Iterator[Path]:
    """A 0600 file of `export NAME='value'` lines, removed on exit however the block ends."""
    try:
        directory.mkdir(mode=0o700, parents=True, exist_ok=True)
    except OSError as error:
        raise LocalFileError(f"cannot create {directory}: {error.strerror}") from None
    path = directory / f"sam-agent-{secrets.token_hex(8)}.env"
    try:
        descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW, 0o600)
    except OSError as error:
        raise LocalFileError(
            f"cannot create an env file in {directory}: {error.strerror}"
        ) from None
    try:
        with os.fdopen(descriptor, "w", encoding="utf-8") as handle:
            handle.write(shell_assignments(env))
        yield path
    finally:
        path.unlink(missing_ok=True)


@contextmanager
def token_file_written(token: Secret) -> Iterator[Path]:
    """The callback token in a 0600 file of a fresh private directory, for the agent's token
    hook to read; removed, with the directory, however the block ends."""
    try:
        directory = Path(tempfile.mkdtemp(prefix="sam-agent-"))
    except OSError as error:
        raise LocalFileError(f"cannot create a private directory: {error.strerror}") from None
    path = directory / "callback-token"
    try:
        try:
            descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW, 0o600)
            with os.fdopen(descriptor, "w", encoding="utf-8") as handle:
                handle.write(token.reveal() + "\n")
        except OSError as error:
            raise LocalFileError(f"cannot write {path}: {error.strerror}") from None
        yield path
    finally:
        shutil.rmtree(directory, ignore_errors=True)


def child_run(argv: Sequence[str], env: Mapping[str, str]) -> int:
    """Run the agent to completion; its exit code, or 128 + N when signal N ended it."""
    try:
        process = subprocess.Popen(list(argv), env=dict(env))  # noqa: S603 - the user's command
    except FileNotFoundError:
        raise CommandNotStarted(f"command not found: {argv[0]}", 127) from None
    except PermissionError:
        raise CommandNotStarted(f"command not executable: {argv[0]}", 126) from None

    def forward(signum: int, _frame: FrameType | None) -> None:
        process.send_signal(signum)

    previous = {number: signal.signal(number, forward) for number in FORWARDED_SIGNALS}
    previous[signal.SIGINT] = signal.signal(signal.SIGINT, signal.SIG_IGN)
    try:
        code = process.wait()
    finally:
        for number, handler in previous.items():
            signal.signal(number, handler)
    return 128 - code if code < 0 else code
