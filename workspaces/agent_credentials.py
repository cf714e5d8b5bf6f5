"""The workspace credential API: what `agent-key` answers, and `agent-credential-sync`.

What a workspace gets is decided by `credentials.resolution.decide_access`; this module
turns the decision into the answer (revealing the secret, or minting a proxy token) and
records it. Query budget (SPEC §18): token (1) + resolution (1) + one write (the `served`
event, or the minted proxy token in scoped mode) = 3, plus 1 when the workspace has a task
to update. The proxy configuration comes from the cache (see `catalog.config`).
"""

import logging
from typing import Any

from rest_framework import exceptions, status

from catalog.agents import API_KEY, PLATFORM_PROXY_SENTINEL, AgentSpec, get_agent
from catalog.config import stored_config, token_mode
from credentials.encryption import UnreadableSecret
from credentials.models import Credential
from credentials.resolution import AgentAccess, Delivery, synced_credential, workspace_access
from credentials.services import credential_record_served, credential_sync
from workspaces.metrics import agent_key_answered
from workspaces.models import CredentialSource, Task, Workspace
from workspaces.tokens import LiveToken, proxy_token_mint

logger = logging.getLogger(__name__)


class AgentCredentialNotFound(exceptions.NotFound):
    default_detail = "Agent credential not found"


class CredentialUnreadable(exceptions.APIException):
    status_code = status.HTTP_503_SERVICE_UNAVAILABLE
    default_detail = (
        "The stored credential cannot be decrypted with the configured keys; an admin must "
        "restore the key or replace the credential."
    )
    default_code = "credential_unreadable"


def _reveal(credential: Credential) -> str:
    try:
        return credential.reveal_secret()
    except UnreadableSecret:
        logger.error("credential.unreadable", extra={"credential_id": credential.pk})
        raise CredentialUnreadable from None


class NotOnProxy(exceptions.APIException):
    status_code = status.HTTP_409_CONFLICT
    default_detail = (
        "This agent does not use the platform AI proxy in this workspace (it is not eligible, "
        "the proxy is off, or the agent gets a key of its own): there is no proxy token for it."
    )
    default_code = "not_on_proxy"


def _proxy_body(access: AgentAccess, workspace: Workspace, agent: AgentSpec) -> dict[str, Any]:
    """The body pointing the agent at the platform AI proxy, with the key it sends there."""
    assert access.offer is not None  # a PROXY decision carries its offer
    if token_mode(stored_config()) == "scoped":
        _token, api_key = proxy_token_mint(workspace=workspace, agent=agent)
        key_source = "proxy-token"
    else:
        api_key, key_source = PLATFORM_PROXY_SENTINEL, "callback-token"
    return {
        "apiKey": api_key,
        "credentialKind": API_KEY,
        "credentialSource": access.source,
        "inferenceConfig": {
            "provider": access.offer.provider,
            "baseURL": access.offer.base_url,
            "model": access.offer.model,
            "apiKeySource": key_source,
        },
    }


def _secret_body(access: AgentAccess, workspace: Workspace) -> dict[str, Any]:
    credential = access.credential
    assert credential is not None  # a DIRECT decision carries its row
    body = {
        "apiKey": _reveal(credential),
        "credentialKind": credential.kind,
        "credentialSource": credential.scope,
    }
    credential_record_served(credential=credential, workspace=workspace)
    return body


def agent_key_resolve(*, token: LiveToken, agent_type: str) -> dict[str, Any]:
    """The credential (or proxy fallback) for this agent in the token's workspace."""
    agent = get_agent(agent_type)
    workspace = token.workspace
    access = workspace_access(
        user_id=workspace.user_id, project_id=workspace.project_id, agent=agent
    )
    if access.delivery is Delivery.NONE:
        logger.info(
            "agent_key.not_found",
            extra={"workspace_id": str(workspace.pk), "agent": agent_type},
        )
        agent_key_answered(None)
        raise AgentCredentialNotFound
    if access.delivery is Delivery.DIRECT:
        body, source = _secret_body(access, workspace), access.source
    else:
        body = _proxy_body(access, workspace, agent)
        source = CredentialSource.PROXY if access.credential is None else access.source

    if token.newest_task_id is not None:
        Task.objects.filter(pk=token.newest_task_id).update(agent_credential_source=source)
    logger.info(
        "agent_key.resolved",
        extra={
            "workspace_id": str(workspace.pk),
            "agent": agent_type,
            "source": source,
            "kind": body["credentialKind"],
            "model": body.get("inferenceConfig", {}).get("model"),
        },
    )
    agent_key_answered(source)
    return body


def proxy_token_issue(*, token: LiveToken, agent_type: str) -> dict[str, Any]:
    """A fresh proxy token for an agent that renews its own (SPEC 22.2), minted only when the
    workspace's decision for that agent is the proxy; in either token mode (a proxy token
    opens less than the callback token that asks for it)."""
    agent = get_agent(agent_type)
    workspace = token.workspace
    access = workspace_access(
        user_id=workspace.user_id, project_id=workspace.project_id, agent=agent
    )
    if access.delivery is not Delivery.PROXY:
        logger.info(
            "proxy_token.refused",
            extra={"workspace_id": str(workspace.pk), "agent": agent_type},
        )
        raise NotOnProxy
    row, raw = proxy_token_mint(workspace=workspace, agent=agent)
    logger.info(
        "proxy_token.minted",
        extra={"workspace_id": str(workspace.pk), "agent": agent_type, "token_id": row.pk},
    )
    return {"token": raw, "expiresAt": row.expires_at}


def agent_credential_sync(
    *, token: LiveToken, agent_type: str, kind: str, secret: str
) -> dict[str, Any]:
    """Store a refreshed credential (Codex auth.json) in the row the workspace was given."""
    workspace = token.workspace
    credential = synced_credential(
        user_id=workspace.user_id, project_id=workspace.project_id, agent_type=agent_type
    )
    if credential is None or credential.kind != kind:
        logger.info(
            "agent_credential.sync_not_found",
            extra={"workspace_id": str(workspace.pk), "agent": agent_type, "kind": kind},
        )
        return {"success": False, "reason": "credential_not_found"}
    updated = credential_sync(credential=credential, secret=secret, workspace=workspace)
    logger.info(
        "agent_credential.synced",
        extra={
            "workspace_id": str(workspace.pk),
            "agent": agent_type,
            "kind": kind,
            "source": credential.scope,
            "updated": updated,
        },
    )
    return {"success": True, "updated": updated}
