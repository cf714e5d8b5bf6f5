"""Admin site branding, and the access rules several admin pages share."""

from typing import Any

from django.contrib import admin
from django.http import HttpRequest

admin.site.site_header = "SAM control plane"
admin.site.site_title = "SAM admin"
admin.site.index_title = "Keys, workspaces and the AI proxy"
# "View site" leads to the page users see.
admin.site.site_url = "/settings/agents/"


class SuperuserOnly:
    """Platform keys and proxy settings: superusers alone, whatever a staff member was granted."""

    def has_module_permission(self, request: HttpRequest) -> bool:
        return bool(request.user.is_active and request.user.is_superuser)

    def has_view_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return self.has_module_permission(request)

    def has_add_permission(self, request: HttpRequest, *args: Any) -> bool:
        return self.has_module_permission(request)

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return self.has_module_permission(request)

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return self.has_module_permission(request)


class ReadOnlyAdmin(admin.ModelAdmin):
    """A record nobody edits here (usage, audit events): listed and viewed only."""

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


class ReadOnlyInline(admin.TabularInline):
    """Rows shown on their parent's page (tokens, tasks, audit events), never edited there."""

    extra = 0
    max_num = 0
    can_delete = False
    show_change_link = False

    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    # Part of the parent's page: whoever may see the parent sees these.
    def has_view_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return True
