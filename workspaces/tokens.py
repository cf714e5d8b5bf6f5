"""Workspace bearer tokens: random, prefixed so secret scanners spot them, stored as hashes.

A token is shown once, when minted. Lookups hash what the caller sent and find the row by
its unique hash, so comparing is an index lookup, not a string comparison in Python.
"""

import functools
import hashlib
import re
import secrets
from datetime import timedelta

from django.conf import settings
from django.db import connections
from django.db.models import OuterRef, QuerySet, Subquery
from django.utils import timezone

from workspaces.models import Task, TokenKind, Workspace, WorkspaceStatus, WorkspaceToken

TOKEN_PREFIXES = {TokenKind.CALLBACK: "sam_cb_", TokenKind.PROXY: "sam_px_"}
_TOKEN_SHAPE = re.compile(r"^sam_(cb|px)_[A-Za-z0-9_-]{43}$")
_DISPLAY_CHARS = 12  # "sam_cb_" and five random characters


class TokenRejected(Exception):
    """The bearer token does not authenticate. `reason` is for logs; callers see one message."""

    def __init__(self, reason: str):
        super().__init__(reason)
        self.reason = reason


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


def _lookup(raw: str) -> QuerySet[WorkspaceToken]:
    newest_task = Task.objects.filter(workspace=OuterRef("workspace")).order_by(
        "-created_at", "-id"
    )
    return (
        WorkspaceToken.objects.select_related("workspace__user", "workspace__project")
        .annotate(newest_task_id=Subquery(newest_task.values("id")[:1]))
        .filter(token_hash=hash_token(raw))
    )


def _check(token: WorkspaceToken) -> WorkspaceToken:
    if token.is_revoked:
        raise TokenRejected("revoked")
    if token.is_expired:
        raise TokenRejected("expired")
    if token.workspace.status != WorkspaceStatus.RUNNING:
        raise TokenRejected("workspace_not_running")
    return token


def token_authenticate(raw: str) -> WorkspaceToken:
    """The live token with its workspace, user, project and `newest_task_id`, in one query."""
    if not _TOKEN_SHAPE.match(raw):
        raise TokenRejected("malformed")
    try:
        return _check(_lookup(raw).get())
    except WorkspaceToken.DoesNotExist:
        raise TokenRejected("unknown") from None


async def atoken_authenticate(raw: str) -> WorkspaceToken:
    """`token_authenticate` for async views."""
    if not _TOKEN_SHAPE.match(raw):
        raise TokenRejected("malformed")
    try:
        return _check(await _lookup(raw).aget())
    except WorkspaceToken.DoesNotExist:
        raise TokenRejected("unknown") from None


@functools.cache
def _lean_lookup_sql(alias: str) -> str:
    quote = connections[alias].ops.quote_name
    token, workspace, task = (
        quote(model._meta.db_table) for model in (WorkspaceToken, Workspace, Task)
    )
    status, user, project = (quote(c) for c in ("status", "user_id", "project_id"))
    pk, workspace_id, created_at = (quote(c) for c in ("id", "workspace_id", "created_at"))
    # Only quoted table and column names from the models go into the text; the token
    # hash is a query parameter.
    newest_task = (
        f"SELECT k.{pk} FROM {task} k WHERE k.{workspace_id} = t.{workspace_id} "  # noqa: S608
        f"ORDER BY k.{created_at} DESC, k.{pk} DESC LIMIT 1"
    )
    return (
        f"SELECT t.*, w.{status} AS workspace_status, w.{user} AS workspace_user_id, "  # noqa: S608
        f"w.{project} AS workspace_project_id, ({newest_task}) AS newest_task_id "
        f"FROM {token} t INNER JOIN {workspace} w ON w.{pk} = t.{workspace_id} "
        f"WHERE t.{quote('token_hash')} = %s"
    )


def token_authenticate_lean(raw: str) -> WorkspaceToken:
    """`token_authenticate` for the AI proxy's hot path: the same checks and the same one
    query, but written once instead of compiled by the ORM on every call (which costs
    several times what running it does), loading of the workspace only its id, status,
    user id and project id (other fields are deferred)."""
    if not _TOKEN_SHAPE.match(raw):
        raise TokenRejected("malformed")
    alias = WorkspaceToken.objects.db
    rows = list(WorkspaceToken.objects.raw(_lean_lookup_sql(alias), [hash_token(raw)]))
    if not rows:
        raise TokenRejected("unknown")
    token = rows[0]
    loaded = {
        "id": token.workspace_id,
        "status": vars(token).pop("workspace_status"),
        "user_id": vars(token).pop("workspace_user_id"),
        "project_id": vars(token).pop("workspace_project_id"),
    }
    names = [f.attname for f in Workspace._meta.concrete_fields if f.attname in loaded]
    token.workspace = Workspace.from_db(alias, names, [loaded[name] for name in names])
    return _check(token)


def tokens_revoke(*, workspace: Workspace) -> int:
    return WorkspaceToken.objects.filter(workspace=workspace, revoked_at__isnull=True).update(
        revoked_at=timezone.now()
    )


def workspace_stop(*, workspace: Workspace) -> int:
    """Stop the workspace and revoke every token it has; returns how many were revoked."""
    workspace.status = WorkspaceStatus.STOPPED
    workspace.save(update_fields=["status", "updated_at"])
    return tokens_revoke(workspace=workspace)
