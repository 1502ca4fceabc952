"""Read-only admin of background work: task runs and the heartbeats of the worker and beat."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.contrib import admin, messages
from django.http import HttpRequest, HttpResponse
from django.utils import timezone
from django.utils.html import format_html
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from otklik.ops.models import Heartbeat, Process, TaskRun, TaskRunStatus

_RED = "#ba2121"
_GREEN = "#2e7d32"
_STATUS_COLOURS: dict[str, str] = {
    TaskRunStatus.DONE: _GREEN,
    TaskRunStatus.FAILED: _RED,
    TaskRunStatus.RETRYING: "#b26a00",
    TaskRunStatus.RUNNING: "#1565c0",
}


def _seconds(seconds: float) -> str:
    seconds = int(seconds)
    if seconds < 120:
        return gettext("%(n)s s") % {"n": seconds}
    if seconds < 7200:
        return gettext("%(n)s min") % {"n": seconds // 60}
    return gettext("%(n)s h") % {"n": seconds // 3600}


class ReadOnlyAdmin(admin.ModelAdmin):
    """Written by the workers only: people look, nobody edits."""

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


@admin.register(Heartbeat)
class HeartbeatAdmin(ReadOnlyAdmin):
    list_display = ("name", "hostname", "last_seen", "age", "state")
    ordering = ("name",)

    @admin.display(description=_("age"))
    def age(self, obj: Heartbeat) -> str:
        return _seconds(obj.age_seconds())

    @admin.display(description=_("state"))
    def state(self, obj: Heartbeat) -> str:
        if obj.is_stale():
            return format_html('<strong style="color: {}">{}</strong>', _RED, gettext("stale"))
        return format_html('<span style="color: {}">{}</span>', _GREEN, gettext("alive"))

    def changelist_view(self, request: HttpRequest, extra_context: dict[str, Any] | None = None) -> HttpResponse:
        now = timezone.now()
        beats = {hb.name: hb for hb in Heartbeat.objects.all()}
        for process in Process:
            beat = beats.get(process.value)
            if beat is None:
                messages.warning(request, gettext("%(process)s has never reported.") % {"process": process.label})
            elif beat.is_stale(now):
                messages.error(
                    request,
                    gettext("%(process)s has been silent for %(age)s (limit %(limit)s).")
                    % {
                        "process": process.label,
                        "age": _seconds(beat.age_seconds(now)),
                        "limit": _seconds(settings.HEARTBEAT_MAX_AGE_SECONDS),
                    },
                )
        return super().changelist_view(request, extra_context)


@admin.register(TaskRun)
class TaskRunAdmin(ReadOnlyAdmin):
    list_display = ("key", "coloured_status", "attempts", "started_at", "finished_at", "took", "short_error")
    list_filter = ("status", "name")
    search_fields = ("key", "last_task_id", "error")
    date_hierarchy = "started_at"
    readonly_fields = (
        "name",
        "key",
        "status",
        "attempts",
        "last_task_id",
        "result",
        "error",
        "started_at",
        "finished_at",
    )

    @admin.display(description=_("status"), ordering="status")
    def coloured_status(self, obj: TaskRun) -> str:
        colour = _STATUS_COLOURS.get(obj.status, "inherit")
        return format_html('<span style="color: {}">{}</span>', colour, obj.get_status_display())

    @admin.display(description=_("took"))
    def took(self, obj: TaskRun) -> str:
        duration = obj.duration
        if duration is None:
            return "—"
        return gettext("%(n).2f s") % {"n": duration.total_seconds()}

    @admin.display(description=_("error"))
    def short_error(self, obj: TaskRun) -> str:
        # The last line of a traceback is the exception and its message.
        lines = obj.error.strip().splitlines()
        return lines[-1][:120] if lines else ""
