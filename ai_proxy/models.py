from decimal import Decimal

from django.conf import settings
from django.db import models

from catalog.providers import Provider
from credentials.models import Credential


class UserProxyLimit(models.Model):
    """Per-user overrides of the proxy limits; empty fields use the proxy settings."""

    # What its audit events show (SPEC §23).
    AUDIT_FIELDS = (
        "user_id",
        "rate_limit_rpm",
        "daily_input_tokens",
        "daily_output_tokens",
        "daily_cost_cap_usd",
        "max_parallel_requests",
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
    max_parallel_requests = models.PositiveIntegerField("requests in flight", null=True, blank=True)

    class Meta:
        verbose_name = "per-user proxy limit"

    def __str__(self) -> str:
        return f"limits for {self.user}"


class PaidBy(models.TextChoices):
    """Whose key served a request: the platform's, or the workspace's own (SPEC 22.1)."""

    PLATFORM = "platform", "Platform"
    USER = "user", "User's own key"
    PROJECT = "project", "Project's key"


class TokenCounts(models.Model):
    """The token kinds of SPEC 20.1, as a usage record and a day's totals keep them.

    `input_tokens` is uncached input; cache writes and reads are counted apart (they are
    priced apart). Rows written before the kinds were split (`pre_split`) hold all input,
    cached or not, in `input_tokens`.
    """

    input_tokens = models.PositiveBigIntegerField(default=0)
    cache_write_5m_tokens = models.PositiveBigIntegerField(default=0)
    cache_write_1h_tokens = models.PositiveBigIntegerField(default=0)
    cache_read_tokens = models.PositiveBigIntegerField(default=0)
    output_tokens = models.PositiveBigIntegerField(default=0)
    cost_usd = models.DecimalField(max_digits=14, decimal_places=6, default=Decimal(0))
    pre_split = models.BooleanField(default=False, editable=False)

    class Meta:
        abstract = True

    @property
    def cache_write_tokens(self) -> int:
        return self.cache_write_5m_tokens + self.cache_write_1h_tokens


class UsageRecord(TokenCounts):
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
    paid_by = models.CharField(max_length=16, choices=PaidBy.choices, default=PaidBy.PLATFORM)
    # Which key served it: a platform key's label (never its value), or "own" for the key of
    # the user or project.
    upstream_key = models.CharField(max_length=100, blank=True)
    # Part of output, shown on its own (SPEC 20.1).
    reasoning_tokens = models.PositiveBigIntegerField(default=0)
    # The answer did not reach its end (the upstream or the client cut it), and counts what
    # was relayed; `estimated`: its output was counted from the text, the final usage never came.
    incomplete = models.BooleanField(default=False)
    estimated = models.BooleanField(default=False)
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


class DailyUsage(TokenCounts):
    """A user's proxy usage for one UTC day and payer; incremented atomically by every
    UsageRecord. The platform's daily budgets count the `platform` rows only."""

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="daily_proxy_usage"
    )
    day = models.DateField()
    paid_by = models.CharField(max_length=16, choices=PaidBy.choices, default=PaidBy.PLATFORM)
    requests = models.PositiveIntegerField(default=0)

    class Meta:
        ordering = ["-day"]
        constraints = [
            models.UniqueConstraint(fields=["user", "day", "paid_by"], name="daily_usage_unique")
        ]
        verbose_name_plural = "daily usage"

    def __str__(self) -> str:
        return f"{self.user} {self.day}"


class PlatformKey(Credential):
    """The platform's upstream keys as the proxy sees them: their health and today's use
    (SPEC 21). The keys themselves are edited on the platform credentials' page."""

    class Meta:
        proxy = True
        verbose_name = "platform key health"
        verbose_name_plural = "platform key health"


class BudgetLimit(models.TextChoices):
    """The daily budgets a user's platform usage is held to (SPEC 10)."""

    INPUT_TOKENS = "daily_input_tokens", "Daily input tokens"
    OUTPUT_TOKENS = "daily_output_tokens", "Daily output tokens"
    COST = "daily_cost_cap_usd", "Daily cost cap (USD)"


class BudgetAlert(models.Model):
    """A user's day reached a share of a daily budget (SPEC 23), and its webhook delivery.

    One row per user, day, budget and threshold, whichever worker saw it first: the unique
    constraint is what makes the alert go out once. `next_attempt_at` is when a worker
    may try (again) to deliver it; empty once it is delivered or given up."""

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="budget_alerts"
    )
    day = models.DateField()
    budget = models.CharField(max_length=32, choices=BudgetLimit.choices)
    threshold = models.PositiveSmallIntegerField("threshold (%)")
    # The JSON sent (and signed), the same on every try.
    body = models.TextField()
    attempts = models.PositiveIntegerField(default=0)
    next_attempt_at = models.DateTimeField(null=True, blank=True)
    delivered_at = models.DateTimeField(null=True, blank=True)
    # The receiver's last answer (its status), or why there was none.
    last_status = models.PositiveSmallIntegerField(null=True, blank=True)
    last_error = models.CharField(max_length=200, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-created_at"]
        constraints = [
            models.UniqueConstraint(
                fields=["user", "day", "budget", "threshold"], name="budget_alert_once"
            )
        ]
        indexes = [models.Index(fields=["next_attempt_at"])]

    def __str__(self) -> str:
        return f"{self.user} {self.day} {self.budget} {self.threshold} %"

    @property
    def state(self) -> str:
        if self.delivered_at is not None:
            return "delivered"
        return "pending" if self.next_attempt_at is not None else "given up"
