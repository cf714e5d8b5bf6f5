"""Admin pages for credentials: one per scope over the one table, and the audit trail.

Secrets are write-only here: a password box that never renders a value, and the masked hint
(`…abcd`) everywhere else. Every write goes through `credentials.services`, so each one
writes its audit event and keeps "one active key per owner and agent".
"""

from collections import Counter
from typing import Any, cast

from django.contrib import admin, messages
from django.db.models import QuerySet
from django.forms import BaseInlineFormSet
from django.http import HttpRequest
from django.urls import reverse
from django.utils import formats, timezone
from django.utils.html import format_html

from catalog.admin_access import ReadOnlyAdmin, ReadOnlyInline, SuperuserOnly
from credentials.forms import CredentialAdminForm
from credentials.models import (
    Credential,
    CredentialEvent,
    PlatformCredential,
    ProjectCredential,
    Scope,
    UserCredential,
)
from credentials.services import (
    credential_delete,
    credential_relabel,
    credential_save,
    credential_set_active,
)

RECENT_EVENTS = 50


class RecentEventsFormSet(BaseInlineFormSet):
    """The newest events only: a key served for months has thousands."""

    def get_queryset(self) -> QuerySet[CredentialEvent]:
        if not hasattr(self, "_recent"):
            self._recent = super().get_queryset()[:RECENT_EVENTS]
        return self._recent


class CredentialEventInline(ReadOnlyInline):
    model = CredentialEvent
    fk_name = "credential"
    formset = RecentEventsFormSet
    fields = readonly_fields = ("created_at", "action", "actor_user", "actor_workspace_id")
    verbose_name_plural = f"Audit trail (newest {RECENT_EVENTS})"

    def get_queryset(self, request: HttpRequest) -> QuerySet[CredentialEvent]:
        return super().get_queryset(request).select_related("actor_user")


def _target(row: Credential) -> tuple[Any, ...]:
    """What "one active key" is counted over: the scope target and the agent."""
    if row.scope == Scope.PROJECT:
        return (row.scope, row.project_id, row.agent_type)
    if row.scope == Scope.USER:
        return (row.scope, row.owner_id, row.agent_type)
    return (row.scope, row.agent_type)


def _adopt(saved: Credential, obj: Credential) -> None:
    """Make the admin's in-memory object the row the service saved (for redirects and logs)."""
    for field in Credential._meta.concrete_fields:
        setattr(obj, field.attname, getattr(saved, field.attname))
    obj._state.adding = False
    obj._state.db = saved._state.db


