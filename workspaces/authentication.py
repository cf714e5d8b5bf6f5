"""Workspace-token authentication for the workspace API (DRF)."""

import logging
from typing import Any

from django.utils.functional import SimpleLazyObject
from drf_spectacular.extensions import OpenApiAuthenticationExtension
from rest_framework import exceptions
from rest_framework.authentication import BaseAuthentication
from rest_framework.permissions import BasePermission
from rest_framework.request import Request

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


class WorkspaceTokenScheme(OpenApiAuthenticationExtension):
    target_class = WorkspaceTokenAuthentication
    name = "workspaceToken"

    def get_security_definition(self, auto_schema: Any) -> dict[str, str]:
        return {
            "type": "http",
            "scheme": "bearer",
            "description": "The workspace callback token (sam_cb_…).",
        }
