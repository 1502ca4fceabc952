"""The escalation sweep: warning, overdue and long-overdue notices, each fired once per clock.

Each level is claimed set-wise, in batches, by a conditional `UPDATE … SET <level>_at = now WHERE id IN (the due
ids) AND state = 'running' AND <level>_at IS NULL AND <moment> <= now … RETURNING id` (PostgreSQL and SQLite ≥
3.35): whatever the number of sweeps running at once, a row's level is set by exactly one of them, and only that one
notifies. A batch is notified in bulk: one read of its clocks, the recipients as user ids looked up once per sweep
(the people of all the batch's departments in one query), one multi-row INSERT of the notifications
(otklik.notifications.services.do_notify_bulk) and their e-mails in batched tasks after the commit — a bounded number
of queries whatever the number of due clocks.
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

    Two statements: a SELECT of the due ids, the earliest first, then the conditional `UPDATE … WHERE id IN (…)
    AND <the same condition> RETURNING id`. The UPDATE checks the condition again on every row it stamps
    (PostgreSQL re-reads a row a concurrent sweep holds once that sweep commits), so of two sweeps that selected the
    same clocks only one gets each of them. Run it inside the transaction that also notifies: a sweep that dies
    rolls both back, and the next one claims the rows again — nothing is lost and nothing is sent twice.
    """
    stamp, moment, extra = _LEVELS[EscalationLevel(level)]
    table = Clock._meta.db_table
    condition = f"state = 'running' AND {stamp} IS NULL AND {moment} <= %s {extra}"
    # Raw SQL gets no field conversion: adapt the moment as the backend stores it (SQLite: UTC text).
    value = connection.ops.adapt_datetimefield_value(now)
    params: list[Any] = [value] * condition.count("%s")
    with connection.cursor() as cursor:
        # ORDER BY the level's moment makes PostgreSQL read the level's partial index (sla_clock_*_pending): with a
        # bare LIMIT it may scan the whole table instead, expecting many matches — its statistics cannot see that
        # almost every running clock past its moment is stamped already (0.4 s per level on 1.2 M clocks).
        # The interpolated names are the constants of _LEVELS and the model's table; values go as parameters.
        cursor.execute(
            f"SELECT id FROM {table} WHERE {condition} ORDER BY {moment}, id LIMIT {int(batch)}",  # noqa: S608
            params,
        )
        ids = [row[0] for row in cursor.fetchall()]
        if not ids:
            return []
        marks = ", ".join(["%s"] * len(ids))
        cursor.execute(
            f"UPDATE {table} SET {stamp} = %s WHERE id IN ({marks}) AND {condition} RETURNING id",  # noqa: S608
            [value, *ids, *params],
        )
        return [row[0] for row in cursor.fetchall()]


def sweep(now: dt.datetime | None = None, batch: int = 500) -> dict[str, int]:
    """Claim and notify every level, `batch` clocks per transaction; how many clocks reached each level."""
    now = now or timezone.now()
    counts = {}
    people = _People(now)
    for level in (EscalationLevel.OVERDUE, EscalationLevel.LONG_OVERDUE, EscalationLevel.WARNING):
        total = 0
        while True:
            with transaction.atomic():
                ids = claim(level, now, batch)
                if ids:
                    _notify(level, ids, now, people)
            total += len(ids)
            if len(ids) < batch:
                break
        counts[str(level)] = total
    return counts


class _People:
    """Recipients as user ids (in id order), looked up once per sweep: by role, the acting heads, the people on
    duty, and the executors and heads of every department of a batch together (one query for all of them)."""

    def __init__(self, now: dt.datetime) -> None:
        self.now = now
        self._roles: dict[str, list[int]] = {}
        self._staff: dict[int, dict[str, list[int]]] = {}  # department id → role → user ids
        self.departments: dict[int, Any] = {}  # department id → Department (its name goes in the titles)
        self._heads: list[int] | None = None
        self._duty: list[int] | None = None

    def role(self, role: str) -> list[int]:
        from otklik.accounts.models import User

        if role not in self._roles:
            users = User.objects.filter(role=role, is_active=True).order_by("pk")
            self._roles[role] = list(users.values_list("pk", flat=True))
        return self._roles[role]

    def heads(self) -> list[int]:
        """The acting heads of the service (a delegate replaces a head for the delegation's period)."""
        from otklik.sla.services import acting_heads

        if self._heads is None:
            self._heads = [user.pk for user in acting_heads()]
        return self._heads

    def duty(self) -> list[int]:
        if self._duty is None:
            self._duty = on_duty_ids(self.now)
        return self._duty

    def load_departments(self, department_ids: Iterable[int]) -> None:
        """Read the departments not seen yet in this sweep and their active executors and heads: two queries."""
        from otklik.accounts.models import User
        from otklik.org.models import Department

        missing = {pk for pk in department_ids if pk not in self._staff}
        if not missing:
            return
        self.departments.update(Department.objects.in_bulk(missing))
        for pk in missing:
            self._staff[pk] = {}
        users = User.objects.filter(department__in=missing, role__in=(Role.EXECUTOR, Role.DEPT_HEAD), is_active=True)
        for department_id, role, pk in users.order_by("pk").values_list("department_id", "role", "pk"):
            self._staff[department_id].setdefault(role, []).append(pk)

    def department(self, department_id: int, role: str) -> list[int]:
        self.load_departments((department_id,))
        return self._staff[department_id].get(role, [])


