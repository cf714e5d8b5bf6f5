"""Admin building blocks every app's admin pages share: who may see what.

Platform keys, proxy settings and the catalog are for superusers alone; records nobody
edits (usage, tokens) are shown read-only; the audit trail has its own read-only page.
"""

from typing import Any

from django.contrib import admin
from django.http import HttpRequest


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
    """A record nobody edits here (usage): listed and viewed only."""

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


class ReadOnlyInline(admin.TabularInline):
    """Rows shown on their parent's page (tokens, tasks), never edited there."""

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
