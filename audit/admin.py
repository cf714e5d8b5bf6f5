"""The audit trail in the admin: listed, filtered and read, never edited; and `AuditedAdmin`,
which records the saves and deletes of an admin page that has no service functions."""

from typing import Any

from django.apps import apps
from django.contrib import admin
from django.db import transaction
from django.db.models import Model, QuerySet
from django.http import HttpRequest
from django.utils.html import format_html, format_html_join

from audit.models import AuditAction, AuditEvent, target_type_of
from audit.services import audit_record, audit_snapshot


def target_type_name(target_type: str) -> str:
    """`credentials.credential` as a person reads it: "credential"."""
    try:
        return str(apps.get_model(target_type)._meta.verbose_name)
    except (LookupError, ValueError):
        return target_type


def _shown(value: Any) -> str:
    if value is None:
        return "—"
    if isinstance(value, bool):
        return "yes" if value else "no"
    return str(value)


class TargetTypeFilter(admin.SimpleListFilter):
    """The audited models (those naming their `AUDIT_FIELDS`), from the app registry rather
    than a DISTINCT over a table that grows with every agent start."""

    title = "target type"
    parameter_name = "target_type"

    def lookups(self, request: HttpRequest, model_admin: Any) -> list[tuple[str, str]]:
        audited = {target_type_of(m) for m in apps.get_models() if hasattr(m, "AUDIT_FIELDS")}
        return sorted(((t, target_type_name(t)) for t in audited), key=lambda pair: pair[1])

    def queryset(self, request: HttpRequest, queryset: QuerySet[Any]) -> QuerySet[Any]:
        return queryset.filter(target_type=self.value()) if self.value() else queryset


@admin.register(AuditEvent)
class AuditEventAdmin(admin.ModelAdmin):
    """Read-only. Events about what only superusers see are shown to superusers only."""

    list_display = ["created_at", "actor_shown", "action", "target_kind", "target_label", "summary"]
    list_filter = [
        "action",
        TargetTypeFilter,
        "actor_kind",
        ("actor_user", admin.RelatedOnlyFieldListFilter),
        ("created_at", admin.DateFieldListFilter),
    ]
    search_fields = ["target_label", "target_id", "actor_label", "actor_workspace_id"]
    date_hierarchy = "created_at"
    list_select_related = ["actor_user"]
    # `served` events come with every agent start: counting them all on each page is waste.
    show_full_result_count = False
    fields = readonly_fields = (
        "created_at",
        "actor_shown",
        "action",
        "target_kind",
        "target_id",
        "target_label",
        "changes_table",
    )

    class Media:
        css = {"all": ["audit/admin.css"]}

    def get_queryset(self, request: HttpRequest) -> QuerySet[AuditEvent]:
        return super().get_queryset(request).visible_to(request.user)  # type: ignore[attr-defined]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    @admin.display(description="Actor", ordering="actor_label")
    def actor_shown(self, obj: AuditEvent) -> str:
        return obj.actor

    @admin.display(description="Target type", ordering="target_type")
    def target_kind(self, obj: AuditEvent) -> str:
        return target_type_name(obj.target_type)

    @admin.display(description="Changes")
    def summary(self, obj: AuditEvent) -> str:
        if obj.before is None or obj.after is None:
            return ""
        changed = [(n, b, a) for n, b, a in obj.changes() if b != a]
        return "; ".join(f"{n}: {_shown(b)} → {_shown(a)}" for n, b, a in changed)

    @admin.display(description="Before and after")
    def changes_table(self, obj: AuditEvent) -> str:
        rows = obj.changes()
        if not rows:
            return "—"
        body = format_html_join(
            "",
            '<tr class="{}"><th scope="row">{}</th><td>{}</td><td>{}</td></tr>',
            (("changed" if b != a else "", n, _shown(b), _shown(a)) for n, b, a in rows),
        )
        return format_html(
            '<table class="audit-changes"><thead><tr><th>Field</th><th>Before</th>'
            "<th>After</th></tr></thead><tbody>{}</tbody></table>",
            body,
        )


class AuditedAdmin(admin.ModelAdmin):
    """An admin page whose saves and deletes each record an audit event, in the admin's
    transaction, with the `audit_fields` of the row before and after."""

    audit_fields: tuple[str, ...] = ()
    # The pages using this (proxy settings, the catalog, per-user limits) are superusers'.
    audit_superusers_only = True

    def audit_snapshot(self, obj: Model) -> dict[str, Any]:
        return audit_snapshot(obj, self.audit_fields)

    def audit(self, request: HttpRequest, obj: Model, action: str, **snapshots: Any) -> None:
        audit_record(
            actor_user=request.user,
            action=action,
            target=obj,
            superusers_only=self.audit_superusers_only,
            **snapshots,
        )

    def save_model(self, request: HttpRequest, obj: Any, form: Any, change: bool) -> None:
        stored = self.model._default_manager.filter(pk=obj.pk).first() if change else None
        before = self.audit_snapshot(stored) if stored is not None else None
        super().save_model(request, obj, form, change)
        action = AuditAction.UPDATED if before is not None else AuditAction.CREATED
        self.audit(request, obj, action, before=before, after=self.audit_snapshot(obj))

    def delete_model(self, request: HttpRequest, obj: Any) -> None:
        self.audit(request, obj, AuditAction.DELETED, before=self.audit_snapshot(obj))
        super().delete_model(request, obj)

    def delete_queryset(self, request: HttpRequest, queryset: QuerySet[Any]) -> None:
        # Row by row: each delete is audited (and `Model.delete()` runs, which drops caches).
        with transaction.atomic():
            for obj in queryset:
                self.delete_model(request, obj)
