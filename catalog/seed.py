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


def catalog_seed(entry_model: Any) -> None:
    """Add the seeded entries that are missing (`entry_model`: the model class, or a
    migration's historical version of it); entries an admin changed are left alone."""
    for model_id, provider, label, tier, price_in, price_out in SEED:
        entry_model.objects.get_or_create(
            id=model_id,
            defaults={
                "provider": provider,
                "label": label,
                "tier": tier,
                "input_price_per_mtok": Decimal(price_in),
                "output_price_per_mtok": Decimal(price_out),
                "enabled": True,
            },
        )
