from typing import Any, cast

from django.http import HttpRequest
from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from workspaces.agent_credentials import (
    agent_credential_sync,
    agent_key_resolve,
    proxy_token_issue,
)
from workspaces.authentication import (
    IsWorkspaceCallbackToken,
    ProxyTokenThrottle,
    WorkspaceTokenAuthentication,
)
from workspaces.parsers import BoundedJSONParser, ChunkedBodyRequest
from workspaces.serializers import (
    AgentKeyRequestSerializer,
    AgentKeyResponseSerializer,
    CredentialSyncRequestSerializer,
    CredentialSyncResponseSerializer,
    ErrorSerializer,
    ProxyTokenRequestSerializer,
    ProxyTokenResponseSerializer,
)
from workspaces.tokens import LiveToken

_ERRORS = {
    400: OpenApiResponse(
        ErrorSerializer, description="Bad JSON, a non-object body, or bad fields."
    ),
    401: OpenApiResponse(
        ErrorSerializer,
        description="Missing, unknown, expired or revoked token, or the workspace is not running.",
    ),
    403: OpenApiResponse(
        ErrorSerializer,
        description="`insufficient_scope`: a token of another workspace, or a proxy token.",
    ),
    413: OpenApiResponse(ErrorSerializer, description="The body is over the size cap."),
}


class WorkspaceAPIView(APIView):
    authentication_classes = [WorkspaceTokenAuthentication]
    permission_classes = [IsWorkspaceCallbackToken]
    parser_classes = [BoundedJSONParser]
    max_body_bytes = 16 * 1024

    def initialize_request(self, request: HttpRequest, *args: Any, **kwargs: Any) -> Request:
        return ChunkedBodyRequest(
            request,
            parsers=self.get_parsers(),
            authenticators=self.get_authenticators(),
            negotiator=self.get_content_negotiator(),
            parser_context=self.get_parser_context(request),
        )

    def workspace_token(self) -> LiveToken:
        """The callback token that passed `IsWorkspaceCallbackToken`."""
        return cast(LiveToken, self.request.auth)


class AgentKeyView(WorkspaceAPIView):
    @extend_schema(
        operation_id="agent_key",
        summary="The credential for an agent about to start in this workspace",
        request=AgentKeyRequestSerializer,
        responses={
            200: AgentKeyResponseSerializer,
            **_ERRORS,
            404: OpenApiResponse(
                ErrorSerializer, description="No credential and no proxy fallback."
            ),
            503: OpenApiResponse(ErrorSerializer, description="`credential_unreadable`."),
        },
    )
    def post(self, request: Request, workspace_id: str) -> Response:
        serializer = AgentKeyRequestSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        body = agent_key_resolve(
            token=self.workspace_token(), agent_type=serializer.validated_data["agentType"]
        )
        return Response(body)


class ProxyTokenView(WorkspaceAPIView):
    throttle_classes = [ProxyTokenThrottle]

    @extend_schema(
        operation_id="proxy_token",
        summary="A fresh proxy token for an agent that renews its own (apiKeyHelper, Codex auth)",
        request=ProxyTokenRequestSerializer,
        responses={
            200: ProxyTokenResponseSerializer,
            **_ERRORS,
            409: OpenApiResponse(
                ErrorSerializer,
                description="`not_on_proxy`: the agent does not use the AI proxy in this "
                "workspace (not eligible, proxy off, or it gets a key of its own).",
            ),
            429: OpenApiResponse(
                ErrorSerializer,
                description="`rate_limited`: over AI_PROXY_TOKEN_MINTS_PER_MINUTE for this "
                "workspace; `Retry-After` says when to try again.",
            ),
        },
    )
    def post(self, request: Request, workspace_id: str) -> Response:
        serializer = ProxyTokenRequestSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        body = proxy_token_issue(
            token=self.workspace_token(), agent_type=serializer.validated_data["agentType"]
        )
        return Response(ProxyTokenResponseSerializer(body).data)


class AgentCredentialSyncView(WorkspaceAPIView):
    max_body_bytes = 64 * 1024

    @extend_schema(
        operation_id="agent_credential_sync",
        summary="Store a credential the agent refreshed (Codex auth.json)",
        request=CredentialSyncRequestSerializer,
        responses={200: CredentialSyncResponseSerializer, **_ERRORS},
    )
    def post(self, request: Request, workspace_id: str) -> Response:
        serializer = CredentialSyncRequestSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = serializer.validated_data
        body = agent_credential_sync(
            token=self.workspace_token(),
            agent_type=data["agentType"],
            kind=data["credentialKind"],
            secret=data["credential"],
        )
        return Response(body)
