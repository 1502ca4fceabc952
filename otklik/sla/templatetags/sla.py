"""`{% clock_chip clock %}`: a deadline as a person reads it — what, whose, state and the time left."""

from __future__ import annotations

from django import template
from django.utils import timezone
from django.utils.html import format_html
from django.utils.translation import gettext as _

from otklik.core.templatetags.otklik import WORKING_DAY_HOURS, format_duration
from otklik.sla.choices import ClockKind, ClockView
from otklik.sla.clocks import clock_status
from otklik.sla.models import Clock

register = template.Library()

_CLASSES = {
    ClockView.ON_TIME: "text-bg-light border",
    ClockView.WARNING: "text-bg-warning",
    ClockView.OVERDUE: "text-bg-danger",
    ClockView.PAUSED: "text-bg-secondary",
    ClockView.MET: "text-bg-success",
    ClockView.MISSED: "text-bg-danger bg-opacity-75",
    ClockView.STOPPED: "text-bg-light border text-body-secondary",
}


@register.simple_tag
def clock_chip(clock: Clock) -> str:
    status = clock_status(clock)
    what = str(ClockKind(clock.kind).label)
    if clock.assignment_id and clock.assignment is not None:
        what = f"{what}: {clock.assignment.department}"
    due = timezone.localtime(clock.due_at).strftime("%d.%m.%Y %H:%M")
    unit = _("calendar") if clock.calendar_time else _("working")
    day = 24 if clock.calendar_time else WORKING_DAY_HOURS
    if status.view in {ClockView.ON_TIME, ClockView.WARNING}:
        detail = _("%(t)s left (%(unit)s)") % {"t": format_duration(status.left, day), "unit": unit}
    elif status.view == ClockView.OVERDUE:
        detail = _("overdue by %(t)s (%(unit)s)") % {
            "t": format_duration(-status.left, day),
            "unit": unit,
        }
    elif status.view == ClockView.PAUSED:
        detail = _("paused, %(t)s left") % {"t": format_duration(status.left, day)}
    else:
        detail = status.label
    return format_html(
        '<span class="badge clock-chip {}" title="{}">{} · <span class="time-left">{}</span></span>',
        _CLASSES.get(ClockView(status.view), ""),
        _("due %(due)s") % {"due": due},
        what,
        detail,
    )
