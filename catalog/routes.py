"""The AI proxy's routes: which dialect each speaks, where it is, which models it serves and
where it forwards. The URL map (`ai_proxy.urls`), the agents' base URLs (`catalog.agents`)
and the admin's default-model choices all derive from these."""

from dataclasses import dataclass
from enum import StrEnum

from catalog.providers import Provider


class Dialect(StrEnum):
    """The API a route speaks, and so the shape of its errors."""

    ANTHROPIC = "anthropic"
    OPENAI = "openai"


# Where each dialect's routes live; also the base URL an agent's SDK is given.
BASE_PATHS = {Dialect.ANTHROPIC: "/ai/anthropic", Dialect.OPENAI: "/ai/v1"}


@dataclass(frozen=True)
class Route:
    name: str  # stable: appears in log lines, metrics and usage records
    dialect: Dialect
    path: str  # below the dialect's base path, as the SDKs append it
    method: str
    upstream_path: str  # appended to the provider's base URL
    providers: tuple[Provider, ...]  # catalog providers whose models this route serves
    default_agent: str  # a request without a model gets this agent's default model
    metered: bool = True  # count_tokens and the model list cost nothing upstream
    forwards: bool = True  # False: answered here (the model list)

    @property
    def base_path(self) -> str:
        return BASE_PATHS[self.dialect]

    @property
    def full_path(self) -> str:
        return self.base_path + self.path

    def serves(self, provider: str) -> bool:
        return provider in self.providers


ANTHROPIC_MESSAGES = Route(
    name="anthropic.messages",
    dialect=Dialect.ANTHROPIC,
    path="/v1/messages",
    method="POST",
    upstream_path="/v1/messages",
    providers=(Provider.ANTHROPIC,),
    default_agent="claude-code",
)
ANTHROPIC_COUNT_TOKENS = Route(
    name="anthropic.count_tokens",
    dialect=Dialect.ANTHROPIC,
    path="/v1/messages/count_tokens",
    method="POST",
    upstream_path="/v1/messages/count_tokens",
    providers=(Provider.ANTHROPIC,),
    default_agent="claude-code",
    metered=False,
)
# Claude models here are translated to the Messages API and back (`ai_proxy.translate`).
CHAT_COMPLETIONS = Route(
    name="openai.chat_completions",
    dialect=Dialect.OPENAI,
    path="/chat/completions",
    method="POST",
    upstream_path="/chat/completions",
    providers=(Provider.OPENAI, Provider.OPENAI_COMPATIBLE, Provider.ANTHROPIC),
    default_agent="opencode",
)
RESPONSES = Route(
    name="openai.responses",
    dialect=Dialect.OPENAI,
    path="/responses",
    method="POST",
    upstream_path="/responses",
    providers=(Provider.OPENAI, Provider.OPENAI_COMPATIBLE),
    default_agent="openai-codex",
)
MODELS = Route(
    name="openai.models",
    dialect=Dialect.OPENAI,
    path="/models",
    method="GET",
    upstream_path="",
    providers=CHAT_COMPLETIONS.providers,
    default_agent="opencode",
    metered=False,
    forwards=False,
)

ROUTES: tuple[Route, ...] = (
    ANTHROPIC_MESSAGES,
    ANTHROPIC_COUNT_TOKENS,
    CHAT_COMPLETIONS,
    RESPONSES,
    MODELS,
)


def dialect_of(path: str) -> Dialect:
    """The dialect a path under /ai/ suggests (for answering paths that are no route)."""
    anthropic = BASE_PATHS[Dialect.ANTHROPIC] + "/"
    return Dialect.ANTHROPIC if path.startswith(anthropic) else Dialect.OPENAI
