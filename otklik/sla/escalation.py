"""The escalation sweep: warning, overdue and long-overdue notices, each fired once per clock.

Each level is claimed set-wise by one conditional `UPDATE … SET <level>_at = now WHERE state = 'running' AND
<level>_at IS NULL AND <moment> <= now … RETURNING id` (PostgreSQL and SQLite ≥ 3.35), in batches: whatever the
number of sweeps running at once, a row's level is set by exactly one of them, and only that one notifies.
Recipients:
- warning (the policy's share of the time, 80 % by default): the executor (the assignee, else the department's
  people) for an assignment; the incident's operator (else the operators) for the incident's own clocks;
- overdue: the same, plus the department head and the head of the service;
- long overdue: the roles of the policy (the director by default) and the head of the service.
A 24/7 clock escalating outside working time also notifies the operators on duty (otklik.sla.models.DutyShift).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from typing import Any

from django.db import connection, transaction
from django.urls import reverse
from django.utils import timezone
from django.utils.formats import date_format
from django.utils.translation import gettext as _

from otklik.accounts.choices import Role
from otklik.core.worktime import get_calendar
from otklik.notifications.choices import NotificationKind
from otklik.sla.choices import ClockKind, EscalationLevel
from otklik.sla.models import Clock, DutyShift

BATCH = 5000

_LEVELS = {
    EscalationLevel.WARNING: ("warned_at", "warn_at", "AND due_at > %s"),
    EscalationLevel.OVERDUE: ("overdue_at", "due_at", ""),
    EscalationLevel.LONG_OVERDUE: ("long_overdue_at", "long_due_at", "AND overdue_at IS NOT NULL"),
}


def claim(level: str, now: dt.datetime, batch: int = BATCH) -> list[int]:
    """Set the level's moment on at most `batch` due running clocks not yet at that level; the ids this call set.

    Run it inside the transaction that also notifies: a sweep that dies rolls both back, and the next one claims
    the rows again — nothing is lost and nothing is sent twice.
    """
    stamp, moment, extra = _LEVELS[EscalationLevel(level)]
    table = Clock._meta.db_table
    condition = f"state = 'running' AND {stamp} IS NULL AND {moment} <= %s {extra}"
    # The interpolated names are the constants of _LEVELS and the model's table; values go as parameters.
    sql = (
        f"UPDATE {table} SET {stamp} = %s WHERE {condition} "  # noqa: S608
        f"AND id IN (SELECT id FROM {table} WHERE {condition} LIMIT {int(batch)}) RETURNING id"
    )
    # Raw SQL gets no field conversion: adapt the moment as the backend stores it (SQLite: UTC text).
    value = connection.ops.adapt_datetimefield_value(now)
    params: list[Any] = [value] * (1 + 2 * condition.count("%s"))
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        return [row[0] for row in cursor.fetchall()]


def sweep(now: dt.datetime | None = None, batch: int = 500) -> dict[str, int]:
    """Claim and notify every level, `batch` clocks per transaction; how many clocks reached each level."""
    now = now or timezone.now()
    counts = {}
    people = _People()
    for level in (EscalationLevel.OVERDUE, EscalationLevel.LONG_OVERDUE, EscalationLevel.WARNING):
        total = 0
        while True:
            with transaction.atomic():
                ids = claim(level, now, batch)
                _notify(level, ids, now, people)
            total += len(ids)
            if len(ids) < batch:
                break
        counts[str(level)] = total
    return counts


class _People:
    """Recipients looked up once per sweep: by role, and a department's people by role."""

    def __init__(self) -> None:
        self._roles: dict[str, list] = {}
        self._departments: dict[tuple[int, str], list] = {}
        self.duty: list | None = None
        self._heads: list | None = None

    def role(self, role: str) -> list:
        from otklik.accounts.models import User

        if role not in self._roles:
            self._roles[role] = list(User.objects.filter(role=role, is_active=True))
        return self._roles[role]

    def heads(self) -> list:
        """The acting heads of the service (a delegate replaces a head for the delegation's period)."""
        from otklik.sla.services import acting_heads

        if self._heads is None:
            self._heads = acting_heads()
        return self._heads

    def department(self, department_id: int, role: str) -> list:
        from otklik.accounts.models import User

        key = (department_id, role)
        if key not in self._departments:
            self._departments[key] = list(User.objects.filter(department=department_id, role=role, is_active=True))
        return self._departments[key]


