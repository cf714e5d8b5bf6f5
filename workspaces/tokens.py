"""Workspace bearer tokens: random, prefixed so secret scanners spot them, stored as hashes.

A token is shown once, when minted. Lookups hash what the caller sent and find the row by
its unique hash, so comparing is an index lookup, not a string comparison in Python.
"""

import hashlib
import re
import secrets
from datetime import timedelta

from django.conf import settings
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


def tokens_revoke(*, workspace: Workspace) -> int:
    return WorkspaceToken.objects.filter(workspace=workspace, revoked_at__isnull=True).update(
        revoked_at=timezone.now()
    )


def workspace_stop(*, workspace: Workspace) -> int:
    """Stop the workspace and revoke every token it has; returns how many were revoked."""
    workspace.status = WorkspaceStatus.STOPPED
    workspace.save(update_fields=["status", "updated_at"])
    return tokens_revoke(workspace=workspace)
