"""Admin pages for projects, workspaces (with their tokens) and tasks.

Tokens are listed by display prefix only; the hash is never shown. A minted token is shown
once, on a page of its own that is not cached and not kept in the session or messages.
Minting is for superusers only: a callback token reads the user's and the project's keys
through agent-key, and admin secrets are otherwise write-only (SPEC §26).
"""

import logging
from typing import Any

from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied
from django.db.models import Count, Q, QuerySet
from django.http import HttpRequest
from django.template.response import TemplateResponse
from django.utils import timezone
from django.utils.cache import add_never_cache_headers

from catalog.admin_access import ReadOnlyInline
from credentials.models import Project
from workspaces.models import Task, Workspace, WorkspaceToken
from workspaces.tokens import callback_token_mint, tokens_revoke, workspace_stop

logger = logging.getLogger(__name__)


@admin.register(Project)
class ProjectAdmin(admin.ModelAdmin):
    list_display = ["name", "owner", "created_at"]
    search_fields = ["name", "owner__username"]
    list_select_related = ["owner"]
    autocomplete_fields = ["owner"]


class TokenInline(ReadOnlyInline):
    model = WorkspaceToken
    fields = readonly_fields = (
        "display_prefix",
        "kind",
        "created_at",
        "expires_at",
        "revoked_at",
        "state",
    )
    verbose_name_plural = "Tokens (only their prefix is kept in readable form)"

    @admin.display(description="Token")
    def display_prefix(self, obj: WorkspaceToken) -> str:
        return f"{obj.prefix}…"

    @admin.display(description="State")
    def state(self, obj: WorkspaceToken) -> str:
        if obj.is_revoked:
            return "revoked"
        if obj.is_expired:
            return "expired"
        return "live"


class TaskInline(ReadOnlyInline):
    model = Task
    fields = readonly_fields = ("title", "agent_credential_source", "created_at")
    show_change_link = True


@admin.register(Workspace)
class WorkspaceAdmin(admin.ModelAdmin):
    list_display = ["__str__", "user", "project", "status", "live_tokens", "created_at"]
    list_filter = ["status"]
    search_fields = ["id", "name", "user__username", "project__name"]
    list_select_related = ["user", "project"]
    autocomplete_fields = ["user", "project"]
    readonly_fields = ["id", "created_at", "updated_at"]
    fields = ["id", "name", "user", "project", "status", "created_at", "updated_at"]
    inlines = [TokenInline, TaskInline]
    actions = ["mint_callback_token", "revoke_tokens", "stop"]

    def get_queryset(self, request: HttpRequest) -> QuerySet[Workspace]:
        live = Q(tokens__revoked_at__isnull=True, tokens__expires_at__gt=timezone.now())
        return super().get_queryset(request).annotate(live_token_count=Count("tokens", filter=live))

    @admin.display(description="Live tokens", ordering="live_token_count")
    def live_tokens(self, obj: Any) -> int:
        return obj.live_token_count

    def has_mint_permission(self, request: HttpRequest) -> bool:
        """Whoever holds a callback token can read the workspace user's keys: superusers only,
        whatever permissions a staff member was granted. The action is then neither offered
        nor accepted when posted."""
        return bool(request.user.is_active and request.user.is_superuser)

    @admin.action(description="Mint a callback token (shown once)", permissions=["mint"])
    def mint_callback_token(
        self, request: HttpRequest, queryset: QuerySet[Workspace]
    ) -> TemplateResponse | None:
        if not self.has_mint_permission(request):
            raise PermissionDenied
        workspaces = list(queryset.select_related("user"))
        stopped = [ws for ws in workspaces if not ws.is_running]
        if stopped:
            self.message_user(
                request,
                "Tokens of a workspace that is not running are refused; start it first: "
                + ", ".join(str(ws) for ws in stopped),
                messages.ERROR,
            )
            return None
        minted = []
        for workspace in workspaces:
            token, raw = callback_token_mint(workspace=workspace, actor_user=request.user)
            self.log_change(request, workspace, f"Minted callback token {token.prefix}…")
            logger.info(
                "workspace_token.minted",
                extra={
                    "workspace_id": str(workspace.pk),
                    "kind": token.kind,
                    "token_prefix": token.prefix,
                    "actor_id": request.user.pk,
                },
            )
            minted.append({"workspace": workspace, "token": token, "raw": raw})
        response = TemplateResponse(
            request,
            "admin/workspaces/token_minted.html",
            {
                **self.admin_site.each_context(request),
                "opts": self.opts,
                "title": "Callback token minted",
                "minted": minted,
            },
        )
        add_never_cache_headers(response)
        return response

    @admin.action(
        description="Revoke all tokens of the selected workspaces", permissions=["change"]
    )
    def revoke_tokens(self, request: HttpRequest, queryset: QuerySet[Workspace]) -> None:
        revoked = 0
        for workspace in queryset:
            count = tokens_revoke(workspace=workspace, actor_user=request.user)
            revoked += count
            self.log_change(request, workspace, f"Revoked {count} token(s)")
            logger.info(
                "workspace_token.revoked",
                extra={
                    "workspace_id": str(workspace.pk),
                    "count": count,
                    "actor_id": request.user.pk,
                },
            )
        self.message_user(request, f"Revoked {revoked} token(s).", messages.SUCCESS)

    @admin.action(
        description="Stop the selected workspaces and revoke their tokens", permissions=["change"]
    )
    def stop(self, request: HttpRequest, queryset: QuerySet[Workspace]) -> None:
        revoked = 0
        for workspace in queryset:
            revoked += workspace_stop(workspace=workspace, actor_user=request.user)
            self.log_change(request, workspace, "Stopped; tokens revoked")
        self.message_user(
            request,
            f"Stopped {queryset.count()} workspace(s); revoked {revoked} token(s).",
            messages.SUCCESS,
        )


@admin.register(Task)
class TaskAdmin(admin.ModelAdmin):
    list_display = ["title", "workspace", "workspace_user", "agent_credential_source", "created_at"]
    list_filter = ["agent_credential_source"]
    search_fields = ["title", "workspace__name", "workspace__user__username"]
    list_select_related = ["workspace__user"]
    autocomplete_fields = ["workspace"]
    readonly_fields = ["agent_credential_source"]

    @admin.display(description="User", ordering="workspace__user__username")
    def workspace_user(self, obj: Task) -> Any:
        return obj.workspace.user
