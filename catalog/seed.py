"""The model catalog a new installation starts with (the admin edits it from there)."""

from decimal import Decimal
from typing import Any

# id, provider, label, tier, USD per million input tokens, per million output tokens
SEED = [
    ("claude-haiku-4-5", "anthropic", "Claude Haiku 4.5", "fast", "1", "5"),
    ("claude-sonnet-4-6", "anthropic", "Claude Sonnet 4.6", "balanced", "3", "15"),
    ("claude-opus-4-6", "anthropic", "Claude Opus 4.6", "frontier", "15", "75"),
    ("gpt-4.1-mini", "openai", "GPT-4.1 mini", "fast", "0.4", "1.6"),
    ("gpt-4.1", "openai", "GPT-4.1", "balanced", "2", "8"),
    ("gpt-5.2", "openai", "GPT-5.2", "frontier", "10", "40"),
]


def cache_prices(provider: str, model_id: str, input_price: Decimal) -> dict[str, Decimal]:
    """The seeded prompt-caching prices (SPEC 20.1): Anthropic bills 5-minute cache writes at
    1.25 x the input price, 1-hour ones at 2 x, cache reads at 0.1 x; OpenAI bills cached
    input at 0.25 x (GPT-4.1 family) or 0.1 x (GPT-5 family) and has no cache writes."""
    if provider == "anthropic":
        write_5m, write_1h, read = input_price * Decimal("1.25"), input_price * 2, input_price / 10
    else:
        share = Decimal("0.1") if model_id.startswith("gpt-5") else Decimal("0.25")
        write_5m, write_1h, read = input_price, input_price, input_price * share
    return {
        "cache_write_5m_price_per_mtok": write_5m,
        "cache_write_1h_price_per_mtok": write_1h,
        "cache_read_price_per_mtok": read,
    }


def catalog_seed(entry_model: Any) -> None:
    """Add the seeded entries that are missing (`entry_model`: the model class); entries an
    admin changed are left alone."""
    for model_id, provider, label, tier, price_in, price_out in SEED:
        entry_model.objects.get_or_create(
            id=model_id,
            defaults={
                "provider": provider,
                "label": label,
                "tier": tier,
                "input_price_per_mtok": Decimal(price_in),
                "output_price_per_mtok": Decimal(price_out),
                **cache_prices(provider, model_id, Decimal(price_in)),
                "enabled": True,
            },
        )
