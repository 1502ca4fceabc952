from __future__ import annotations

from typing import Any

from django.contrib import admin
from django.http import HttpRequest

from otklik.sla.models import CalendarDay, Clock, Delegation, DutyShift, ExtensionRequest, SlaPolicy, WorkSchedule


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


@admin.register(SlaPolicy)
class SlaPolicyAdmin(admin.ModelAdmin):
    list_display = (
        "name",
        "group",
        "topic",
        "priority",
        "channel",
        "assignment_hours",
        "answer_hours",
        "calendar_time",
        "order",
        "is_active",
    )
    list_filter = ("is_active", "calendar_time", "priority", "channel")
    search_fields = ("name", "group__name", "topic__name")
    autocomplete_fields = ("group", "topic")


@admin.register(Clock)
class ClockAdmin(admin.ModelAdmin):
    list_display = ("incident", "assignment", "kind", "state", "due_at", "warned_at", "overdue_at", "long_overdue_at")
    list_filter = ("kind", "state", "calendar_time")
    raw_id_fields = ("incident", "assignment", "policy")
    date_hierarchy = "due_at"


@admin.register(DutyShift)
class DutyShiftAdmin(admin.ModelAdmin):
    list_display = ("user", "starts_at", "ends_at", "note")
    date_hierarchy = "starts_at"
    raw_id_fields = ("user",)


@admin.register(ExtensionRequest)
class ExtensionRequestAdmin(admin.ModelAdmin):
    list_display = ("clock", "hours", "status", "requested_by", "created_at", "decided_by", "decided_at")
    list_filter = ("status",)
    raw_id_fields = ("clock", "requested_by", "decided_by")
    readonly_fields = ("old_due_at", "new_due_at", "created_at", "decided_at")


@admin.register(Delegation)
class DelegationAdmin(admin.ModelAdmin):
    """Kept for the record: delegations are revoked, never deleted."""

    list_display = ("head", "acting", "starts_at", "ends_at", "reason", "revoked_at")
    raw_id_fields = ("head", "acting", "created_by", "revoked_by")
    readonly_fields = ("created_by", "created_at", "revoked_at", "revoked_by")

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False
