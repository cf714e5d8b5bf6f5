"""Admin pages for credentials: one per scope over the one table, each row with its trail.

Secrets are write-only here: a password box that never renders a value, and the masked hint
(`…abcd`) everywhere else. Every write goes through `credentials.services`, so each one
writes its audit event and keeps "one active key per owner and agent".
"""

from collections import Counter
from typing import Any, cast

from django.contrib import admin, messages
from django.db.models import QuerySet
from django.http import HttpRequest
from django.urls import reverse
from django.utils import formats, timezone
from django.utils.html import format_html, format_html_join
from django.utils.http import urlencode

from audit.models import AuditEvent, target_type_of
from catalog.admin_access import SuperuserOnly
from credentials.forms import CredentialAdminForm
from credentials.models import (
    Credential,
    PlatformCredential,
    ProjectCredential,
    Scope,
    UserCredential,
)
from credentials.services import (
    credential_delete,
    credential_edit,
    credential_save,
    credential_set_active,
)

# The newest events only, on the change page: a key served for months has thousands.
RECENT_EVENTS = 50


def _when(moment: Any) -> str:
    return formats.localize(timezone.localtime(moment))


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
    actions = ["activate", "deactivate"]
    add_fields = ["agent_type", "kind", "label", "new_secret", "is_active"]
    # A row's identity (owner, agent, kind) is fixed once saved; a new one is another row.
    fixed_fields = ["agent_type", "kind", "secret_hint"]
    editable_fields = ["label", "new_secret", "is_active"]
    info_fields = [
        "key_id",
        "last_used",
        "created_at",
        "created_by",
        "updated_at",
        "updated_by",
        "audit_trail",
    ]

    class Media:
        css = {"all": ["credentials/admin.css", "audit/admin.css"]}

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

    def get_queryset(self, request: HttpRequest) -> QuerySet[Credential]:
        # Owners and projects come along: actions and deletes name them in the audit trail.
        queryset = super().get_queryset(request).filter(scope=self.scope)
        return queryset.select_related("owner", "project").with_last_used()  # type: ignore[attr-defined]

    def get_fields(self, request: HttpRequest, obj: Any = None) -> list[Any]:
        if obj is None:
            return [*self.target_fields, *self.add_fields]
        return [*self.target_fields, *self.fixed_fields, *self.editable_fields, *self.info_fields]

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
        return _when(used) if used else "never"

    @admin.display(description=f"Audit trail (newest {RECENT_EVENTS})")
    def audit_trail(self, obj: Credential) -> str:
        events = AuditEvent.objects.of_target(Credential, obj.pk)[:RECENT_EVENTS]
        rows = format_html_join(
            "",
            '<tr><td class="field-created_at">{}</td><td class="field-action">{}</td>'
            '<td class="field-actor">{}</td></tr>',
            ((_when(e.created_at), e.get_action_display(), e.actor) for e in events),
        )
        query = urlencode({"target_type": target_type_of(Credential), "target_id": str(obj.pk)})
        url = reverse("admin:audit_auditevent_changelist") + "?" + query
        return format_html(
            '<table class="audit-trail"><thead><tr><th>When</th><th>Action</th><th>By</th>'
            '</tr></thead><tbody>{}</tbody></table><p><a href="{}">All events of this '
            "credential, with what changed</a></p>",
            rows,
            url,
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
                weight=obj.weight,
                active=obj.is_active,
                actor=actor,
            )
        else:
            saved = Credential.objects.select_related("owner", "project").get(pk=obj.pk)
            if secret:
                # A platform key is found by its label: a new label first, then the secret.
                credential_edit(credential=saved, label=obj.label, weight=obj.weight, actor=actor)
                saved, _created = credential_save(
                    scope=saved.scope,
                    agent_type=saved.agent_type,
                    kind=saved.kind,
                    secret=secret,
                    owner=saved.owner,
                    project=saved.project,
                    label=obj.label,
                    weight=obj.weight,
                    active=obj.is_active,
                    actor=actor,
                )
            else:
                credential_edit(credential=saved, label=obj.label, weight=obj.weight, actor=actor)
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
    """The platform's keys: a pool per agent, each key named by its label, the requests
    shared among its healthy keys by weight (SPEC 21). Their health, and resetting it, is on
    the AI proxy's "Platform key health" page."""

    scope = Scope.PLATFORM
    add_fields = ["agent_type", "kind", "label", "weight", "new_secret", "is_active"]
    editable_fields = ["label", "weight", "new_secret", "is_active"]

    def get_list_display(self, request: HttpRequest) -> list[Any]:
        columns = super().get_list_display(request)
        columns.insert(columns.index("label") + 1, "weight")
        return columns


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
