"""Spikes in Django admin: a read-only list (the detector creates and ends them)."""

from __future__ import annotations

from typing import Any

from django.contrib import admin
from django.http import HttpRequest

from otklik.nlp.models import Spike


@admin.register(Spike)
class SpikeAdmin(admin.ModelAdmin):
    list_display = ("detected_at", "kind", "key", "window", "count", "baseline", "is_active", "notified_at")
    list_filter = ("kind", "window", "is_active")
    search_fields = ("key",)
    date_hierarchy = "detected_at"
    readonly_fields = (
        "kind",
        "key",
        "window",
        "count",
        "baseline",
        "incident_ids",
        "is_active",
        "detected_at",
        "last_seen_at",
        "ended_at",
        "notified_at",
    )

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False
