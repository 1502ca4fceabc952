from __future__ import annotations

from typing import Any

from django.contrib import admin
from django.http import HttpRequest

from otklik.answers.models import Answer


@admin.register(Answer)
class AnswerAdmin(admin.ModelAdmin):
    """Answers are written and published through the services (UI, API); admin shows them."""

    list_display = ("id", "incident", "kind", "status", "published_at", "link")
    list_filter = ("kind", "status")
    search_fields = ("text", "incident__id")
    list_select_related = ("incident",)

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False