def _notify(level: str, ids: list[int], now: dt.datetime, people: _People) -> None:
    from otklik.notifications.services import Notice, do_notify_many

    notices = []
    clocks = Clock.objects.filter(pk__in=ids).select_related(
        "incident__owner", "assignment__department", "assignment__assignee", "policy"
    )
    for clock in clocks:
        recipients = _recipients(clock, level, people)
        if clock.calendar_time and not _in_working_time(now):
            if people.duty is None:
                people.duty = list(on_duty(now))
            recipients += people.duty
        kind, title = _title(clock, level)
        notices.append(
            Notice(
                _unique(recipients),
                kind=kind,
                title=title,
                body=_("Due %(due)s.") % {"due": date_format(timezone.localtime(clock.due_at), "DATETIME_FORMAT")},
                url=_url(clock),
                dedup_key=f"clock:{clock.pk}:{level}:{int(clock.due_at.timestamp())}",  # an extension may fire it again
                incident_id=clock.incident_id,
                assignment_id=clock.assignment_id,
            )
        )
    do_notify_many(notices)
    if level != EscalationLevel.WARNING and notices:
        _post_to_staff_chat(level, notices)


def _post_to_staff_chat(level: str, notices: list) -> None:
    """One message per batch to the staff Telegram chat (if configured): the titles, at most 30 lines."""
    from django.conf import settings

    from otklik.notifications.telegram import do_post_to_staff_chat

    base = settings.SITE_URL.rstrip("/")
    lines = [f"• {n.title}" + (f" — {base}{n.url}" if base else "") for n in notices[:30]]
    if len(notices) > 30:
        lines.append(_("…and %(n)d more.") % {"n": len(notices) - 30})
    header = EscalationLevel(level).label
    do_post_to_staff_chat(f"{header}: {len(notices)}\n" + "\n".join(lines), dedup_key=f"sla:{notices[0].dedup_key}")


def _in_working_time(now: dt.datetime) -> bool:
    calendar = get_calendar()
    local = timezone.localtime(now)
    return any(begin <= local < end for begin, end in calendar.periods(local.date()))


def on_duty(now: dt.datetime) -> Iterable:
    return [s.user for s in DutyShift.objects.filter(starts_at__lte=now, ends_at__gt=now, user__is_active=True)]


def _unique(users: list) -> list:
    seen: set[int] = set()
    out = []
    for user in users:
        if user.pk not in seen:
            seen.add(user.pk)
            out.append(user)
    return out


def _recipients(clock: Clock, level: str, people: _People) -> list:
    recipients: list = []
    assignment = clock.assignment
    if assignment is not None:
        if assignment.assignee is not None and assignment.assignee.is_active:
            recipients.append(assignment.assignee)
        else:
            recipients += people.department(assignment.department_id, Role.EXECUTOR)
        if level != EscalationLevel.WARNING:
            recipients += people.department(assignment.department_id, Role.DEPT_HEAD)
    else:
        owner = clock.incident.owner
        if owner is not None and owner.is_active:
            recipients.append(owner)
        else:
            recipients += people.role(Role.OPERATOR)
    if level != EscalationLevel.WARNING:
        recipients += people.heads()
    if level == EscalationLevel.LONG_OVERDUE:
        roles = (clock.policy.long_overdue_roles if clock.policy else "director").split(",")
        for role in {r.strip() for r in roles if r.strip()}:
            recipients += people.role(role)
    return recipients


def _title(clock: Clock, level: str) -> tuple[str, str]:
    what = ClockKind(clock.kind).label
    target = (
        _("%(department)s, incident #%(id)s") % {"department": clock.assignment.department, "id": clock.incident_id}
        if clock.assignment is not None
        else _("incident #%(id)s") % {"id": clock.incident_id}
    )
    if level == EscalationLevel.WARNING:
        return NotificationKind.DEADLINE_WARNING, _("Deadline is near: %(what)s, %(target)s") % {
            "what": what,
            "target": target,
        }
    if level == EscalationLevel.OVERDUE:
        return NotificationKind.DEADLINE_OVERDUE, _("Overdue: %(what)s, %(target)s") % {"what": what, "target": target}
    return NotificationKind.DEADLINE_LONG_OVERDUE, _("Long overdue: %(what)s, %(target)s") % {
        "what": what,
        "target": target,
    }


def _url(clock: Clock) -> str:
    if clock.assignment_id:
        return reverse("assignment-detail", args=[clock.assignment_id])
    return reverse("incident-card", args=[clock.incident_id])
