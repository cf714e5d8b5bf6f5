"""The proxy's routes: which dialect each speaks, which models it serves, where it forwards."""

from dataclasses import dataclass

from ai_proxy.errors import Dialect
from ai_proxy.models import Provider


@dataclass(frozen=True)
class Route:
    name: str  # stable: appears in log lines and usage records
    dialect: Dialect
    upstream_path: str  # appended to the provider's base URL
    providers: tuple[str, ...]  # catalog providers whose models this route serves
    default_agent: str  # a request without a model gets this agent's default model
    metered: bool = True  # count_tokens is free upstream, so it is not metered


ANTHROPIC_MESSAGES = Route(
    name="anthropic.messages",
    dialect=Dialect.ANTHROPIC,
    upstream_path="/v1/messages",
    providers=(Provider.ANTHROPIC,),
    default_agent="claude-code",
)
ANTHROPIC_COUNT_TOKENS = Route(
    name="anthropic.count_tokens",
    dialect=Dialect.ANTHROPIC,
    upstream_path="/v1/messages/count_tokens",
    providers=(Provider.ANTHROPIC,),
    default_agent="claude-code",
    metered=False,
)
# Claude models here are translated to the Messages API and back (`ai_proxy.translate`).
CHAT_COMPLETIONS = Route(
    name="openai.chat_completions",
    dialect=Dialect.OPENAI,
    upstream_path="/chat/completions",
    providers=(Provider.OPENAI, Provider.OPENAI_COMPATIBLE, Provider.ANTHROPIC),
    default_agent="opencode",
)
RESPONSES = Route(
    name="openai.responses",
    dialect=Dialect.OPENAI,
    upstream_path="/responses",
    providers=(Provider.OPENAI, Provider.OPENAI_COMPATIBLE),
    default_agent="openai-codex",
)
MODELS = Route(
    name="openai.models",
    dialect=Dialect.OPENAI,
    upstream_path="",
    providers=CHAT_COMPLETIONS.providers,
    default_agent="opencode",
    metered=False,
)
