"""What the incident, assignment and answer services tell the clocks (called inside their transactions).

Each function keeps the model's own due time (`Incident.due_at`, `Assignment.due_at`) equal to its running clock,
so lists, filters and the API read one column.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from typing import TYPE_CHECKING, Any

from django.db import connections, router
from django.db.models import DateTimeField, Exists, F, Min, OuterRef, QuerySet, Subquery
from django.utils import timezone

from otklik.core.worktime import get_calendar
from otklik.sla.choices import OPEN_STATES, ClockKind, ClockState
from otklik.sla.clocks import deadlines_for, do_pause_clocks, do_resume_clocks, do_start_clock, do_stop_clocks
from otklik.sla.models import Clock

if TYPE_CHECKING:
    from otklik.cases.models import Assignment, Incident

INCIDENT_KINDS = (ClockKind.FIRST_ANSWER, ClockKind.ANSWER, ClockKind.FINAL_ANSWER)
ASSIGNMENT_KINDS = (ClockKind.ASSIGNMENT, ClockKind.REWORK)


_KEEP: Any = object()


def refresh_judgements(incidents: QuerySet[Incident]) -> int:
    """`late_from` and `deadline_met` of these incidents recomputed from their clocks, in one UPDATE (after a bulk
    load or a fix of clocks made outside the services; `_sync_incident` is the same rule for one incident)."""
    own = Clock.objects.filter(incident=OuterRef("pk"), assignment__isnull=True, kind__in=INCIDENT_KINDS)
    first_due = (
        own.filter(state__in=(ClockState.RUNNING, ClockState.MISSED))
        .order_by()
        .values("incident_id")
        .annotate(first=Min("due_at"))
        .values("first")
    )
    return incidents.update(
        late_from=Subquery(first_due, output_field=DateTimeField()),
        deadline_met=Exists(own.filter(state=ClockState.MET)),
    )


def _sync_incident(
    incident: Incident, due_at: Any = _KEEP, *, known: tuple[dt.datetime | None, bool] | None = None
) -> None:
    """The incident's `late_from` and `deadline_met` from its clocks as they are now in this transaction, and its
    `due_at` when given: one UPDATE, after every change of the incident's own clocks. `known`: the two values, when
    the caller has them from clocks it read or started (no subquery then).
    (No instance saves those two — they are not editable, and only the callers of `incident_ended(…,
    saved_by_caller=True)` name them in `update_fields`, right after it set them — so the instance's copies are not
    kept here.)

    The statement is written once per process (`_sync_sql`), not compiled by the ORM each time: this runs for
    every post the analysis merges or routes, and the ORM's compilation of the two subqueries cost more CPU than
    the statement (the ingestion bench: ~1 ms per post)."""
    connection = connections[router.db_for_write(type(incident))]
    ops = connection.ops
    params: list[Any] = []
    if due_at is not _KEEP:
        incident.due_at = due_at
        params.append(ops.adapt_datetimefield_value(due_at))
    if known is not None:
        params += [ops.adapt_datetimefield_value(known[0]), known[1], incident.pk]
        sql = _sync_sql(connection, due=due_at is not _KEEP, known=True)
    else:
        params += [incident.pk, *_OWN_KINDS, str(ClockState.RUNNING), str(ClockState.MISSED)]
        params += [incident.pk, *_OWN_KINDS, str(ClockState.MET), incident.pk]
        sql = _sync_sql(connection, due=due_at is not _KEEP, known=False)
    with connection.cursor() as cursor:
        cursor.execute(sql, params)


_OWN_KINDS = [str(kind) for kind in INCIDENT_KINDS]  # as the raw statement's parameters
_SYNC_SQL: dict[tuple[str, bool, bool], str] = {}


def _sync_sql(connection: Any, *, due: bool, known: bool) -> str:
    """`UPDATE incident SET [due_at = %s,] late_from = …, deadline_met = … WHERE id = %s` for this database: the
    values as parameters (`known`) or as the subqueries of `refresh_judgements`."""
    from otklik.cases.models import Incident

    key = (connection.vendor, due, known)
    sql = _SYNC_SQL.get(key)
    if sql is not None:
        return sql
    quote = connection.ops.quote_name
    column = {field.name: quote(str(field.column)) for field in Incident._meta.concrete_fields}
    clock = {field.name: quote(str(field.column)) for field in Clock._meta.concrete_fields}
    clocks, kinds = quote(Clock._meta.db_table), ", ".join(["%s"] * len(INCIDENT_KINDS))
    own = f"{clock['incident']} = %s AND {clock['assignment']} IS NULL AND {clock['kind']} IN ({kinds})"
    if known:
        values = f"{column['late_from']} = %s, {column['deadline_met']} = %s"
    else:
        values = (
            f"{column['late_from']} = (SELECT MIN({clock['due_at']}) FROM {clocks} "  # noqa: S608 - names
            f"WHERE {own} AND {clock['state']} IN (%s, %s)), "
            f"{column['deadline_met']} = EXISTS(SELECT 1 FROM {clocks} WHERE {own} AND {clock['state']} = %s)"
        )
    prefix = f"{column['due_at']} = %s, " if due else ""
    sql = f"UPDATE {quote(Incident._meta.db_table)} SET {prefix}{values} WHERE {column['id']} = %s"  # noqa: S608
    _SYNC_SQL[key] = sql
    return sql


def incident_created(incident: Incident) -> None:
    """The answer clock (and the first-answer clock when the policy has one) from the incident's creation.

    The incident was created in this transaction: it has no post yet (the intake attaches it right after: no
    channel) and no clock to stop (none is looked for)."""
    deadlines = deadlines_for(incident, channel="")
    start = incident.created_at
    started = []
    if deadlines.first_answer_hours:
        first = do_start_clock(
            ClockKind.FIRST_ANSWER,
            incident=incident,
            hours=deadlines.first_answer_hours,
            start=start,
            deadlines=deadlines,
            new_target=True,
        )
        started.append(first)
    clock = do_start_clock(
        ClockKind.ANSWER,
        incident=incident,
        hours=deadlines.answer_hours,
        start=start,
        deadlines=deadlines,
        new_target=True,
    )
    # Its only clocks, all running: late from the earliest due time, none met.
    _sync_incident(incident, clock.due_at, known=(min(c.due_at for c in [*started, clock]), False))


def incident_classified(incident: Incident) -> None:
    """A topic may bring another policy: the open answer clock is restarted from the incident's creation with it."""
    current = _known_answer_clock(incident)
    if current is _UNKNOWN:
        current = Clock.objects.filter(incident=incident, kind=ClockKind.ANSWER, state__in=OPEN_STATES).first()
    if current is None or incident.answered_at is not None:
        return
    deadlines = deadlines_for(incident)
    if (
        (deadlines.policy.pk if deadlines.policy is not None else None) == current.policy_id
        and deadlines.answer_hours == current.hours
        and deadlines.calendar_time == current.calendar_time
    ):
        return
    clock = do_start_clock(
        ClockKind.ANSWER,
        incident=incident,
        hours=deadlines.answer_hours,
        start=incident.created_at,
        deadlines=deadlines,
    )
    _sync_incident(incident, clock.due_at)