# What _notify reads of a clock: one row each, no model instances.
_CLOCK_COLUMNS = (
    "pk",
    "kind",
    "incident_id",
    "assignment_id",
    "due_at",
    "calendar_time",
    "policy__long_overdue_roles",
    "incident__owner",
    "incident__owner__is_active",
    "assignment__department",
    "assignment__assignee",
    "assignment__assignee__is_active",
)


def _notify(level: str, ids: list[int], now: dt.datetime, people: _People) -> None:
    """Notify the claimed clocks: one read of them, recipients from `people`, one bulk INSERT of the
    notifications (otklik.notifications.services.do_notify_bulk), their e-mails in batched tasks after commit."""
    from otklik.notifications.services import BulkNotice, do_notify_bulk

    rows = [
        dict(zip(_CLOCK_COLUMNS, row, strict=True))
        for row in Clock.objects.filter(pk__in=ids).values_list(*_CLOCK_COLUMNS)
    ]
    people.load_departments({row["assignment__department"] for row in rows if row["assignment_id"]})
    duty = people.duty() if any(row["calendar_time"] for row in rows) and not _in_working_time(now) else []
    due_texts: dict[dt.datetime, str] = {}
    urls = _Urls()
    notices = []
    for row in rows:
        recipients = _recipients(row, level, people)
        if row["calendar_time"]:
            recipients += duty
        due_at = row["due_at"]
        if due_at not in due_texts:
            due_texts[due_at] = _("Due %(due)s.") % {"due": date_format(timezone.localtime(due_at), "DATETIME_FORMAT")}
        department = people.departments.get(row["assignment__department"]) if row["assignment_id"] else None
        kind, title = _title(row["kind"], level, row["incident_id"], department)
        notices.append(
            BulkNotice(
                _unique(recipients),
                kind=kind,
                title=title,
                body=due_texts[due_at],
                url=urls.of(row["assignment_id"], row["incident_id"]),
                # An extension moves due_at, so the level may fire again for the new due time.
                dedup_key=f"clock:{row['pk']}:{level}:{int(due_at.timestamp())}",
                incident_id=row["incident_id"],
                assignment_id=row["assignment_id"],
            )
        )
    do_notify_bulk(notices)
    if level != EscalationLevel.WARNING and notices:
        _post_to_staff_chat(level, notices)


def _post_to_staff_chat(level: str, notices: list) -> None:
    """One message per batch to the staff Telegram chat (if configured): the titles, at most 30 lines."""
    from django.conf import settings

    # As otklik.notifications.telegram.enabled(), without importing that module (and its HTTP client) when off.
    if not (settings.OTKLIK_TELEGRAM_BOT_TOKEN and settings.OTKLIK_TELEGRAM_STAFF_CHAT_ID):
        return
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


def on_duty_ids(now: dt.datetime) -> list[int]:
    """The ids of the people on duty now (as on_duty, in the rota's order), one query."""
    shifts = DutyShift.objects.filter(starts_at__lte=now, ends_at__gt=now, user__is_active=True)
    return list(shifts.values_list("user_id", flat=True))


def _unique(user_ids: list[int]) -> list[int]:
    return list(dict.fromkeys(user_ids))


def _recipients(row: dict[str, Any], level: str, people: _People) -> list[int]:
    recipients: list[int] = []
    if row["assignment_id"] is not None:
        department_id = row["assignment__department"]
        if row["assignment__assignee"] is not None and row["assignment__assignee__is_active"]:
            recipients.append(row["assignment__assignee"])
        else:
            recipients += people.department(department_id, Role.EXECUTOR)
        if level != EscalationLevel.WARNING:
            recipients += people.department(department_id, Role.DEPT_HEAD)
    else:
        if row["incident__owner"] is not None and row["incident__owner__is_active"]:
            recipients.append(row["incident__owner"])
        else:
            recipients += people.role(Role.OPERATOR)
    if level != EscalationLevel.WARNING:
        recipients += people.heads()
    if level == EscalationLevel.LONG_OVERDUE:
        roles = (row["policy__long_overdue_roles"] or "director").split(",")
        for role in sorted({r.strip() for r in roles if r.strip()}):
            recipients += people.role(role)
    return recipients


def _title(kind: str, level: str, incident_id: int, department: Any) -> tuple[str, str]:
    what = ClockKind(kind).label
    target = (
        _("%(department)s, incident #%(id)s") % {"department": department, "id": incident_id}
        if department is not None
        else _("incident #%(id)s") % {"id": incident_id}
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


class _Urls:
    """The link of each clock's notice: reverse() once per URL name, then the id put in (reverse costs tens of µs
    and a sweep may link thousands of clocks)."""

    _MARK = "9876543210"

    def __init__(self) -> None:
        self._parts: dict[str, tuple[str, str] | None] = {}

    def _reverse(self, name: str, pk: int) -> str:
        if name not in self._parts:
            url = reverse(name, args=[int(self._MARK)])
            prefix, _mark, suffix = url.partition(self._MARK)
            self._parts[name] = (prefix, suffix) if url.count(self._MARK) == 1 else None
        parts = self._parts[name]
        if parts is None:  # the mark is not where the id goes: reverse each time
            return reverse(name, args=[pk])
        return f"{parts[0]}{pk}{parts[1]}"

    def of(self, assignment_id: int | None, incident_id: int) -> str:
        if assignment_id:
            return self._reverse("assignment-detail", assignment_id)
        return self._reverse("incident-card", incident_id)
