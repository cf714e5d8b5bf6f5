"""The catalog and the proxy settings move here from ai_proxy: state only, the tables and
their rows stay as they are (renamed in 0002)."""

from decimal import Decimal

from django.db import migrations, models


class Migration(migrations.Migration):
    initial = True

    dependencies = [("ai_proxy", "0002_seed_catalog")]

    operations = [
        migrations.SeparateDatabaseAndState(
            state_operations=[
                migrations.CreateModel(
                    name="ModelCatalogEntry",
                    fields=[
                        ("id", models.CharField(help_text="The provider's model id.", max_length=100, primary_key=True, serialize=False)),
                        ("provider", models.CharField(choices=[("anthropic", "Anthropic"), ("openai", "OpenAI"), ("openai-compatible", "OpenAI-compatible")], max_length=32)),
                        ("label", models.CharField(max_length=100)),
                        ("tier", models.CharField(choices=[("fast", "Fast"), ("balanced", "Balanced"), ("frontier", "Frontier")], default="balanced", max_length=16)),
                        ("input_price_per_mtok", models.DecimalField(decimal_places=4, default=Decimal("0"), max_digits=10, verbose_name="input price (USD / million tokens)")),
                        ("output_price_per_mtok", models.DecimalField(decimal_places=4, default=Decimal("0"), max_digits=10, verbose_name="output price (USD / million tokens)")),
                        ("enabled", models.BooleanField(default=True)),
                    ],
                    options={
                        "verbose_name": "catalog model",
                        "ordering": ["provider", "input_price_per_mtok", "id"],
                        "constraints": [models.CheckConstraint(condition=models.Q(("input_price_per_mtok__gte", 0), ("output_price_per_mtok__gte", 0)), name="catalog_prices_not_negative")],
                        "db_table": "ai_proxy_modelcatalogentry",
                    },
                ),
                migrations.CreateModel(
                    name="ProxySettings",
                    fields=[
                        ("id", models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name="ID")),
                        ("enabled", models.BooleanField(blank=True, help_text="Empty: AI_PROXY_ENABLED from the environment.", null=True)),
                        ("token_mode", models.CharField(blank=True, choices=[("callback", "callback: the workspace token is the proxy key"), ("scoped", "scoped: mint a 2 h proxy-only token")], help_text="Empty: AI_PROXY_TOKEN_MODE from the environment.", max_length=16)),
                        ("default_model_claude_code", models.CharField(blank=True, max_length=100)),
                        ("default_model_openai_codex", models.CharField(blank=True, max_length=100)),
                        ("default_model_opencode", models.CharField(blank=True, max_length=100)),
                        ("rate_limit_rpm", models.PositiveIntegerField(blank=True, help_text="Per user, all proxy routes.", null=True, verbose_name="requests per minute")),
                        ("daily_input_tokens", models.PositiveBigIntegerField(blank=True, null=True)),
                        ("daily_output_tokens", models.PositiveBigIntegerField(blank=True, null=True)),
                        ("daily_cost_cap_usd", models.DecimalField(blank=True, decimal_places=2, max_digits=12, null=True, verbose_name="daily cost cap (USD)")),
                        ("updated_at", models.DateTimeField(auto_now=True)),
                    ],
                    options={
                        "verbose_name": "proxy settings",
                        "verbose_name_plural": "proxy settings",
                        "constraints": [models.CheckConstraint(condition=models.Q(("id", 1)), name="proxy_settings_singleton")],
                        "db_table": "ai_proxy_proxysettings",
                    },
                ),
            ],
            database_operations=[],
        ),
    ]