_UNKNOWN: Any = object()

# incident id → (the incident instance, its open answer clock or None), given by `knowing_answer_clock`.
_known_answer_clocks: ContextVar[dict[int, tuple[Incident, Clock | None]] | None] = ContextVar(
    "otklik_known_answer_clocks", default=None
)


@contextmanager
def knowing_answer_clock(incident: Incident, clock: Clock | None) -> Iterator[None]:
    """Inside the block, `incident_classified` on this very instance takes `clock` as its open answer clock (None:
    it has none) instead of reading it, once: the caller read it in the current transaction and holds the incident
    locked, unchanged since (the worker's analysis of a batch reads the answer clocks of the batch's incidents in
    one query)."""
    known = dict(_known_answer_clocks.get() or {})
    known[incident.pk] = (incident, clock)
    token = _known_answer_clocks.set(known)
    try:
        yield
    finally:
        _known_answer_clocks.reset(token)


def _known_answer_clock(incident: Incident) -> Any:
    known = _known_answer_clocks.get()
    entry = known.get(incident.pk) if known is not None else None
    if known is None or entry is None or entry[0] is not incident:
        return _UNKNOWN
    del known[incident.pk]  # good once: the hook may restart the clock
    return entry[1]


def answer_clocks_of(incident_ids: Iterable[int]) -> dict[int, tuple[dt.datetime, Clock]]:
    """incident id → (the incident's `updated_at`, its open answer clock — the first as `incident_classified`
    reads it: by due time, then id), in one query, for those of these incidents that are `new` and have one."""
    from otklik.cases.choices import IncidentStatus

    rows = Clock.objects.filter(
        incident_id__in=list(incident_ids),
        kind=ClockKind.ANSWER,
        state__in=OPEN_STATES,
        incident__status=IncidentStatus.NEW,
    ).annotate(incident_updated_at=F("incident__updated_at"))
    clocks: dict[int, tuple[dt.datetime, Clock]] = {}
    for clock in rows:
        clocks.setdefault(clock.incident_id, (clock.incident_updated_at, clock))
    return clocks


def assignment_started(assignment: Assignment, *, new: bool = False) -> None:
    """The department's clock up to the assignment's due time (set by the routing); `new`: the assignment was
    created in this transaction, so it has no clock to stop yet."""
    do_start_clock(
        ClockKind.ASSIGNMENT,
        incident=assignment.incident,
        assignment=assignment,
        start=assignment.created_at,
        due_at=assignment.due_at,
        new_target=new,
    )


def assignment_answered(assignment: Assignment) -> None:
    """Information submitted, or declined as not the department's competence: the department's clocks are met or
    missed by their due time."""
    do_stop_clocks(incident=assignment.incident, assignment=assignment, kinds=ASSIGNMENT_KINDS, met=True)


def assignment_cancelled(assignment: Assignment) -> None:
    do_stop_clocks(incident=assignment.incident, assignment=assignment, kinds=ASSIGNMENT_KINDS, met=False)


