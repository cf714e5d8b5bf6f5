"""Workspace-token authentication for the workspace API (DRF)."""

import logging
from typing import Any

from django.conf import settings
from django.utils.functional import SimpleLazyObject
from drf_spectacular.extensions import OpenApiAuthenticationExtension
from rest_framework import exceptions
from rest_framework.authentication import BaseAuthentication
from rest_framework.permissions import BasePermission
from rest_framework.request import Request
from rest_framework.throttling import SimpleRateThrottle

from catalog.config import CACHE_FAILURES
from workspaces.models import TokenKind
from workspaces.tokens import LiveToken, TokenRejected, bearer_token, token_authenticate

logger = logging.getLogger(__name__)


class WorkspaceTokenAuthentication(BaseAuthentication):
    """`Authorization: Bearer sam_cb_…`: one indexed query loads the token and its workspace."""

    def authenticate(self, request: Request) -> tuple[Any, LiveToken] | None:
        header = request.META.get("HTTP_AUTHORIZATION")
        if not header:
            return None
        raw = bearer_token(header)
        if raw is None:
            raise exceptions.AuthenticationFailed(
                "Malformed Authorization header; send 'Bearer <token>'.", code="invalid_token"
            )
        try:
            token = token_authenticate(raw)
        except TokenRejected as rejected:
            logger.info("auth.token_rejected", extra={"reason": rejected.reason})
            raise exceptions.AuthenticationFailed(rejected.message, code="invalid_token") from None
        # The user is loaded only if something asks for it; the API's views need the token.
        return SimpleLazyObject(lambda: token.workspace.user), token

    def authenticate_header(self, request: Request) -> str:
        return 'Bearer realm="sam"'


class IsWorkspaceCallbackToken(BasePermission):
    """A callback token of the workspace named in the URL. Proxy tokens only reach `/ai/`."""

    def has_permission(self, request: Request, view: Any) -> bool:
        token = request.auth
        if not isinstance(token, LiveToken):
            return False
        if token.kind != TokenKind.CALLBACK:
            raise exceptions.PermissionDenied(
                "A proxy token can only call the AI proxy.", code="insufficient_scope"
            )
        if str(token.workspace_id) != str(view.kwargs.get("workspace_id", "")).lower():
            raise exceptions.PermissionDenied(
                "This token belongs to another workspace.", code="insufficient_scope"
            )
        return True


class ProxyTokenThrottle(SimpleRateThrottle):
    """AI_PROXY_TOKEN_MINTS_PER_MINUTE proxy tokens per workspace, counted in the cache (shared
    by every worker with Redis). Runs after the permission check, so it counts only the
    callback token of the workspace in the URL. A cache that cannot be reached lets the
    request through: the agents' renewals must not fail with Redis."""

    scope = "proxy_token"

    def get_rate(self) -> str:
        return f"{settings.AI_PROXY_TOKEN_MINTS_PER_MINUTE}/min"

    def get_cache_key(self, request: Request, view: Any) -> str | None:
        token = request.auth
        if not isinstance(token, LiveToken):
            return None
        return self.cache_format % {"scope": self.scope, "ident": token.workspace_id}

    def allow_request(self, request: Request, view: Any) -> bool:
        try:
            return super().allow_request(request, view)
        except CACHE_FAILURES as failure:
            logger.warning(
                "proxy_token.throttle_unavailable", extra={"failure": type(failure).__name__}
            )
            return True


class WorkspaceTokenScheme(OpenApiAuthenticationExtension):
    target_class = WorkspaceTokenAuthentication
    name = "workspaceToken"

    def get_security_definition(self, auto_schema: Any) -> dict[str, str]:
        return {
            "type": "http",
            "scheme": "bearer",
            "description": "The workspace callback token (sam_cb_…).",
        }
