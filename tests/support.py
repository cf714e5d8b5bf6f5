"""Helpers for tests: known secrets, workspaces with tokens, JSON posts, credentials."""

import json
from dataclasses import dataclass
from typing import Any

from django.db.models import Model
from django.test import Client

from audit.models import AuditEvent
from credentials.models import Credential, Project
from credentials.services import credential_save
from workspaces.models import TokenKind, Workspace
from workspaces.tokens import token_mint

CLAUDE_KEY = "sk-ant-api03-alice-user-key-0000000000000000AAAA"
CLAUDE_PROJECT_KEY = "sk-ant-api03-acme-project-key-00000000000000BBBB"
CLAUDE_PLATFORM_KEY = "sk-ant-api03-platform-key-000000000000000000CCCC"
OPENAI_KEY = "sk-proj-alice-openai-key-00000000000000000000DDDD"
OPENAI_PLATFORM_KEY = "sk-proj-platform-openai-key-000000000000000EEEE"


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

    def proxy_token(self) -> str:
        """A new proxy token of the workspace: what an agent holds in scoped token mode."""
        _row, raw = token_mint(workspace=self.workspace, kind=TokenKind.PROXY)
        return raw


def make_workspace(user: Any, project: Project | None = None) -> LiveWorkspace:
    workspace = Workspace.objects.create(user=user, project=project)
    _token, raw = token_mint(workspace=workspace, kind=TokenKind.CALLBACK)
    return LiveWorkspace(workspace=workspace, token=raw)


def events_of(obj: Model) -> Any:
    """The audit trail of one row, newest first."""
    return AuditEvent.objects.of_target(type(obj), obj.pk)


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
    label: str | None = None,
    weight: int | None = None,
) -> Credential:
    credential, _created = credential_save(
        scope=scope,
        agent_type=agent_type,
        kind=kind,
        secret=secret,
        owner=owner,
        project=project,
        active=active,
        label=label,
        weight=weight,
    )
    return credential