class CredentialAdmin(admin.ModelAdmin):
    """Shared by the three scope pages; each sets `scope` and its owner columns."""

    scope: str = ""
    target_fields: list[str] = []
    form = CredentialAdminForm
    list_filter = ["agent_type", "kind", "is_active"]
    search_fields = ["label"]
    list_select_related = ["owner", "project"]
    inlines = [CredentialEventInline]
    actions = ["activate", "deactivate"]
    add_fields = ["agent_type", "kind", "label", "new_secret", "is_active"]
    # A row's identity (owner, agent, kind) is fixed once saved; a new one is another row.
    fixed_fields = ["agent_type", "kind", "secret_hint"]
    info_fields = [
        "key_id",
        "last_used",
        "created_at",
        "created_by",
        "updated_at",
        "updated_by",
        "audit_link",
    ]

    class Media:
        css = {"all": ["credentials/admin.css"]}

    def get_list_display(self, request: HttpRequest) -> list[Any]:
        return [
            "agent",
            *self.target_fields,
            "kind",
            "label",
            "secret_hint",
            "active",
            "last_used",
            "updated_at",
        ]

    def get_inline_instances(self, request: HttpRequest, obj: Any = None) -> list[Any]:
        return super().get_inline_instances(request, obj) if obj is not None else []

    def get_queryset(self, request: HttpRequest) -> QuerySet[Credential]:
        queryset = super().get_queryset(request).filter(scope=self.scope)
        return queryset.with_last_used()  # type: ignore[attr-defined]

    def get_fields(self, request: HttpRequest, obj: Any = None) -> list[Any]:
        if obj is None:
            return [*self.target_fields, *self.add_fields]
        editable = ["label", "new_secret", "is_active"]
        return [*self.target_fields, *self.fixed_fields, *editable, *self.info_fields]

    def get_readonly_fields(self, request: HttpRequest, obj: Any = None) -> list[str]:
        if obj is None:
            return []
        return [*self.target_fields, *self.fixed_fields, *self.info_fields]

    def get_form(
        self, request: HttpRequest, obj: Any = None, change: bool = False, **kwargs: Any
    ) -> Any:
        form = cast(type[CredentialAdminForm], super().get_form(request, obj, change, **kwargs))
        form.scope = self.scope
        return form

    @admin.display(description="Agent", ordering="agent_type")
    def agent(self, obj: Credential) -> str:
        return obj.get_agent_type_display()

    @admin.display(description="Active", boolean=True, ordering="is_active")
    def active(self, obj: Credential) -> bool:
        return obj.is_active

    @admin.display(description="Secret")
    def secret_hint(self, obj: Credential) -> str:
        return format_html('<span class="secret-hint">{}</span>', obj.hint)

    @admin.display(description="Last used", ordering="last_used_at")
    def last_used(self, obj: Credential) -> str:
        used = getattr(obj, "last_used_at", None)
        return formats.localize(timezone.localtime(used)) if used else "never"

    @admin.display(description="Audit trail")
    def audit_link(self, obj: Credential) -> str:
        url = reverse("admin:credentials_credentialevent_changelist")
        return format_html(
            '<a href="{}?credential__id__exact={}">All events of this credential</a>', url, obj.pk
        )

    def save_model(self, request: HttpRequest, obj: Any, form: Any, change: bool) -> None:
        secret = form.cleaned_data.get("new_secret") or ""
        actor = request.user
        if not change:
            saved, _created = credential_save(
                scope=self.scope,
                agent_type=obj.agent_type,
                kind=obj.kind,
                secret=secret,
                owner=obj.owner,
                project=obj.project,
                label=obj.label,
                active=obj.is_active,
                actor=actor,
            )
        else:
            saved = Credential.objects.select_related("owner", "project").get(pk=obj.pk)
            if secret:
                saved, _created = credential_save(
                    scope=saved.scope,
                    agent_type=saved.agent_type,
                    kind=saved.kind,
                    secret=secret,
                    owner=saved.owner,
                    project=saved.project,
                    label=obj.label,
                    active=obj.is_active,
                    actor=actor,
                )
            else:
                credential_relabel(credential=saved, label=obj.label, actor=actor)
                credential_set_active(credential=saved, active=obj.is_active, actor=actor)
        _adopt(saved, obj)

    def delete_model(self, request: HttpRequest, obj: Any) -> None:
        credential_delete(credential=obj, actor=request.user)

    def delete_queryset(self, request: HttpRequest, queryset: QuerySet[Any]) -> None:
        for row in queryset:
            credential_delete(credential=row, actor=request.user)

    @admin.action(
        description="Activate selected credentials (turns off the agent's other key)",
        permissions=["change"],
    )
    def activate(self, request: HttpRequest, queryset: QuerySet[Any]) -> None:
        rows = list(queryset)
        clashes = [target for target, count in Counter(map(_target, rows)).items() if count > 1]
        if clashes:
            self.message_user(
                request,
                "Only one credential per agent and owner can be active: select one of each.",
                messages.ERROR,
            )
            return
        changed = sum(
            credential_set_active(credential=row, active=True, actor=request.user) for row in rows
        )
        self.message_user(request, f"Activated {changed} credential(s).", messages.SUCCESS)

    @admin.action(description="Deactivate selected credentials", permissions=["change"])
    def deactivate(self, request: HttpRequest, queryset: QuerySet[Any]) -> None:
        changed = sum(
            credential_set_active(credential=row, active=False, actor=request.user)
            for row in queryset
        )
        self.message_user(request, f"Deactivated {changed} credential(s).", messages.SUCCESS)


@admin.register(PlatformCredential)
class PlatformCredentialAdmin(SuperuserOnly, CredentialAdmin):
    scope = Scope.PLATFORM


@admin.register(UserCredential)
class UserCredentialAdmin(CredentialAdmin):
    scope = Scope.USER
    target_fields = ["owner"]
    autocomplete_fields = ["owner"]
    search_fields = ["owner__username", "owner__email", "label"]


@admin.register(ProjectCredential)
class ProjectCredentialAdmin(CredentialAdmin):
    scope = Scope.PROJECT
    target_fields = ["project"]
    autocomplete_fields = ["project"]
    list_select_related = ["project__owner"]
    search_fields = ["project__name", "project__owner__username", "label"]

    def get_list_display(self, request: HttpRequest) -> list[Any]:
        columns = super().get_list_display(request)
        columns.insert(2, "project_owner")
        return columns

    @admin.display(description="Owner", ordering="project__owner__username")
    def project_owner(self, obj: Credential) -> Any:
        return obj.project.owner if obj.project else "-"


@admin.register(CredentialEvent)
class CredentialEventAdmin(ReadOnlyAdmin):
    """The audit trail, read-only. Platform rows' events are for superusers."""

    list_display = [
        "created_at",
        "action",
        "scope",
        "agent_type",
        "kind",
        "credential",
        "actor_user",
        "actor_workspace_id",
    ]
    list_filter = ["action", "scope", "agent_type"]
    search_fields = ["actor_user__username", "credential__label"]
    list_select_related = ["credential", "actor_user"]
    date_hierarchy = "created_at"

    def get_queryset(self, request: HttpRequest) -> QuerySet[CredentialEvent]:
        queryset = super().get_queryset(request)
        if not request.user.is_superuser:
            queryset = queryset.exclude(scope=Scope.PLATFORM)
        return queryset
