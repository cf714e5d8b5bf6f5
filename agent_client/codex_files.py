"""Codex's files: config.toml (no secret) and auth.json (the OAuth credential).

Both live in $CODEX_HOME, else ~/.codex, which is kept private (0700). Files are replaced
atomically through an exclusively created temporary file, so a crash never leaves half a
file and a planted symlink is never followed. auth.json is 0600.

Next to auth.json the client keeps the SHA-256 of the content it last delivered or synced,
so `sync` posts only a file the agent actually changed.
"""

import hashlib
import os
import secrets
from collections.abc import Mapping
from pathlib import Path

from agent_client.codex_config import config_apply
from agent_client.environment import CodexProvider
from agent_client.errors import LocalFileError
from agent_client.redaction import Secret

AUTH_FILE = "auth.json"
CONFIG_FILE = "config.toml"
SYNC_STATE_FILE = ".sam-auth.sha256"
MAX_AUTH_BYTES = 60 * 1024  # the sync endpoint takes 64 KiB including the JSON envelope


def codex_home(environ: Mapping[str, str]) -> Path:
    configured = environ.get("CODEX_HOME", "")
    return Path(configured) if configured else Path.home() / ".codex"


def private_dir(path: Path) -> Path:
    """Create `path` (0700) or make an existing one private; it must belong to this user."""
    try:
        path.mkdir(mode=0o700, parents=True, exist_ok=True)
        if path.stat().st_uid != os.getuid():
            raise LocalFileError(f"{path} belongs to another user; refusing to write secrets there")
        os.chmod(path, 0o700)
    except OSError as error:
        raise LocalFileError(f"cannot prepare {path}: {error.strerror}") from None
    return path


def file_replace(path: Path, content: bytes, *, mode: int) -> None:
    temporary = path.with_name(f".{path.name}.{secrets.token_hex(8)}.tmp")
    try:
        descriptor = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW, mode)
        with os.fdopen(descriptor, "wb") as handle:
            handle.write(content)
            handle.flush()
            os.fsync(handle.fileno())
        os.chmod(temporary, mode)
        os.replace(temporary, path)
    except OSError as error:
        temporary.unlink(missing_ok=True)
        raise LocalFileError(f"cannot write {path}: {error.strerror}") from None


def config_write(home: Path, provider: CodexProvider | None) -> bool:
    """Bring config.toml in line with `provider`; True when the file changed."""
    path = home / CONFIG_FILE
    try:
        text = path.read_text(encoding="utf-8")
        mode = path.stat().st_mode & 0o777
    except FileNotFoundError:
        text, mode = "", 0o600
    except (OSError, UnicodeDecodeError) as error:
        raise LocalFileError(
            f"cannot read {path}: {getattr(error, 'strerror', None) or error}"
        ) from None
    updated = config_apply(text, provider)
    if updated == text:
        return False
    private_dir(home)
    file_replace(path, updated.encode("utf-8"), mode=mode)
    return True


def auth_write(home: Path, content: Secret) -> Path:
    private_dir(home)
    path = home / AUTH_FILE
    data = content.reveal().encode("utf-8")
    file_replace(path, data, mode=0o600)
    sync_state_write(home, data)
    return path


def auth_read(home: Path) -> bytes:
    path = home / AUTH_FILE
    try:
        with path.open("rb") as handle:
            data = handle.read(MAX_AUTH_BYTES + 1)
    except FileNotFoundError:
        raise LocalFileError(f"{path} does not exist; nothing to sync") from None
    except OSError as error:
        raise LocalFileError(f"cannot read {path}: {error.strerror}") from None
    if len(data) > MAX_AUTH_BYTES:
        raise LocalFileError(f"{path} is larger than {MAX_AUTH_BYTES // 1024} KiB")
    return data


def _digest(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def sync_state_write(home: Path, data: bytes) -> None:
    file_replace(home / SYNC_STATE_FILE, _digest(data).encode() + b"\n", mode=0o600)


def auth_changed(home: Path, data: bytes) -> bool:
    """Whether `data` differs from what was last delivered or synced (True when unknown)."""
    try:
        known = (home / SYNC_STATE_FILE).read_text(encoding="ascii").strip()
    except (OSError, UnicodeDecodeError):
        return True
    return known != _digest(data)
