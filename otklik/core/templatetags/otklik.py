"""Template tags shared by every page: time left, relative times, status badges."""

from __future__ import annotations

import datetime as dt
from typing import Any

from django import template
from django.utils import timezone
from django.utils.html import format_html
from django.utils.translation import gettext as _
from django.utils.translation import ngettext

from otklik.core.worktime import working_time_between

register = template.Library()

# Long working spans are told in working days of this many hours.
WORKING_DAY_HOURS = 8

# One colour per meaning (UX.md): new — blue, in work — amber, waiting for a department — violet,
# overdue — red, answered — green, closed — grey.
STATUS_CLASSES = {
    "new": "text-bg-primary",
    "triage": "text-bg-warning",
    "routed": "badge-violet",
    "answering": "text-bg-warning",
    "approval": "text-bg-warning",
    "answered": "text-bg-success",
    "closed": "text-bg-secondary",
    "no_answer": "text-bg-secondary",
    "merged": "text-bg-secondary",
    # assignments
    "sent": "badge-violet",
    "submitted": "text-bg-warning",
    "rework": "text-bg-danger",
    "accepted": "text-bg-success",
    "declined": "text-bg-secondary",
    "cancelled": "text-bg-secondary",
    # answers
    "draft": "text-bg-light",
    "published": "text-bg-success",
    "withdrawn": "text-bg-secondary",
    "approved": "text-bg-info",
}


def format_duration(delta: dt.timedelta, day_hours: int = 24) -> str:
    """«2 ч 15 мин», «3 дн 4 ч» for long spans (a day of `day_hours`: 8 for working time), «меньше минуты»."""
    minutes = int(abs(delta).total_seconds() // 60)
    if minutes < 1:
        return _("less than a minute")
    hours, mins = divmod(minutes, 60)
    if hours >= 2 * day_hours:
        days, hours = divmod(hours, day_hours)
        return _("%(d)s d %(h)s h") % {"d": days, "h": hours} if hours else _("%(d)s d") % {"d": days}
    if hours:
        return _("%(h)s h %(m)s min") % {"h": hours, "m": mins} if mins else _("%(h)s h") % {"h": hours}
    return _("%(m)s min") % {"m": mins}


@register.simple_tag
def time_left(due: dt.datetime | None, done: bool = False) -> str:
    """«осталось 2 ч 15 мин (раб.)» or, red and bold, «просрочено на 1 ч 40 мин (раб.)»."""
    if due is None:
        return ""
    now = timezone.now()
    left = working_time_between(now, due)
    absolute = timezone.localtime(due).strftime("%d.%m.%Y %H:%M")
    if done:
        return format_html('<span class="text-body-secondary" title="{}">{}</span>', absolute, _("deadline met"))
    if left.total_seconds() < 0 or due <= now:
        return format_html(
            '<span class="time-left overdue" title="{}">{}</span>',
            absolute,
            _("overdue by %(t)s (working)") % {"t": format_duration(left, WORKING_DAY_HOURS)},
        )
    return format_html(
        '<span class="time-left" title="{}">{}</span>',
        absolute,
        _("%(t)s left (working)") % {"t": format_duration(left, WORKING_DAY_HOURS)},
    )


@register.filter
def ago(value: dt.datetime | None) -> str:
    """«5 мин назад», with the absolute local time on hover (use with `{{ value|ago }}`)."""
    if value is None:
        return ""
    delta = timezone.now() - value
    absolute = timezone.localtime(value).strftime("%d.%m.%Y %H:%M")
    seconds = int(delta.total_seconds())
    if seconds < 60:
        text = _("just now")
    elif seconds < 3600:
        n = seconds // 60
        text = ngettext("%(n)s minute ago", "%(n)s minutes ago", n) % {"n": n}
    elif seconds < 86400:
        n = seconds // 3600
        text = ngettext("%(n)s hour ago", "%(n)s hours ago", n) % {"n": n}
    elif seconds < 7 * 86400:
        n = seconds // 86400
        text = ngettext("%(n)s day ago", "%(n)s days ago", n) % {"n": n}
    else:
        text = absolute
    return format_html('<time datetime="{}" title="{}">{}</time>', value.isoformat(), absolute, text)


@register.simple_tag
def status_badge(status: str, label: Any = None) -> str:
    css = STATUS_CLASSES.get(status, "text-bg-secondary")
    return format_html('<span class="badge {}">{}</span>', css, label if label is not None else status)


@register.simple_tag(takes_context=True)
def url_with(context: Any, **changes: Any) -> str:
    """The current query string with some parameters changed (filters and paging stay in the URL)."""
    query = context["request"].GET.copy()
    for key, value in changes.items():
        if value in (None, ""):
            query.pop(key, None)
        else:
            query[key] = value
    encoded = query.urlencode()
    return f"?{encoded}" if encoded else "?"


@register.filter
def percent(value: float | None) -> str:
    """A share in [0, 1] as «87 %» (a dash when there is none)."""
    if value is None:
        return "—"
    return f"{round(value * 100)} %"


@register.filter
def hours_or_dash(value: float | None) -> str:
    """Hours with one decimal, Russian style («7,5»), or a dash."""
    if value is None:
        return "—"
    return f"{value:.1f}".replace(".", ",")
