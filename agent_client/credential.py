"""Fetching an agent's credential: the one POST to agent-key, and checking what comes back.

Every field is checked before anything is built from it; a body that is not exactly one of
the documented shapes is refused (exit 5) rather than guessed at.
"""

import json
from dataclasses import dataclass

from agent_client.catalog import API_KEY, OAUTH_TOKEN, PLATFORM_PROXY_SENTINEL, Agent
from agent_client.errors import (
    AuthRefused,
    ControlPlaneError,
    NoCredential,
    ResponseInvalid,
)
from agent_client.origin import Origin, ParsedURL, same_origin_url
from agent_client.redaction import Redactor, Secret
from agent_client.transport import Response, post_json

CALLBACK_TOKEN_SOURCE = "callback-token"  # noqa: S105 - a mode name, not a secret
PROXY_TOKEN_SOURCE = "proxy-token"  # noqa: S105 - a mode name, not a secret
PROXY_TOKEN_PREFIX = "sam_px_"  # noqa: S105 - a prefix, not a secret
SOURCES = ("project", "user", "platform")


@dataclass(frozen=True)
class ProxyConfig:
    provider: str
    base_url: str  # canonical, and checked to have the control plane's origin
    model: str
    key_source: str


@dataclass(frozen=True)
class AgentCredential:
    kind: str
    source: str
    key: Secret  # the API key, OAuth token or auth.json; with a proxy, the token for it
    proxy: ProxyConfig | None = None


def workspace_path(workspace_id: str, endpoint: str) -> str:
    return f"/api/workspaces/{workspace_id}/{endpoint}"


def api_error(response: Response) -> str:
    """`HTTP 403 insufficient_scope: message`, from the control plane's JSON error body."""
    body = response.json()
    text = f"HTTP {response.status}"
    if isinstance(body, dict):
        code, message = body.get("error"), body.get("message")
        if isinstance(code, str) and code:
            text += f" {code[:64]}"
        if isinstance(message, str) and message:
            text += f": {message[:300]}"
    return text


def credential_fetch(
    *,
    control_plane: ParsedURL,
    workspace_id: str,
    token: Secret,
    agent: Agent,
    redactor: Redactor,
) -> AgentCredential:
    """POST agent-key once and return the validated credential, or raise a ClientError."""
    response = post_json(
        control_plane,
        workspace_path(workspace_id, "agent-key"),
        {"agentType": agent.agent_type},
        token,
    )
    if response.status == 404:
        raise NoCredential(
            f"no credential configured for {agent.agent_type} in this workspace, and no "
            f"platform AI proxy fallback for it ({api_error(response)})"
        )
    if response.status in (401, 403):
        raise AuthRefused(f"the control plane refused the workspace token ({api_error(response)})")
    if response.status != 200:
        raise ControlPlaneError(f"the control plane answered agent-key with {api_error(response)}")
    try:
        body = json.loads(response.body)
    except ValueError:
        raise ResponseInvalid("the control plane's answer is not JSON") from None
    return credential_parse(
        body, agent=agent, control_plane=control_plane.origin, token=token, redactor=redactor
    )


def credential_parse(
    body: object, *, agent: Agent, control_plane: Origin, token: Secret, redactor: Redactor
) -> AgentCredential:
    if not isinstance(body, dict):
        raise _malformed("it is not a JSON object")
    api_key = body.get("apiKey")
    if not isinstance(api_key, str) or not api_key:
        raise _malformed("apiKey is missing or not a string")
    if api_key != PLATFORM_PROXY_SENTINEL:
        redactor.add(api_key)
    kind, source = body.get("credentialKind"), body.get("credentialSource")
    if kind not in (API_KEY, OAUTH_TOKEN):
        raise _malformed("credentialKind is not api-key or oauth-token")
    if source not in SOURCES:
        raise _malformed("credentialSource is not project, user or platform")

    inference = body.get("inferenceConfig")
    if inference is not None:
        return _proxy_credential(
            inference, api_key, kind=kind, source=source, agent=agent, cp=control_plane, token=token
        )
    if api_key == PLATFORM_PROXY_SENTINEL:
        raise _malformed("apiKey is the platform proxy placeholder but inferenceConfig is missing")
    if kind == OAUTH_TOKEN:
        _check_oauth(api_key, agent, redactor)
    elif not api_key.isprintable() or any(ch.isspace() for ch in api_key):
        raise _malformed("apiKey contains spaces or control characters")
    return AgentCredential(kind=kind, source=source, key=Secret(api_key))


def _proxy_credential(
    inference: object,
    api_key: str,
    *,
    kind: str,
    source: str,
    agent: Agent,
    cp: Origin,
    token: Secret,
) -> AgentCredential:
    if not isinstance(inference, dict):
        raise _malformed("inferenceConfig is not an object")
    if agent.proxy_provider is None:
        raise _malformed(f"{agent.agent_type} cannot use the platform AI proxy")
    if kind != API_KEY:
        raise _malformed("a platform AI proxy credential must be of kind api-key")
    provider = inference.get("provider")
    if provider != agent.proxy_provider:
        raise _malformed(f"inferenceConfig.provider is not {agent.proxy_provider}")
    model = inference.get("model")
    if not isinstance(model, str) or not model or not model.isprintable() or " " in model:
        raise _malformed("inferenceConfig.model is missing or not a model name")
    key_source = inference.get("apiKeySource")
    if key_source == CALLBACK_TOKEN_SOURCE:
        if api_key != PLATFORM_PROXY_SENTINEL:
            raise _malformed("with apiKeySource callback-token, apiKey must be the placeholder")
        key = token
    elif key_source == PROXY_TOKEN_SOURCE:
        if (
            not api_key.startswith(PROXY_TOKEN_PREFIX)
            or not api_key.isprintable()
            or " " in api_key
        ):
            raise _malformed("with apiKeySource proxy-token, apiKey must be a sam_px_ token")
        key = Secret(api_key)
    else:
        raise _malformed("inferenceConfig.apiKeySource is not callback-token or proxy-token")
    # Last, once the shape is known good: where the token would be sent.
    base_url = same_origin_url(inference.get("baseURL"), cp)
    return AgentCredential(
        kind=kind,
        source=source,
        key=key,
        proxy=ProxyConfig(provider=provider, base_url=base_url, model=model, key_source=key_source),
    )


def _check_oauth(value: str, agent: Agent, redactor: Redactor) -> None:
    if not agent.oauth_accepted:
        raise _malformed(f"{agent.agent_type} does not take OAuth tokens")
    if not agent.oauth_file:
        if not value.isprintable() or any(ch.isspace() for ch in value):
            raise _malformed("the OAuth token contains spaces or control characters")
        return
    try:
        document = json.loads(value)
    except ValueError:
        raise _malformed("the Codex OAuth credential is not a JSON document") from None
    redactor.add_json_strings(document)
    tokens = document.get("tokens") if isinstance(document, dict) else None
    access_token = tokens.get("access_token") if isinstance(tokens, dict) else None
    if not isinstance(access_token, str) or not access_token.strip():
        raise _malformed("the Codex OAuth credential has no tokens.access_token")


def _malformed(reason: str) -> ResponseInvalid:
    return ResponseInvalid(f"the control plane's answer is malformed: {reason}")
