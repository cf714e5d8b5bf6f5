"""The upstream providers the AI proxy forwards to: where each one is, how it takes its key,
and which agent's platform credentials are its keys."""

from dataclasses import dataclass

from django.conf import settings
from django.db import models


class Provider(models.TextChoices):
    ANTHROPIC = "anthropic", "Anthropic"
    OPENAI = "openai", "OpenAI"
    OPENAI_COMPATIBLE = "openai-compatible", "OpenAI-compatible"


@dataclass(frozen=True)
class ProviderSpec:
    provider: Provider
    # Platform credentials of this agent are the provider's upstream keys.
    platform_agent: str
    base_url_setting: str
    env_key_setting: str  # the key used when no platform credential is stored
    key_header: str  # "x-api-key" (the key as is) or "authorization" (Bearer)

    def base_url(self) -> str:
        url = getattr(settings, self.base_url_setting, "")
        if not url and self.provider == Provider.OPENAI_COMPATIBLE:
            url = settings.AI_PROXY_OPENAI_UPSTREAM  # left empty: OpenAI itself
        return str(url).rstrip("/")

    def auth_headers(self, key: str) -> dict[str, str]:
        if self.key_header == "x-api-key":
            return {"x-api-key": key}
        return {"authorization": f"Bearer {key}"}

    def env_key(self) -> str:
        """`AI_PROXY_<PROVIDER>_API_KEY`, used when no platform credential is stored."""
        return str(getattr(settings, self.env_key_setting, "") or "")

    def falls_back_to(self) -> "ProviderSpec | None":
        """The provider whose keys serve this one when it has none of its own: an
        OpenAI-compatible provider left pointing at OpenAI itself uses OpenAI's keys."""
        if (
            self.provider == Provider.OPENAI_COMPATIBLE
            and not settings.AI_PROXY_OPENAI_COMPATIBLE_UPSTREAM
        ):
            return PROVIDERS[Provider.OPENAI]
        return None


PROVIDERS: dict[str, ProviderSpec] = {
    spec.provider: spec
    for spec in (
        ProviderSpec(
            provider=Provider.ANTHROPIC,
            platform_agent="claude-code",
            base_url_setting="AI_PROXY_ANTHROPIC_UPSTREAM",
            env_key_setting="AI_PROXY_ANTHROPIC_API_KEY",
            key_header="x-api-key",
        ),
        ProviderSpec(
            provider=Provider.OPENAI,
            platform_agent="openai-codex",
            base_url_setting="AI_PROXY_OPENAI_UPSTREAM",
            env_key_setting="AI_PROXY_OPENAI_API_KEY",
            key_header="authorization",
        ),
        ProviderSpec(
            provider=Provider.OPENAI_COMPATIBLE,
            platform_agent="opencode",
            base_url_setting="AI_PROXY_OPENAI_COMPATIBLE_UPSTREAM",
            env_key_setting="AI_PROXY_OPENAI_COMPATIBLE_API_KEY",
            key_header="authorization",
        ),
    )
}
