"""Workspace bearer tokens: random, prefixed so secret scanners spot them, stored as hashes.

A token is shown once, when minted. Lookups hash what the caller sent and find the row by
its unique hash, so comparing is an index lookup, not a string comparison in Python.
"""

import functools
import hashlib
import re
import secrets
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from functools import cached_property
from typing import Any

from django.conf import settings
from django.db import connections, transaction
from django.db.models import Q
from django.utils import timezone

from audit.models import AuditAction
from audit.services import audit_record, audit_snapshot
from catalog.agents import AgentSpec
from workspaces.models import Task, TokenKind, Workspace, WorkspaceStatus, WorkspaceToken

TOKEN_PREFIXES = {TokenKind.CALLBACK: "sam_cb_", TokenKind.PROXY: "sam_px_"}
_TOKEN_SHAPE = re.compile(r"^sam_(cb|px)_[A-Za-z0-9_-]{43}$")
_DISPLAY_CHARS = 12  # "sam_cb_" and five random characters
# Dead tokens are kept this long, so "expired" / "revoked" still shows in the admin (and an
# agent gets that answer rather than "unknown") for a while; then they are deleted.
PURGE_AFTER = timedelta(days=1)


class TokenRejected(Exception):
    """The bearer token does not authenticate: `reason` for logs, `message` for the caller."""

    MESSAGES = {
        "malformed": "Unknown token.",
        "unknown": "Unknown token.",
        "revoked": "This token has been revoked.",
        "expired": "This token has expired.",
        "workspace_not_running": "The workspace of this token is not running.",
    }

    def __init__(self, reason: str):
        super().__init__(reason)
        self.reason = reason

    @property
    def message(self) -> str:
        return self.MESSAGES[self.reason]


def hash_token(raw: str) -> str:
    return hashlib.sha256(raw.encode()).hexdigest()


def bearer_token(authorization: str | None) -> str | None:
    """The token of an `Authorization: Bearer <token>` header, or None."""
    if not authorization:
        return None
    scheme, _, token = authorization.strip().partition(" ")
    token = token.strip()
    if scheme.lower() != "bearer" or not token or " " in token:
        return None
    return token


def token_mint(
    *, workspace: Workspace, kind: str, ttl: timedelta | None = None
) -> tuple[WorkspaceToken, str]:
    """Create a token for the workspace; returns the row and the token (shown once, never stored)."""
    if ttl is None:
        seconds = (
            settings.CALLBACK_TOKEN_TTL
            if kind == TokenKind.CALLBACK
            else settings.AI_PROXY_TOKEN_TTL
        )
        ttl = timedelta(seconds=seconds)
    raw = TOKEN_PREFIXES[TokenKind(kind)] + secrets.token_urlsafe(32)
    token = WorkspaceToken.objects.create(
        workspace=workspace,
        kind=kind,
        token_hash=hash_token(raw),
        prefix=raw[:_DISPLAY_CHARS],
        expires_at=timezone.now() + ttl,
    )
    return token, raw


def proxy_token_mint(*, workspace: Workspace, agent: AgentSpec) -> tuple[WorkspaceToken, str]:
    """A proxy token for this agent in the workspace, living as long as the agent can keep
    it (`AgentSpec.proxy_token_seconds`); returns the row and the token (shown once)."""
    ttl = timedelta(seconds=agent.proxy_token_seconds())
    return token_mint(workspace=workspace, kind=TokenKind.PROXY, ttl=ttl)


@transaction.atomic
def callback_token_mint(
    *, workspace: Workspace, actor_user: Any = None, actor_label: str = ""
) -> tuple[WorkspaceToken, str]:
    """Mint a callback token for an admin or a command (`actor_label`), and audit it.

    The proxy tokens agent-key mints in scoped mode are not audited: they come from an
    audited callback token, live an hour, reach only the AI proxy, and one per agent start
    would double the writes on that path and bury the trail.
    """
    token, raw = token_mint(workspace=workspace, kind=TokenKind.CALLBACK)
    audit_record(
        action=AuditAction.MINTED,
        target=token,
        target_label=f"{token} of workspace {workspace.pk}",
        after=audit_snapshot(token, WorkspaceToken.AUDIT_FIELDS),
        actor_user=actor_user,
        actor_label=actor_label,
    )
    return token, raw


# The columns `token_lookup_sql` selects, in order.
_LOOKUP_COLUMNS = (
    "token_id", "kind", "workspace_id", "status", "user_id", "project_id",
    "revoked", "expired", "newest_task_id",
)  # fmt: skip


