"""What a request on the platform's shared key may ask of its account (SPEC 20.2): the
rules, as the admin's proxy settings page shows them. `ai_proxy.policy` enforces them.

The platform's key is shared by every user, and a request body can do more than ask for an
answer: keep conversations on the platform's account, continue another workspace's, buy a
dearer service tier, or have the provider reach out to servers and containers. On the
platform's key the proxy rewrites or refuses those fields; on a user's own key they are the
user's business and pass as sent.
"""

from dataclasses import dataclass

from catalog import routes
from catalog.routes import Route

OPENAI_ROUTES = (routes.CHAT_COMPLETIONS, routes.RESPONSES)
ANTHROPIC_ROUTES = (routes.ANTHROPIC_MESSAGES, routes.ANTHROPIC_COUNT_TOKENS)
TIERS = {
    routes.ANTHROPIC_MESSAGES: ("auto", "standard_only"),
    routes.ANTHROPIC_COUNT_TOKENS: ("auto", "standard_only"),
    routes.CHAT_COMPLETIONS: ("auto", "default"),
    routes.RESPONSES: ("auto", "default"),
}


@dataclass(frozen=True)
class Rule:
    field: str
    routes: tuple[Route, ...]
    does: str  # what the proxy does with it
    why: str


RULES = (
    Rule(
        "store",
        OPENAI_ROUTES,
        "set to false",
        "Stored conversations would be kept on the platform's account, for every user.",
    ),
    Rule(
        "previous_response_id",
        (routes.RESPONSES,),
        "refused unless this workspace created that response",
        "Another workspace's response id would continue its conversation.",
    ),
    Rule(
        "service_tier",
        OPENAI_ROUTES + ANTHROPIC_ROUTES,
        "refused unless auto or default (Anthropic: auto or standard_only)",
        "A priority tier is billed at a higher price.",
    ),
    Rule(
        "mcp_servers",
        ANTHROPIC_ROUTES,
        "refused unless the proxy settings allow it",
        "The provider would connect to servers the user names, on the platform's account.",
    ),
    Rule(
        "container",
        ANTHROPIC_ROUTES,
        "refused unless the proxy settings allow it",
        "Code-execution containers are billed by the hour to the platform's account.",
    ),
)
