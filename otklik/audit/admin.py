"""The security log in the Django admin: read-only (no add, change or delete for anyone, superusers included)."""

from __future__ import annotations

from typing import Any

from django.contrib import admin
from django.http import HttpRequest

from otklik.audit.models import AuditRecord


@admin.register(AuditRecord)
class AuditRecordAdmin(admin.ModelAdmin):  # type: ignore[type-arg]
    list_display = ["at", "username", "role", "ip", "action", "object_type", "object_id", "object_repr", "origin"]
    # Filters with fixed choices only: a DISTINCT over a table that grows forever would slow the page down.
    list_filter = ["action"]
    search_fields = ["username", "object_id", "object_repr", "ip", "path", "request_id", "note"]
    show_full_result_count = False  # the log grows forever: no COUNT(*) of the whole table
    list_select_related = False
    readonly_fields = [f.name for f in AuditRecord._meta.fields]
    actions = None

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_view_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        user = request.user
        return bool(user.is_active and (user.is_superuser or getattr(user, "role", "") in {"head", "admin"}))
