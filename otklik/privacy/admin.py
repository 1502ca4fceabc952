from __future__ import annotations

from typing import Any

from django.contrib import admin
from django.http import HttpRequest

from otklik.privacy.models import PersonalDataRequest


@admin.register(PersonalDataRequest)
class PersonalDataRequestAdmin(admin.ModelAdmin):
    """The proof of fulfilled requests: read-only."""

    list_display = ["created_at", "kind", "person_hint", "posts", "incidents", "done_by", "reason"]
    list_filter = ["kind", "channel"]
    search_fields = ["person_hint", "reason"]
    date_hierarchy = "created_at"

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False
