from __future__ import annotations

from typing import Any

from django.contrib import admin
from django.http import HttpRequest

from otklik.sla.models import CalendarDay, WorkSchedule


@admin.register(CalendarDay)
class CalendarDayAdmin(admin.ModelAdmin):
    list_display = ("date", "kind", "note", "updated_at")
    list_filter = ("kind",)
    search_fields = ("note",)
    date_hierarchy = "date"


@admin.register(WorkSchedule)
class WorkScheduleAdmin(admin.ModelAdmin):
    list_display = ("__str__", "break_start", "break_end", "shortened_by_minutes", "updated_at")

    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return not WorkSchedule.objects.exists()
