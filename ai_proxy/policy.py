"""Enforcing the rules of `catalog.policy` on a request on the platform's key (SPEC 20.2):
`body_policy_apply` rewrites or refuses the fields they name; the response ids the proxy
relayed are remembered per workspace, for `previous_response_id`.
"""

from typing import Any

from django.conf import settings

from ai_proxy.errors import BadRequest
from ai_proxy.shared import shared_state
from catalog import routes
from catalog.config import StoredConfig
from catalog.policy import ANTHROPIC_ROUTES, OPENAI_ROUTES, TIERS
from catalog.routes import Route


def response_key(response_id: str) -> str:
    return f"response:{response_id}"


async def response_remember(*, response_id: str, workspace_id: Any) -> None:
    """Note that this workspace created that response (a Responses answer the proxy relayed)."""
    ttl = settings.AI_PROXY_RESPONSE_ID_TTL
    await shared_state.put(response_key(response_id), str(workspace_id), ttl)


async def body_policy_apply(
    *, body: dict[str, Any], route: Route, config: StoredConfig, workspace_id: Any
) -> None:
    """Rewrite or refuse, in place, what `RULES` says (for a request on the platform's key);
    raises `BadRequest` naming the field."""
    if route in OPENAI_ROUTES and "store" in body:
        body["store"] = False
    tier = body.get("service_tier")
    if tier is not None and tier not in TIERS.get(route, ()):
        allowed = " or ".join(TIERS.get(route, ()))
        raise BadRequest(f"service_tier must be {allowed} on the platform's AI.")
    if route in ANTHROPIC_ROUTES:
        _refuse_unless(body, "mcp_servers", allowed=config.allow_mcp_servers)
        _refuse_unless(body, "container", allowed=config.allow_container)
    previous = body.get("previous_response_id")
    if route is routes.RESPONSES and previous is not None:
        await _check_previous_response(previous, workspace_id)


def _refuse_unless(body: dict[str, Any], field: str, *, allowed: bool) -> None:
    if body.get(field) is not None and not allowed:
        raise BadRequest(f"{field} is not available on the platform's AI.")


async def _check_previous_response(previous: Any, workspace_id: Any) -> None:
    if not isinstance(previous, str) or not previous:
        raise BadRequest("previous_response_id must be a non-empty string.")
    creator = await shared_state.get(response_key(previous))
    if creator != str(workspace_id):
        raise BadRequest(
            "previous_response_id must name a response this workspace created in the last "
            f"{settings.AI_PROXY_RESPONSE_ID_TTL} seconds."
        )
