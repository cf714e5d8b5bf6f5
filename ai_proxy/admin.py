"""Admin pages of the AI proxy: per-user limits and usage (charts and totals)."""

from typing import Any

from django.contrib import admin
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse
from django.template.response import TemplateResponse

from ai_proxy.models import DailyUsage, PaidBy, UsageRecord, UserProxyLimit
from ai_proxy.usage_charts import kind_bars_chart, model_colours, tokens_by_bucket_chart
from ai_proxy.usage_stats import DEFAULT_PERIOD, PERIODS, usage_summary
from audit.admin import AuditedAdmin
from catalog.admin_access import ReadOnlyAdmin, SuperuserOnly


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