@functools.cache
def token_lookup_sql(alias: str) -> str:
    """The token lookup of the workspace API and the AI proxy, written once from the
    models' metadata (see `ai_proxy.db` for why the proxy does not use the ORM here).
    Parameters: the token hash, then the time now (for `expired`)."""
    quote = connections[alias].ops.quote_name
    token, workspace, task = (
        quote(model._meta.db_table) for model in (WorkspaceToken, Workspace, Task)
    )
    pk, workspace_id, created_at = (quote(c) for c in ("id", "workspace_id", "created_at"))
    # Only quoted table and column names from the models go into the text.
    newest_task = (
        f"SELECT k.{pk} FROM {task} k WHERE k.{workspace_id} = t.{workspace_id} "  # noqa: S608
        f"ORDER BY k.{created_at} DESC, k.{pk} DESC LIMIT 1"
    )
    columns = [
        f"t.{pk}",
        f"t.{quote('kind')}",
        f"t.{workspace_id}",
        f"w.{quote('status')}",
        f"w.{quote('user_id')}",
        f"w.{quote('project_id')}",
        f"t.{quote('revoked_at')} IS NOT NULL",
        f"t.{quote('expires_at')} <= %s",
        f"({newest_task})",
    ]
    return (
        f"SELECT {', '.join(columns)} "  # noqa: S608
        f"FROM {token} t INNER JOIN {workspace} w ON w.{pk} = t.{workspace_id} "
        f"WHERE t.{quote('token_hash')} = %s"
    )


def token_lookup_params(raw: str, now: datetime) -> list[Any]:
    """The parameters of `token_lookup_sql`; a value that cannot be a token is rejected."""
    if not _TOKEN_SHAPE.match(raw):
        raise TokenRejected("malformed")
    return [now, hash_token(raw)]


@dataclass(frozen=True)
class LiveToken:
    """A token that passed every check, with what the workspace API and the AI proxy need
    of it and of its (running) workspace — not a model instance: building two of those per
    proxied request costs more than the lookup itself."""

    id: int
    kind: str
    workspace_id: uuid.UUID
    user_id: int
    project_id: int | None
    newest_task_id: int | None  # the workspace's newest task, if it has one

    @cached_property
    def workspace(self) -> Workspace:
        """The workspace as far as the lookup read it (for the API's writes)."""
        workspace = Workspace(
            id=self.workspace_id,
            status=WorkspaceStatus.RUNNING,
            user_id=self.user_id,
            project_id=self.project_id,
        )
        workspace._state.adding = False
        return workspace


def token_from_row(row: Sequence[Any] | None) -> LiveToken:
    """The live token of one row of `token_lookup_sql` (None: no such token); raises
    `TokenRejected`."""
    if row is None:
        raise TokenRejected("unknown")
    found = dict(zip(_LOOKUP_COLUMNS, row, strict=True))
    if found["revoked"]:
        raise TokenRejected("revoked")
    if found["expired"]:
        raise TokenRejected("expired")
    if found["status"] != WorkspaceStatus.RUNNING:
        raise TokenRejected("workspace_not_running")
    workspace_id = found["workspace_id"]
    return LiveToken(
        id=found["token_id"],
        kind=found["kind"],
        workspace_id=workspace_id
        if isinstance(workspace_id, uuid.UUID)
        else uuid.UUID(workspace_id),
        user_id=found["user_id"],
        project_id=found["project_id"],
        newest_task_id=found["newest_task_id"],
    )


def token_authenticate(raw: str) -> LiveToken:
    """The live token of `raw`, with its workspace and `newest_task_id`, in one query;
    raises `TokenRejected`."""
    params = token_lookup_params(raw, timezone.now())
    alias = WorkspaceToken.objects.db
    with connections[alias].cursor() as cursor:
        cursor.execute(token_lookup_sql(alias), params)
        row = cursor.fetchone()
    return token_from_row(row)


def _revoke_all(workspace: Workspace) -> int:
    return WorkspaceToken.objects.filter(workspace=workspace, revoked_at__isnull=True).update(
        revoked_at=timezone.now()
    )


@transaction.atomic
def tokens_revoke(*, workspace: Workspace, actor_user: Any = None, actor_label: str = "") -> int:
    """Revoke every token of the workspace, audited as one event; returns how many."""
    revoked = _revoke_all(workspace)
    if revoked:
        audit_record(
            action=AuditAction.REVOKED,
            target=workspace,
            target_label=f"tokens of workspace {workspace}",
            after={"tokens_revoked": revoked},
            actor_user=actor_user,
            actor_label=actor_label,
        )
    return revoked


@transaction.atomic
def workspace_stop(*, workspace: Workspace, actor_user: Any = None, actor_label: str = "") -> int:
    """Stop the workspace and revoke every token it has; returns how many were revoked."""
    before = audit_snapshot(workspace, Workspace.AUDIT_FIELDS)
    workspace.status = WorkspaceStatus.STOPPED
    workspace.save(update_fields=["status", "updated_at"])
    revoked = _revoke_all(workspace)
    audit_record(
        action=AuditAction.STOPPED,
        target=workspace,
        target_label=f"workspace {workspace}",
        before=before,
        after={**audit_snapshot(workspace, Workspace.AUDIT_FIELDS), "tokens_revoked": revoked},
        actor_user=actor_user,
        actor_label=actor_label,
    )
    return revoked


def tokens_purge(*, now: datetime | None = None) -> int:
    """Delete the tokens that expired, or were revoked, more than `PURGE_AFTER` ago (every
    scoped agent-key call mints one); returns how many. Safe to run from several processes."""
    cutoff = (now or timezone.now()) - PURGE_AFTER
    dead = WorkspaceToken.objects.filter(Q(expires_at__lt=cutoff) | Q(revoked_at__lt=cutoff))
    _total, per_model = dead.delete()
    return per_model.get(WorkspaceToken._meta.label, 0)
