"""Admin pages of the catalog: the proxy settings (with the layer each value comes from)
and the model catalog. Superusers only; every save, delete and switch is audited.

Saving ProxySettings or a catalog entry drops the cached configuration snapshot (their
`save()` does it), so actions here save row by row instead of using `QuerySet.update()`.
"""

from typing import Any

from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied
from django.db import transaction
from django.db.models import QuerySet
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.urls import reverse
from django.utils.html import format_html, format_html_join

from audit.admin import AuditedAdmin
from audit.models import AuditAction
from catalog.admin_access import SuperuserOnly
from catalog.agents import PROXY_ELIGIBLE_AGENTS
from catalog.config import stored_config
from catalog.forms import ProxySettingsForm
from catalog.layers import settings_in_force
from catalog.models import ModelCatalogEntry, ProxySettings
from catalog.policy import RULES


def _shown(value: Any) -> Any:
    if value is None:
        return "none"
    if isinstance(value, bool):
        return "on" if value else "off"
    return value


@admin.register(ProxySettings)
class ProxySettingsAdmin(SuperuserOnly, AuditedAdmin):
    form = ProxySettingsForm
    audit_fields = ProxySettings.AUDIT_FIELDS
    readonly_fields = ["in_force", "body_policy", "updated_at"]

    class Media:
        css = {"all": ["catalog/proxy_settings.css"]}

    fieldsets = [
        ("In force now", {"fields": ["in_force"]}),
        ("Switch and tokens", {"fields": ["enabled", "token_mode"]}),
        (
            "Default model per agent",
            {
                "fields": [ProxySettings.default_model_field(a) for a in PROXY_ELIGIBLE_AGENTS],
                "description": "Only enabled catalog models this agent's route can serve.",
            },
        ),
        (
            "How users' and projects' own API keys reach each agent",
            {
                "fields": [ProxySettings.delivery_field(a) for a in PROXY_ELIGIBLE_AGENTS],
                "description": "direct: the key goes to the VM. proxy: it stays here, the "
                "agent is pointed at the AI proxy, which sends the key upstream. Empty: "
                "CREDENTIAL_DELIVERY from the environment. OAuth credentials always go "
                "directly.",
            },
        ),
        (
            "Limits per user (empty: the environment's value)",
            {
                "fields": [
                    "rate_limit_rpm",
                    "max_parallel_requests",
                    "daily_input_tokens",
                    "daily_output_tokens",
                    "daily_cost_cap_usd",
                ]
            },
        ),
        (
            "What requests on the platform's key may ask",
            {"fields": ["body_policy", "allow_mcp_servers", "allow_container"]},
        ),
        (None, {"fields": ["updated_at"]}),
    ]

    def changelist_view(self, request: HttpRequest, extra_context: Any = None) -> HttpResponse:
        """One row: the list opens it (or the form that creates it)."""
        if not self.has_view_or_change_permission(request):
            raise PermissionDenied
        if ProxySettings.objects.filter(pk=1).exists():
            return HttpResponseRedirect(reverse("admin:catalog_proxysettings_change", args=[1]))
        return HttpResponseRedirect(reverse("admin:catalog_proxysettings_add"))

    def has_add_permission(self, request: HttpRequest, *args: Any) -> bool:
        exists = ProxySettings.objects.filter(pk=1).exists()
        return super().has_add_permission(request) and not exists

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    @admin.display(description="Values in force")
    def in_force(self, obj: Any) -> str:
        rows = format_html_join(
            "",
            '<tr><th scope="row">{}</th><td>{}</td><td><span class="layer layer-{}">{}</span></td>'
            '<td class="in-force-note">{}</td></tr>',
            (
                (
                    row.name,
                    _shown(row.value),
                    row.layer,
                    row.layer,
                    row.note,
                )
                for row in settings_in_force(stored_config())
            ),
        )
        return format_html(
            '<table class="in-force"><thead><tr><th>Setting</th><th>Value</th><th>From</th>'
            "<th></th></tr></thead><tbody>{}</tbody></table>",
            rows,
        )

    @admin.display(description="Body policy")
    def body_policy(self, obj: Any) -> str:
        rows = format_html_join(
            "",
            '<tr><th scope="row"><code>{}</code></th><td>{}</td><td>{}</td><td>{}</td></tr>',
            (
                (rule.field, ", ".join(route.name for route in rule.routes), rule.does, rule.why)
                for rule in RULES
            ),
        )
        return format_html(
            '<table class="in-force"><thead><tr><th>Field</th><th>Routes</th><th>The proxy</th>'
            "<th>Why</th></tr></thead><tbody>{}</tbody></table>",
            rows,
        )

    def change_view(
        self, request: HttpRequest, object_id: str, form_url: str = "", extra_context: Any = None
    ) -> HttpResponse:
        if request.method == "GET":
            for row in settings_in_force(stored_config()):
                if row.note:
                    self.message_user(request, f"{row.name}: {row.note}", messages.WARNING)
        return super().change_view(request, object_id, form_url, extra_context)


@admin.register(ModelCatalogEntry)
class ModelCatalogEntryAdmin(SuperuserOnly, AuditedAdmin):
    list_display = [
        "id",
        "label",
        "provider",
        "tier",
        "input_price_per_mtok",
        "cache_write_5m_price_per_mtok",
        "cache_write_1h_price_per_mtok",
        "cache_read_price_per_mtok",
        "output_price_per_mtok",
        "enabled",
    ]
    list_filter = ["provider", "tier", "enabled"]
    search_fields = ["id", "label"]
    actions = ["enable", "disable"]
    audit_fields = ModelCatalogEntry.AUDIT_FIELDS

    def get_readonly_fields(self, request: HttpRequest, obj: Any = None) -> list[str]:
        return ["id"] if obj else []

    @admin.action(description="Enable selected models")
    def enable(self, request: HttpRequest, queryset: QuerySet[ModelCatalogEntry]) -> None:
        self._switch(request, queryset, enabled=True)

    @admin.action(description="Disable selected models")
    def disable(self, request: HttpRequest, queryset: QuerySet[ModelCatalogEntry]) -> None:
        self._switch(request, queryset, enabled=False)

    def _switch(
        self, request: HttpRequest, queryset: QuerySet[ModelCatalogEntry], *, enabled: bool
    ) -> None:
        changed = 0
        action = AuditAction.ENABLED if enabled else AuditAction.DISABLED
        with transaction.atomic():
            for entry in queryset:
                if entry.enabled != enabled:
                    before = self.audit_snapshot(entry)
                    entry.enabled = enabled
                    entry.save(update_fields=["enabled"])  # save() drops the cached snapshot
                    self.audit(
                        request, entry, action, before=before, after=self.audit_snapshot(entry)
                    )
                    changed += 1
        verb = "Enabled" if enabled else "Disabled"
        self.message_user(request, f"{verb} {changed} model(s).", messages.SUCCESS)
        for row in settings_in_force(stored_config()):
            if row.note:
                self.message_user(request, f"{row.name}: {row.note}", messages.WARNING)
