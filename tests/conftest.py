"""Personas and helpers shared by every test folder.

alice owns the project "acme" and a running workspace in it (with a callback token); bob is
another user with his own workspace; admin is a superuser.
"""

import json
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pytest
from django.contrib.auth import get_user_model
from django.core.cache import cache
from django.test import Client

from credentials.models import Credential, Scope
from credentials.services import credential_save
from workspaces.models import Project, TokenKind, Workspace
from workspaces.tokens import token_mint

User = get_user_model()

CLAUDE_KEY = "sk-ant-api03-alice-user-key-0000000000000000AAAA"
CLAUDE_PROJECT_KEY = "sk-ant-api03-acme-project-key-00000000000000BBBB"
CLAUDE_PLATFORM_KEY = "sk-ant-api03-platform-key-000000000000000000CCCC"
OPENAI_KEY = "sk-proj-alice-openai-key-00000000000000000000DDDD"
OPENAI_PLATFORM_KEY = "sk-proj-platform-openai-key-000000000000000EEEE"


@pytest.fixture(autouse=True)
def _fresh_cache() -> Iterator[None]:
    """The proxy config snapshot and rate counters live in the cache: no test sees another's."""
    cache.clear()
    yield
    cache.clear()


@pytest.fixture
def alice(db: Any) -> Any:
    return User.objects.create_user("alice", "alice@example.com", "alice-password-1")


@pytest.fixture
def bob(db: Any) -> Any:
    return User.objects.create_user("bob", "bob@example.com", "bob-password-1")


@pytest.fixture
def admin_user(db: Any) -> Any:
    return User.objects.create_superuser("admin", "admin@example.com", "admin-password-1")


@pytest.fixture
def project(alice: Any) -> Project:
    return Project.objects.create(owner=alice, name="acme")


@dataclass
class LiveWorkspace:
    """A running workspace and its callback token (the raw token is only known here)."""

    workspace: Workspace
    token: str

    @property
    def id(self) -> str:
        return str(self.workspace.pk)

    @property
    def headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.token}"}

    def url(self, endpoint: str = "agent-key") -> str:
        return f"/api/workspaces/{self.id}/{endpoint}"


def make_workspace(user: Any, project: Project | None = None) -> LiveWorkspace:
    workspace = Workspace.objects.create(user=user, project=project)
    _token, raw = token_mint(workspace=workspace, kind=TokenKind.CALLBACK)
    return LiveWorkspace(workspace=workspace, token=raw)


@pytest.fixture
def ws(alice: Any, project: Project) -> LiveWorkspace:
    """alice's running workspace in project acme."""
    return make_workspace(alice, project)


@pytest.fixture
def bob_ws(bob: Any) -> LiveWorkspace:
    return make_workspace(bob)


def post_json(client: Client, url: str, body: Any, token: str | None = None, **extra: Any) -> Any:
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    data = body if isinstance(body, (str, bytes)) else json.dumps(body)
    return client.post(url, data=data, content_type="application/json", headers=headers, **extra)


def add_credential(
    scope: str,
    agent_type: str,
    secret: str,
    *,
    owner: Any = None,
    project: Project | None = None,
    kind: str = "api-key",
    active: bool = True,
) -> Credential:
    credential, _created = credential_save(
        scope=scope,
        agent_type=agent_type,
        kind=kind,
        secret=secret,
        owner=owner,
        project=project,
        active=active,
    )
    return credential


__all__ = ["Scope", "add_credential", "make_workspace", "post_json"]