def assignment_rework(assignment: Assignment) -> None:
    """Returned for rework: a clock of its own (the policy's time for a department's information)."""
    deadlines = deadlines_for(assignment.incident)
    do_stop_clocks(incident=assignment.incident, assignment=assignment, kinds=ASSIGNMENT_KINDS, met=False)
    clock = do_start_clock(
        ClockKind.REWORK,
        incident=assignment.incident,
        assignment=assignment,
        hours=deadlines.assignment_hours,
        deadlines=deadlines,
    )
    type(assignment).objects.filter(pk=assignment.pk).update(due_at=clock.due_at)
    assignment.due_at = clock.due_at


def incident_waiting(incident: Incident) -> None:
    """The incident waits for the citizen: its clocks and its departments' pause (the time left is kept)."""
    do_pause_clocks(incident=incident)
    _sync_due(incident)


def incident_resumed(incident: Incident) -> None:
    """The citizen replied: the paused clocks run again, their due times moved by the pause."""
    do_resume_clocks(incident=incident)
    _sync_due(incident)


def _sync_due(incident: Incident) -> None:
    """The model's due times follow the running clocks (answer clock for the incident; each assignment's own)."""
    from otklik.cases.models import Assignment

    due_at: Any = _KEEP
    for clock in Clock.objects.filter(incident=incident, state__in=OPEN_STATES).order_by("created_at"):
        if clock.assignment_id:
            Assignment.objects.filter(pk=clock.assignment_id).update(due_at=clock.due_at)
        elif clock.kind in (ClockKind.ANSWER, ClockKind.FINAL_ANSWER):
            due_at = clock.due_at
    _sync_incident(incident, due_at)


def incident_ended(incident: Incident, *, saved_by_caller: bool = False) -> list[str]:
    """Closed without an answer, merged, or closed: whatever still runs stops (neither met nor missed).

    `saved_by_caller`: the incident's `late_from` and `deadline_met` are set on the instance (from the clocks the
    stop reads) and their names returned, for the caller to save with the status it is about to save — one UPDATE
    of the incident instead of two (each rewrites every index entry of the row: the analysis merges and closes
    many)."""
    # The clocks closed before come with the same read: none runs any more, so the incident is late from its
    # earliest missed clock, and a met one stays met.
    closed: list[Clock] = []
    do_stop_clocks(incident=incident, kinds=(*INCIDENT_KINDS, *ASSIGNMENT_KINDS), met=False, closed=closed)
    own = [clock for clock in closed if clock.assignment_id is None and clock.kind in INCIDENT_KINDS]
    late_from = min((c.due_at for c in own if c.state == ClockState.MISSED), default=None)
    deadline_met = any(c.state == ClockState.MET for c in own)
    if not saved_by_caller:
        _sync_incident(incident, known=(late_from, deadline_met))
        return []
    incident.late_from, incident.deadline_met = late_from, deadline_met
    return ["late_from", "deadline_met"]


def incident_clock_extended(clock: Clock) -> None:
    """An approved extension moved one of the incident's own clocks: its `late_from` follows, and its due time when
    it is the answer clock."""
    due_at = clock.due_at if clock.kind in (ClockKind.ANSWER, ClockKind.FINAL_ANSWER) else _KEEP
    _sync_incident(clock.incident, due_at)


def incident_reopened(incident: Incident) -> None:
    """The problem persists: a new answer clock from now."""
    deadlines = deadlines_for(incident)
    clock = do_start_clock(ClockKind.ANSWER, incident=incident, hours=deadlines.answer_hours, deadlines=deadlines)
    _sync_incident(incident, clock.due_at)


def answer_published(incident: Incident, *, kind: str, promised_date: dt.date | None = None) -> None:
    """The first answer meets the first-answer clock; an intermediate one meets the answer clock and starts the
    final-answer clock (until the promised date, or the policy's working days); a final answer or a refusal meets
    whatever answer clock runs."""
    from otklik.answers.choices import AnswerKind

    do_stop_clocks(incident=incident, kinds=(ClockKind.FIRST_ANSWER,), met=True)
    if kind == AnswerKind.PRIMARY:
        _sync_incident(incident)
        return
    if kind == AnswerKind.INTERMEDIATE:
        do_stop_clocks(incident=incident, kinds=(ClockKind.ANSWER,), met=True)
        deadlines = deadlines_for(incident)
        if promised_date is not None:
            zone = timezone.get_current_timezone()
            end_of_day = dt.datetime.combine(promised_date, dt.time(18, 0), tzinfo=zone)
            periods = get_calendar().periods(promised_date)
            due = periods[-1][1] if periods else end_of_day
            clock = do_start_clock(ClockKind.FINAL_ANSWER, incident=incident, due_at=due, deadlines=deadlines)
        else:
            hours = deadlines.final_answer_days * get_calendar().schedule.day_hours
            clock = do_start_clock(ClockKind.FINAL_ANSWER, incident=incident, hours=hours, deadlines=deadlines)
        _sync_incident(incident, clock.due_at)
        return
    do_stop_clocks(incident=incident, kinds=(ClockKind.ANSWER, ClockKind.FINAL_ANSWER), met=True)
    _sync_incident(incident)
