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
from datetime import UTC, datetime, timedelta
from typing import Any

from django.conf import settings
from django.db import connections, transaction
from django.db.models import Model
from django.utils import timezone
from django.utils.dateparse import parse_datetime

from audit.models import AuditAction
from audit.services import audit_record, audit_snapshot
from workspaces.models import Task, TokenKind, Workspace, WorkspaceStatus, WorkspaceToken

TOKEN_PREFIXES = {TokenKind.CALLBACK: "sam_cb_", TokenKind.PROXY: "sam_px_"}
_TOKEN_SHAPE = re.compile(r"^sam_(cb|px)_[A-Za-z0-9_-]{43}$")
_DISPLAY_CHARS = 12  # "sam_cb_" and five random characters


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


def _check(token: WorkspaceToken) -> WorkspaceToken:
    if token.is_revoked:
        raise TokenRejected("revoked")
    if token.is_expired:
        raise TokenRejected("expired")
    if token.workspace.status != WorkspaceStatus.RUNNING:
        raise TokenRejected("workspace_not_running")
    return token


# The columns `lean_lookup_sql` selects, in order: the token's, then its workspace's.
_LEAN_TOKEN_FIELDS = ("id", "workspace_id", "kind", "expires_at", "revoked_at")
_LEAN_WORKSPACE_FIELDS = ("status", "user_id", "project_id")


@functools.cache
def lean_lookup_sql(alias: str) -> str:
    """The token lookup (workspace API and AI proxy), written once: the ORM would compile
    its equivalent on every call, which costs several times what running it does. The token
    hash is its only parameter (`%s`)."""
    quote = connections[alias].ops.quote_name
    token, workspace, task = (
        quote(model._meta.db_table) for model in (WorkspaceToken, Workspace, Task)
    )
    pk, workspace_id, created_at = (quote(c) for c in ("id", "workspace_id", "created_at"))
    columns = [f"t.{quote(name)}" for name in _LEAN_TOKEN_FIELDS]
    columns += [f"w.{quote(name)}" for name in _LEAN_WORKSPACE_FIELDS]
    # Only quoted table and column names from the models go into the text.
    newest_task = (
        f"SELECT k.{pk} FROM {task} k WHERE k.{workspace_id} = t.{workspace_id} "  # noqa: S608
        f"ORDER BY k.{created_at} DESC, k.{pk} DESC LIMIT 1"
    )
    return (
        f"SELECT {', '.join(columns)}, ({newest_task}) "  # noqa: S608
        f"FROM {token} t INNER JOIN {workspace} w ON w.{pk} = t.{workspace_id} "
        f"WHERE t.{quote('token_hash')} = %s"
    )


def lookup_hash(raw: str) -> str:
    """The hash to look a token up by; a value that cannot be a token is rejected here."""
    if not _TOKEN_SHAPE.match(raw):
        raise TokenRejected("malformed")
    return hash_token(raw)


def _python_datetime(value: Any) -> datetime | None:
    # SQLite hands back naive UTC (text, or a datetime when the driver parsed it);
    # PostgreSQL an aware datetime.
    if value is None:
        return None
    parsed = value if isinstance(value, datetime) else parse_datetime(str(value))
    if parsed is None:
        raise ValueError("not a datetime")
    return parsed.replace(tzinfo=UTC) if parsed.tzinfo is None else parsed


def token_from_lean_row(alias: str, row: Sequence[Any] | None) -> WorkspaceToken:
    """The checked token of one row of `lean_lookup_sql` (None: no such token), its workspace
    loaded with only its id, status, user id and project id (other fields deferred), and
    `newest_task_id` set."""
    if row is None:
        raise TokenRejected("unknown")
    token_id, workspace_id, kind, expires_at, revoked_at, status, user_id, project_id, task = row
    if not isinstance(workspace_id, uuid.UUID):
        workspace_id = uuid.UUID(str(workspace_id))
    token = WorkspaceToken.from_db(
        alias,
        list(_LEAN_TOKEN_FIELDS),
        _in_field_order(
            WorkspaceToken,
            {
                "id": token_id,
                "workspace_id": workspace_id,
                "kind": kind,
                "expires_at": _python_datetime(expires_at),
                "revoked_at": _python_datetime(revoked_at),
            },
        ),
    )
    workspace = {"id": workspace_id, "status": status, "user_id": user_id, "project_id": project_id}
    token.workspace = Workspace.from_db(
        alias, list(workspace), _in_field_order(Workspace, workspace)
    )
    token.newest_task_id = task  # type: ignore[attr-defined]
    return _check(token)


def _in_field_order(model: type[Model], values: dict[str, Any]) -> list[Any]:
    return [values[f.attname] for f in model._meta.concrete_fields if f.attname in values]


def token_authenticate(raw: str) -> WorkspaceToken:
    """The live token of `raw`, with its workspace (id, status, user id, project id) and
    `newest_task_id`, in one query; raises `TokenRejected`."""
    digest = lookup_hash(raw)
    alias = WorkspaceToken.objects.db
    with connections[alias].cursor() as cursor:
        cursor.execute(lean_lookup_sql(alias), [digest])
        row = cursor.fetchone()
    return token_from_lean_row(alias, row)


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
