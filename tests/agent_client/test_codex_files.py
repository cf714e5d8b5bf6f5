"""Codex's files on disk: where they go, their modes, atomic replacement, the sync fingerprint."""

import os
import stat
import tomllib

from agent_client.codex_files import (
    auth_changed,
    auth_write,
    codex_home,
    config_write,
    sync_state_write,
)
from agent_client.environment import CodexProvider
from agent_client.redaction import Secret
from tests.agent_client.answers import CODEX_AUTH

PROVIDER = CodexProvider(base_url="https://api.sam.test/ai/v1", model="gpt-4.1")


def mode(path):
    return stat.S_IMODE(path.stat().st_mode)


def test_codex_home_is_codex_home_when_set_else_dot_codex_in_home(tmp_path, monkeypatch):
    monkeypatch.setenv("HOME", str(tmp_path))

    assert codex_home({"CODEX_HOME": "/srv/codex"}) == type(tmp_path)("/srv/codex")
    assert codex_home({}) == tmp_path / ".codex"
    assert codex_home({"CODEX_HOME": ""}) == tmp_path / ".codex"


def test_auth_json_is_written_0600_in_a_0700_directory(codex_home):
    path = auth_write(codex_home, Secret(CODEX_AUTH))

    assert path == codex_home / "auth.json"
    assert path.read_text() == CODEX_AUTH
    assert mode(path) == 0o600
    assert mode(codex_home) == 0o700


def test_an_existing_codex_home_is_made_private(codex_home):
    codex_home.mkdir(mode=0o755)
    os.chmod(codex_home, 0o755)  # noqa: S103 - the loose mode under test

    auth_write(codex_home, Secret(CODEX_AUTH))

    assert mode(codex_home) == 0o700


def test_an_existing_auth_json_with_loose_permissions_is_replaced_by_a_0600_file(codex_home):
    codex_home.mkdir()
    (codex_home / "auth.json").write_text("{}")
    os.chmod(codex_home / "auth.json", 0o644)

    auth_write(codex_home, Secret(CODEX_AUTH))

    assert mode(codex_home / "auth.json") == 0o600
    assert (codex_home / "auth.json").read_text() == CODEX_AUTH


def test_a_symlink_planted_at_auth_json_is_replaced_not_followed(codex_home, tmp_path):
    codex_home.mkdir()
    target = tmp_path / "elsewhere.txt"
    target.write_text("untouched")
    (codex_home / "auth.json").symlink_to(target)

    auth_write(codex_home, Secret(CODEX_AUTH))

    assert target.read_text() == "untouched"
    assert not (codex_home / "auth.json").is_symlink()


def test_writes_leave_no_temporary_files(codex_home):
    auth_write(codex_home, Secret(CODEX_AUTH))
    config_write(codex_home, PROVIDER)

    assert sorted(p.name for p in codex_home.iterdir()) == [
        ".sam-auth.sha256",
        "auth.json",
        "config.toml",
    ]


def test_a_new_config_toml_is_created_private_with_the_provider(codex_home):
    assert config_write(codex_home, PROVIDER) is True

    path = codex_home / "config.toml"
    assert mode(path) == 0o600
    assert tomllib.loads(path.read_text())["model_provider"] == "sam-proxy"


def test_an_existing_config_toml_keeps_its_mode_and_content(codex_home):
    codex_home.mkdir()
    path = codex_home / "config.toml"
    path.write_text('approval_policy = "never"\n')
    os.chmod(path, 0o640)

    config_write(codex_home, PROVIDER)

    assert mode(path) == 0o640
    assert tomllib.loads(path.read_text())["approval_policy"] == "never"


def test_config_toml_is_not_rewritten_when_nothing_changes(codex_home):
    config_write(codex_home, PROVIDER)
    before = (codex_home / "config.toml").stat().st_ino

    assert config_write(codex_home, PROVIDER) is False
    assert (codex_home / "config.toml").stat().st_ino == before


def test_no_config_toml_is_created_when_no_provider_is_wanted(codex_home):
    assert config_write(codex_home, None) is False
    assert not codex_home.exists()


def test_auth_json_counts_as_changed_only_when_it_differs_from_what_was_delivered(codex_home):
    auth_write(codex_home, Secret(CODEX_AUTH))

    assert auth_changed(codex_home, CODEX_AUTH.encode()) is False
    assert auth_changed(codex_home, CODEX_AUTH.encode() + b" ") is True

    sync_state_write(codex_home, b"refreshed")
    assert auth_changed(codex_home, b"refreshed") is False
    assert mode(codex_home / ".sam-auth.sha256") == 0o600


def test_auth_json_counts_as_changed_when_nothing_was_recorded(codex_home):
    codex_home.mkdir()

    assert auth_changed(codex_home, CODEX_AUTH.encode()) is True
