"""The model catalog and the proxy settings an admin sets (one row). What is in force is
read through `catalog.config`, which caches both as one snapshot."""

import contextlib
from decimal import Decimal
from typing import Any

from django.core.cache import cache
from django.db import models
from redis.exceptions import RedisError

from catalog.providers import Provider


def config_cache_drop() -> None:
    """Drop the cached configuration snapshot (every save here does). With the cache out of
    reach it cannot hold a snapshot anyone reads either; it expires on its own."""
    with contextlib.suppress(RedisError, OSError):
        cache.delete(CONFIG_CACHE_KEY)


class Tier(models.TextChoices):
    FAST = "fast", "Fast"
    BALANCED = "balanced", "Balanced"
    FRONTIER = "frontier", "Frontier"


# Cached snapshot of ProxySettings and the enabled catalog; see catalog.config.
CONFIG_CACHE_KEY = "ai_proxy:config:v2"


class ModelCatalogEntry(models.Model):
    """A model the platform AI proxy may serve, with its price. Only enabled entries are served."""

    # What its audit events show (SPEC §23).
    AUDIT_FIELDS = (
        "provider",
        "label",
        "tier",
        "input_price_per_mtok",
        "output_price_per_mtok",
        "cache_write_5m_price_per_mtok",
        "cache_write_1h_price_per_mtok",
        "cache_read_price_per_mtok",
        "enabled",
    )

    id = models.CharField(max_length=100, primary_key=True, help_text="The provider's model id.")
    provider = models.CharField(max_length=32, choices=Provider.choices)
    label = models.CharField(max_length=100)
    tier = models.CharField(max_length=16, choices=Tier.choices, default=Tier.BALANCED)
    input_price_per_mtok = models.DecimalField(
        "input price (USD / million tokens)", max_digits=10, decimal_places=4, default=Decimal(0)
    )
    output_price_per_mtok = models.DecimalField(
        "output price (USD / million tokens)", max_digits=10, decimal_places=4, default=Decimal(0)
    )
    # Prompt caching (SPEC 20.1): Anthropic bills cache writes above the input price (5-minute
    # and 1-hour lifetimes) and cache reads far below it; OpenAI bills only cached reads.
    cache_write_5m_price_per_mtok = models.DecimalField(
        "5-minute cache write price (USD / million tokens)",
        max_digits=10,
        decimal_places=4,
        default=Decimal(0),
    )
    cache_write_1h_price_per_mtok = models.DecimalField(
        "1-hour cache write price (USD / million tokens)",
        max_digits=10,
        decimal_places=4,
        default=Decimal(0),
    )
    cache_read_price_per_mtok = models.DecimalField(
        "cache read price (USD / million tokens)",
        max_digits=10,
        decimal_places=4,
        default=Decimal(0),
    )
    enabled = models.BooleanField(default=True)

    class Meta:
        ordering = ["provider", "input_price_per_mtok", "id"]
        verbose_name = "catalog model"
        constraints = [
            models.CheckConstraint(
                name="catalog_prices_not_negative",
                condition=models.Q(
                    input_price_per_mtok__gte=0,
                    output_price_per_mtok__gte=0,
                    cache_write_5m_price_per_mtok__gte=0,
                    cache_write_1h_price_per_mtok__gte=0,
                    cache_read_price_per_mtok__gte=0,
                ),
            )
        ]

    def __str__(self) -> str:
        return self.id

    def save(self, *args: Any, **kwargs: Any) -> None:
        super().save(*args, **kwargs)
        config_cache_drop()

    def delete(self, *args: Any, **kwargs: Any) -> tuple[int, dict[str, int]]:
        result = super().delete(*args, **kwargs)
        config_cache_drop()
        return result


class Delivery(models.TextChoices):
    DIRECT = "direct", "direct: the key goes to the VM"
    PROXY = "proxy", "proxy: the key stays here, the agent uses the proxy"


class ProxySettings(models.Model):
    """Admin-set values for the proxy (one row). Empty fields fall back to the environment."""

    # What its audit events show (SPEC §23): every setting, not when it was saved.
    AUDIT_FIELDS = (
        "enabled",
        "token_mode",
        "default_model_claude_code",
        "default_model_openai_codex",
        "default_model_opencode",
        "rate_limit_rpm",
        "daily_input_tokens",
        "daily_output_tokens",
        "daily_cost_cap_usd",
        "max_parallel_requests",
        "allow_mcp_servers",
        "allow_container",
        "delivery_claude_code",
        "delivery_openai_codex",
        "delivery_opencode",
    )

    class TokenMode(models.TextChoices):
        CALLBACK = "callback", "callback: the workspace token is the proxy key (reference VM agent)"
        SCOPED = "scoped", "scoped: a proxy-only token of 1 h (AI_PROXY_TOKEN_TTL) the agent renews"

    enabled = models.BooleanField(
        null=True, blank=True, help_text="Empty: AI_PROXY_ENABLED from the environment."
    )
    token_mode = models.CharField(
        max_length=16,
        choices=TokenMode.choices,
        blank=True,
        help_text="Empty: AI_PROXY_TOKEN_MODE from the environment.",
    )
    default_model_claude_code = models.CharField(max_length=100, blank=True)
    default_model_openai_codex = models.CharField(max_length=100, blank=True)
    default_model_opencode = models.CharField(max_length=100, blank=True)
    rate_limit_rpm = models.PositiveIntegerField(
        "requests per minute", null=True, blank=True, help_text="Per user, all proxy routes."
    )
    daily_input_tokens = models.PositiveBigIntegerField(null=True, blank=True)
    daily_output_tokens = models.PositiveBigIntegerField(null=True, blank=True)
    daily_cost_cap_usd = models.DecimalField(
        "daily cost cap (USD)", max_digits=12, decimal_places=2, null=True, blank=True
    )
    max_parallel_requests = models.PositiveIntegerField(
        "requests in flight", null=True, blank=True, help_text="Per user, all proxy routes."
    )
    # The body policy (ai_proxy.policy): Anthropic tools that reach beyond the request.
    allow_mcp_servers = models.BooleanField(
        "allow mcp_servers",
        default=False,
        help_text="Let requests on the platform's key connect Anthropic to MCP servers.",
    )
    allow_container = models.BooleanField(
        "allow container",
        default=False,
        help_text="Let requests on the platform's key use Anthropic's code-execution containers.",
    )
    # How a user's or project's own API key reaches the agent (SPEC 22.1); empty: the
    # environment's CREDENTIAL_DELIVERY.
    delivery_claude_code = models.CharField(max_length=16, choices=Delivery.choices, blank=True)
    delivery_openai_codex = models.CharField(max_length=16, choices=Delivery.choices, blank=True)
    delivery_opencode = models.CharField(max_length=16, choices=Delivery.choices, blank=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name = "proxy settings"
        verbose_name_plural = "proxy settings"
        constraints = [
            models.CheckConstraint(name="proxy_settings_singleton", condition=models.Q(id=1))
        ]

    def __str__(self) -> str:
        return "AI proxy settings"

    def save(self, *args: Any, **kwargs: Any) -> None:
        self.pk = 1
        super().save(*args, **kwargs)
        config_cache_drop()

    @staticmethod
    def default_model_field(agent_type: str) -> str:
        return "default_model_" + agent_type.replace("-", "_")

    @staticmethod
    def delivery_field(agent_type: str) -> str:
        return "delivery_" + agent_type.replace("-", "_")
