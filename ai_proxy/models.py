from decimal import Decimal

from django.conf import settings
from django.db import models

from catalog.providers import Provider


class UserProxyLimit(models.Model):
    """Per-user overrides of the proxy limits; empty fields use the proxy settings."""

    # What its audit events show (SPEC §23).
    AUDIT_FIELDS = (
        "user_id",
        "rate_limit_rpm",
        "daily_input_tokens",
        "daily_output_tokens",
        "daily_cost_cap_usd",
    )

    user = models.OneToOneField(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="proxy_limit"
    )
    rate_limit_rpm = models.PositiveIntegerField("requests per minute", null=True, blank=True)
    daily_input_tokens = models.PositiveBigIntegerField(null=True, blank=True)
    daily_output_tokens = models.PositiveBigIntegerField(null=True, blank=True)
    daily_cost_cap_usd = models.DecimalField(
        "daily cost cap (USD)", max_digits=12, decimal_places=2, null=True, blank=True
    )

    class Meta:
        verbose_name = "per-user proxy limit"

    def __str__(self) -> str:
        return f"limits for {self.user}"


class UsageRecord(models.Model):
    """One inference answered through the proxy (2xx, not count_tokens)."""

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="proxy_usage"
    )
    workspace = models.ForeignKey(
        "workspaces.Workspace", null=True, on_delete=models.SET_NULL, related_name="+"
    )
    project = models.ForeignKey(
        "credentials.Project", null=True, on_delete=models.SET_NULL, related_name="+"
    )
    task = models.ForeignKey(
        "workspaces.Task", null=True, on_delete=models.SET_NULL, related_name="+"
    )
    model = models.CharField(max_length=100)
    provider = models.CharField(max_length=32, choices=Provider.choices)
    route = models.CharField(max_length=64)
    input_tokens = models.PositiveBigIntegerField(default=0)
    output_tokens = models.PositiveBigIntegerField(default=0)
    cost_usd = models.DecimalField(max_digits=14, decimal_places=6, default=Decimal(0))
    status = models.PositiveSmallIntegerField()
    streamed = models.BooleanField(default=False)
    latency_ms = models.PositiveIntegerField(default=0)
    ttfb_ms = models.PositiveIntegerField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)

    class Meta:
        ordering = ["-created_at"]
        indexes = [
            models.Index(fields=["user", "created_at"]),
            models.Index(fields=["model", "created_at"]),
        ]

    def __str__(self) -> str:
        return f"{self.model} {self.input_tokens}/{self.output_tokens}"


class DailyUsage(models.Model):
    """A user's proxy usage for one UTC day; incremented atomically by every UsageRecord."""

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="daily_proxy_usage"
    )
    day = models.DateField()
    requests = models.PositiveIntegerField(default=0)
    input_tokens = models.PositiveBigIntegerField(default=0)
    output_tokens = models.PositiveBigIntegerField(default=0)
    cost_usd = models.DecimalField(max_digits=14, decimal_places=6, default=Decimal(0))

    class Meta:
        ordering = ["-day"]
        constraints = [models.UniqueConstraint(fields=["user", "day"], name="daily_usage_unique")]
        verbose_name_plural = "daily usage"

    def __str__(self) -> str:
        return f"{self.user} {self.day}"
