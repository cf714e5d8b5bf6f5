"""Claude Code's settings.json: the `apiKeyHelper` the client puts there for a run.

Claude Code reads user settings from `$CLAUDE_CONFIG_DIR/settings.json` (default
`~/.claude/settings.json`). The client sets `apiKeyHelper` to the token command, keeps every
other key of the file, and puts the file back as it was (or removes it, when there was none)
once the agent has exited. The file never holds a secret: the command reads the callback
token from a file or the environment.
"""

import json
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path

from agent_client.codex_files import file_replace, private_dir
from agent_client.errors import LocalFileError

HELPER_KEY = "apiKeyHelper"
SETTINGS_FILE = "settings.json"


def claude_config_dir(environ: Mapping[str, str]) -> Path:
    configured = environ.get("CLAUDE_CONFIG_DIR", "")
    return Path(configured) if configured else Path.home() / ".claude"


def _read(path: Path) -> tuple[bytes | None, dict[str, object], int]:
    """The file's bytes (None: no file), its settings, and its mode."""
    try:
        data = path.read_bytes()
        mode = path.stat().st_mode & 0o777
    except FileNotFoundError:
        return None, {}, 0o600
    except OSError as error:
        raise LocalFileError(f"cannot read {path}: {error.strerror}") from None
    try:
        document = json.loads(data.decode("utf-8")) if data.strip() else {}
    except ValueError:
        raise LocalFileError(f"{path} is not a JSON document; fix or remove it") from None
    if not isinstance(document, dict):
        raise LocalFileError(f"{path} is not a JSON object; fix or remove it")
    return data, document, mode


def helper_write(directory: Path, command: str) -> bytes | None:
    """Set `apiKeyHelper` to `command` in settings.json, other keys kept; returns what the
    file held before (None: there was no file)."""
    path = directory / SETTINGS_FILE
    before, document, mode = _read(path)
    document[HELPER_KEY] = command
    private_dir(directory)
    file_replace(path, (json.dumps(document, indent=2) + "\n").encode("utf-8"), mode=mode)
    return before


def settings_restore(directory: Path, before: bytes | None) -> None:
    path = directory / SETTINGS_FILE
    if before is None:
        try:
            path.unlink(missing_ok=True)
        except OSError as error:
            raise LocalFileError(f"cannot remove {path}: {error.strerror}") from None
        return
    mode = path.stat().st_mode & 0o777 if path.exists() else 0o600
    file_replace(path, before, mode=mode)


@contextmanager
def helper_installed(directory: Path, command: str) -> Iterator[Path]:
    """`apiKeyHelper` in settings.json for the block; the file as it was afterwards."""
    before = helper_write(directory, command)
    try:
        yield directory / SETTINGS_FILE
    finally:
        settings_restore(directory, before)
