"""Admin pages of the AI proxy: per-user limits, usage (charts and totals), the health of
the platform's upstream keys and the budget alerts' deliveries."""

import time
from datetime import UTC, datetime
from typing import Any

from django.contrib import admin
from django.core.exceptions import PermissionDenied
from django.db.models import QuerySet
from django.http import HttpRequest, HttpResponse
from django.template.response import TemplateResponse

from ai_proxy.key_health import (
    Health,
    KeyUse,
    State,
    key_health_now,
    key_reset_now,
    key_use_today,
    platform_key_health_id,
)
from ai_proxy.models import (
    BudgetAlert,
    DailyUsage,
    PaidBy,
    PlatformKey,
    UsageRecord,
    UserProxyLimit,
)
from ai_proxy.usage_charts import kind_bars_chart, model_colours, tokens_by_bucket_chart
from ai_proxy.usage_stats import DEFAULT_PERIOD, PERIODS, usage_summary
from audit.admin import AuditedAdmin
from audit.models import AuditAction
from audit.services import audit_record
from catalog.admin_access import ReadOnlyAdmin, SuperuserOnly
from catalog.agents import API_KEY
from credentials.models import Scope


@admin.register(UserProxyLimit)
class UserProxyLimitAdmin(SuperuserOnly, AuditedAdmin):
    """Each save and delete is audited (superusers read those events, as they edit these)."""

    audit_fields = UserProxyLimit.AUDIT_FIELDS
    list_display = [
        "user",
        "rate_limit_rpm",
        "daily_input_tokens",
        "daily_output_tokens",
        "daily_cost_cap_usd",
    ]
    search_fields = ["user__username", "user__email"]
    list_select_related = ["user"]
    autocomplete_fields = ["user"]


@admin.register(DailyUsage)
class DailyUsageAdmin(ReadOnlyAdmin):
    list_display = [
        "day",
        "user",
        "paid_by",
        "requests",
        "input_tokens",
        "cache_write_5m_tokens",
        "cache_write_1h_tokens",
        "cache_read_tokens",
        "output_tokens",
        "cost_usd",
        "pre_split",
    ]
    list_filter = ["paid_by", "pre_split"]
    search_fields = ["user__username"]
    list_select_related = ["user"]
    date_hierarchy = "day"


@admin.register(UsageRecord)
class UsageRecordAdmin(ReadOnlyAdmin):
    """Its list is the usage page: charts and totals for 24 h / 7 d / 30 d, by model, user,
    platform key and payer, in the token kinds of SPEC 20.1."""

    list_select_related = ["user", "workspace", "project"]

    def changelist_view(self, request: HttpRequest, extra_context: Any = None) -> HttpResponse:
        if not self.has_view_permission(request):
            raise PermissionDenied
        period = request.GET.get("period", DEFAULT_PERIOD)
        if period not in PERIODS:
            period = DEFAULT_PERIOD
        summary = usage_summary(period)
        colours = model_colours(summary)
        return TemplateResponse(
            request,
            "admin/ai_proxy/usage.html",
            {
                **self.admin_site.each_context(request),
                "opts": self.opts,
                "title": "AI proxy usage",
                "periods": PERIODS.values(),
                "summary": summary,
                "chart": tokens_by_bucket_chart(summary),
                "users_chart": kind_bars_chart(
                    [(user.username, user.totals) for user in summary.top_users]
                ),
                "keys_chart": kind_bars_chart([(key.label, key.totals) for key in summary.by_key]),
                "platform_keys": [key for key in summary.by_key if key.paid_by == PaidBy.PLATFORM],
                "model_rows": [
                    (model, totals, colours[model]) for model, totals in summary.by_model
                ],
            },
        )


@admin.register(PlatformKey)
class PlatformKeyHealthAdmin(SuperuserOnly, ReadOnlyAdmin):
    """Each platform upstream key: healthy, cooling down until …, or broken since …; what it
    went through last; its requests and tokens today (UTC). "Reset" puts a key back in
    service at once (audited). The keys themselves are edited on the platform credentials'
    page."""

    list_display = [
        "agent_type",
        "label",
        "weight",
        "hint",
        "is_active",
        "state",
        "last_error",
        "requests_today",
        "tokens_today",
    ]
    list_display_links = None
    list_filter = ["agent_type", "is_active"]
    actions = ["reset_health"]

    def get_queryset(self, request: HttpRequest) -> QuerySet[PlatformKey]:
        return super().get_queryset(request).filter(scope=Scope.PLATFORM, kind=API_KEY)

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        # The reset action changes a key's health (not its row); only superusers see it.
        return self.has_module_permission(request)

    def has_view_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return self.has_module_permission(request)

    def change_view(self, request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        raise PermissionDenied  # nothing to edit here: the key is on its credentials page

    def get_changelist_instance(self, request: HttpRequest) -> Any:
        changelist = super().get_changelist_instance(request)
        rows = list(changelist.result_list)
        healths = key_health_now([platform_key_health_id(row) for row in rows])
        today = key_use_today()
        for row, (health, last) in zip(rows, healths, strict=True):
            row.health, row.last = health, last
            row.today = today.get((row.agent_type, row.label), KeyUse())
        return changelist

    @admin.display(description="state")
    def state(self, row: Any) -> str:
        health: Health = row.health
        if health.state is State.COOLING and health.until and health.until > time.time():
            return f"cooling down until {_moment(health.until)}"
        if health.state is State.BROKEN:
            return f"broken since {_moment(health.since)}"
        return "healthy"

    @admin.display(description="last error")
    def last_error(self, row: Any) -> str:
        last: Health = row.last
        if last.since is None:
            return "—"
        what = " ".join(str(part) for part in (last.status, last.error_type) if part)
        return f"{what or 'error'} at {_moment(last.since)}"

    @admin.display(description="requests today")
    def requests_today(self, row: Any) -> int:
        return int(row.today.requests)

    @admin.display(description="tokens today")
    def tokens_today(self, row: Any) -> int:
        return int(row.today.tokens)

    @admin.action(description="Reset the health of the selected keys (back in service now)")
    def reset_health(self, request: HttpRequest, queryset: QuerySet[PlatformKey]) -> None:
        rows = list(queryset)
        healths = key_health_now([platform_key_health_id(row) for row in rows])
        for row, (health, _last) in zip(rows, healths, strict=True):
            key_reset_now(platform_key_health_id(row))
            audit_record(
                action=AuditAction.HEALTH_RESET,
                target=row,
                before={"state": health.state.value, "status": health.status},
                after={"state": State.HEALTHY.value, "status": None},
                actor_user=request.user,
                target_label=row.audit_label(),
                superusers_only=True,
            )
        self.message_user(request, f"{len(rows)} key(s) back in service.")


def _moment(epoch: float | None) -> str:
    if epoch is None:
        return "?"
    return datetime.fromtimestamp(epoch, tz=UTC).strftime("%Y-%m-%d %H:%M:%S UTC")


@admin.register(BudgetAlert)
class BudgetAlertAdmin(ReadOnlyAdmin):
    """Each budget alert and how its webhook delivery went (SPEC 23)."""

    list_display = [
        "created_at",
        "user",
        "day",
        "budget",
        "threshold",
        "state",
        "attempts",
        "last_status",
        "last_error",
        "next_attempt_at",
        "delivered_at",
    ]
    list_filter = ["budget", "threshold", "day"]
    search_fields = ["user__username"]
    list_select_related = ["user"]
    date_hierarchy = "created_at"
