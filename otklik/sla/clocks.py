"""Clocks: start, pause, resume and stop the deadlines of incidents and assignments (service functions).

A clock counts working hours on the city's calendar (otklik.core.worktime) or, for a 24/7 policy, calendar hours.
Starting computes `warn_at` (the policy's share of the time, 80 % by default), `due_at` and `long_due_at`; pausing
keeps the time left; resuming computes new moments from the time left; stopping records the time used in working
and in calendar hours and whether the deadline was met.
"""

from __future__ import annotations

import datetime as dt
from contextlib import AbstractContextManager, nullcontext
from contextvars import ContextVar
from dataclasses import dataclass
from decimal import Decimal
from typing import TYPE_CHECKING

from django.conf import settings
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from otklik.core.collecting import collecting
from otklik.core.errors import IllegalTransition
from otklik.core.rowcache import RowCache
from otklik.core.worktime import WorkCalendar, get_calendar
from otklik.sla.choices import CLOCK_TRANSITIONS, OPEN_STATES, ClockKind, ClockState, ClockView, PolicyPriority
from otklik.sla.models import Clock, SlaPolicy

if TYPE_CHECKING:
    from otklik.cases.models import Assignment, Incident


@dataclass(frozen=True)
class Deadlines:
    """What a policy gives (defaults from settings when no policy matches)."""

    policy: SlaPolicy | None
    first_answer_hours: Decimal | None
    assignment_hours: Decimal
    answer_hours: Decimal
    final_answer_days: int
    calendar_time: bool
    warn_fraction: float
    long_overdue_hours: Decimal


def _default_deadlines(priority: bool) -> Deadlines:
    answer = settings.OTKLIK_ANSWER_HOURS_PRIORITY if priority else settings.OTKLIK_ANSWER_HOURS
    return Deadlines(
        policy=None,
        first_answer_hours=None,
        assignment_hours=Decimal(str(settings.OTKLIK_ASSIGNMENT_HOURS)),
        answer_hours=Decimal(str(answer)),
        final_answer_days=7,
        calendar_time=False,
        warn_fraction=0.8,
        long_overdue_hours=Decimal("8"),
    )


def select_policy(*, group_id: int | None, topic_id: int | None, priority: bool, channel: str = "") -> SlaPolicy | None:
    """The most specific active policy: topic over group over none; a channel over any; a priority over any;
    then the lowest `order`."""
    wanted = {PolicyPriority.ANY, PolicyPriority.HIGH if priority else PolicyPriority.NORMAL}
    candidates = [
        p
        for p in active_policies()
        if (
            (p.topic_id is None and p.group_id is None)
            or (p.topic_id is None and group_id and p.group_id == group_id)
            or (topic_id and p.topic_id == topic_id)
        )
        and p.priority in wanted
        and p.channel in {"", channel}
    ]
    return min(
        candidates,
        key=lambda p: (
            p.topic_id is None,
            p.group_id is None,
            not p.channel,
            p.priority == PolicyPriority.ANY,
            p.order,
            p.pk,
        ),
        default=None,
    )


# Active policies, read once a minute per process (at once after a save in this process); a city has a few dozen,
# and every new post asks for its deadlines several times.
_policies: RowCache[list[SlaPolicy]] = RowCache(
    lambda: list(SlaPolicy.objects.filter(is_active=True).select_related("topic")), ["sla.SlaPolicy"]
)


def active_policies() -> list[SlaPolicy]:
    return _policies.get()


def reset_policies() -> None:
    """Forget the cached policies (and the remembered channels of incidents: tests reuse ids)."""
    _policies.reset()
    _channels.clear()


def deadlines_for(incident: Incident, *, channel: str | None = None) -> Deadlines:
    """The deadlines of the policy that applies to `incident`; `channel` when the caller knows it (a brand-new
    incident has no post yet: "")."""
    priority = bool(incident.topic_id and _topic_priority(incident))
    if channel is None:
        channel = _channel_of(incident)
    policy = select_policy(group_id=incident.group_id, topic_id=incident.topic_id, priority=priority, channel=channel)
    if policy is None:
        return _default_deadlines(priority)
    answer = policy.answer_hours
    return Deadlines(
        policy=policy,
        first_answer_hours=policy.first_answer_hours,
        assignment_hours=policy.assignment_hours,
        answer_hours=answer,
        final_answer_days=policy.final_answer_days,
        calendar_time=policy.calendar_time,
        warn_fraction=policy.warn_at_percent / 100,
        long_overdue_hours=policy.long_overdue_hours,
    )


def _topic_priority(incident: Incident) -> bool:
    """The incident's topic is a priority (★) one; the topic row as loaded on the incident, else from the cache."""
    if type(incident).topic.is_cached(incident):
        return bool(incident.topic and incident.topic.priority)
    return incident.topic_id in _priority_topics.get()


# Ids of the priority (★) topics, read once a minute per process (at once after a save in this process).
def _load_priority_topics() -> frozenset[int]:
    from otklik.org.models import Topic

    return frozenset(Topic.objects.filter(priority=True).values_list("pk", flat=True))


_priority_topics: RowCache[frozenset[int]] = RowCache(_load_priority_topics, ["org.Topic"])


def _channel_of(incident: Incident) -> str:
    """The channel of the incident's first post (remembered per process: it never changes)."""
    cached = _channels.get(incident.pk)
    if cached is None:
        cached = incident.posts.order_by("created_at", "pk").values_list("source__channel", flat=True).first()
        if cached is None:
            return ""  # no post yet (the intake attaches it right after creating the incident): not remembered
        if len(_channels) > 20_000:
            _channels.clear()
        _channels[incident.pk] = cached
    return cached


def remember_channel(incident_id: int, channel: str) -> None:
    """The caller holds the incident's only post: its channel is the incident's (no query for it later)."""
    if len(_channels) > 20_000:
        _channels.clear()
    _channels[incident_id] = channel


# incident id → the channel of its first post; bounded.
_channels: dict[int, str] = {}


def _advance(calendar: WorkCalendar, calendar_time: bool, start: dt.datetime, seconds: float) -> dt.datetime:
    if calendar_time:
        return start + dt.timedelta(seconds=seconds)
    return calendar.add(start, dt.timedelta(seconds=seconds))


def _used(calendar: WorkCalendar, calendar_time: bool, start: dt.datetime, end: dt.datetime) -> float:
    if calendar_time:
        return (end - start).total_seconds()
    return calendar.between(start, end).total_seconds()


def do_start_clock(
    kind: str,
    *,
    incident: Incident,
    hours: Decimal | float | None = None,
    assignment: Assignment | None = None,
    start: dt.datetime | None = None,
    deadlines: Deadlines | None = None,
    due_at: dt.datetime | None = None,
    new_target: bool = False,
) -> Clock:
    """Start a clock of `hours` from `start` (now) — or up to a given `due_at` — ; an open clock of the same kind and
    target is stopped first (`new_target`: the incident or assignment was created in this transaction and has no
    clock yet: none is looked for, and the one INSERT needs no savepoint)."""
    deadlines = deadlines or deadlines_for(incident)
    start = start or timezone.now()
    calendar = get_calendar()
    calendar_time = deadlines.calendar_time
    if due_at is not None:
        hours = Decimal(str(round(_used(calendar, calendar_time, start, due_at) / 3600, 2)))
    if hours is None:
        raise ValueError("give hours or due_at")
    total = float(hours) * 3600
    deferred = _deferred_clocks.get() if new_target else None
    if deferred is not None:
        if due_at is None:
            due_at = _advance(calendar, calendar_time, start, total)
        clock = _new_clock(kind, incident, assignment, deadlines, calendar, calendar_time, hours, start, total, due_at)
        deferred.append(clock)  # inserted with the others at the end of the block (see deferring_clocks)
        return clock
    # No savepoint of its own inside a caller's transaction: an error rolls back with the caller's unit.
    with transaction.atomic(savepoint=False) if not new_target else nullcontext():
        previous = (
            Clock.objects.none()
            if new_target
            else Clock.objects.select_for_update().filter(
                kind=kind, incident=incident, assignment=assignment, state__in=OPEN_STATES
            )
        )
        for old in previous:
            _stop(old, ClockState.STOPPED, start, calendar)
        if due_at is None:
            due_at = _advance(calendar, calendar_time, start, total)
        clock = _new_clock(kind, incident, assignment, deadlines, calendar, calendar_time, hours, start, total, due_at)
        clock.save(force_insert=True)
        return clock


def _new_clock(
    kind: str,
    incident: Incident,
    assignment: Assignment | None,
    deadlines: Deadlines,
    calendar: WorkCalendar,
    calendar_time: bool,
    hours: Decimal | float,
    start: dt.datetime,
    total: float,
    due_at: dt.datetime,
) -> Clock:
    return Clock(
        kind=kind,
        incident=incident,
        assignment=assignment,
        policy=deadlines.policy,
        calendar_time=calendar_time,
        hours=Decimal(str(hours)),
        started_at=start,
        warn_at=_advance(calendar, calendar_time, start, total * deadlines.warn_fraction),
        due_at=due_at,
        long_due_at=_advance(calendar, calendar_time, due_at, float(deadlines.long_overdue_hours) * 3600),
    )


# The clocks of new targets started inside a `deferring_clocks` block, in the order started.
_deferred_clocks: ContextVar[list[Clock] | None] = ContextVar("otklik_deferred_clocks", default=None)


def deferring_clocks() -> AbstractContextManager[None]:
    """Inside the block the clocks `do_start_clock` starts for a new target (`new_target`: an incident or an
    assignment created in this transaction, with no clock to stop) are collected instead of inserted one by one:
    they are inserted in one statement (bulk_create, in the order started, with the moments computed when they
    were started) when the block ends without an error — or handed to an enclosing block. An error drops them (the
    caller rolls its transaction or savepoint back with their targets). For callers that do not read such a clock
    back from the database inside the block (the worker's analysis of a batch: the clocks of the assignments its
    routings create); the returned clock has its id only after the insert."""
    return collecting(_deferred_clocks, Clock.objects.bulk_create)


def _check(clock: Clock, to: str) -> None:
    if to not in CLOCK_TRANSITIONS[clock.state]:
        raise IllegalTransition(
            _("A clock in state «%(from)s» cannot go to «%(to)s».")
            % {"from": ClockState(clock.state).label, "to": ClockState(to).label}
        )


def _stop(clock: Clock, state: str, at: dt.datetime, calendar: WorkCalendar) -> Clock:
    """Close a clock; the time used excludes the pauses, in working and in calendar hours."""
    _check(clock, state)
    end = clock.paused_at if clock.state == ClockState.PAUSED and clock.paused_at else at
    clock.state = state
    clock.stopped_at = end
    clock.elapsed_working_seconds = max(
        0.0, calendar.between(clock.started_at, end).total_seconds() - clock.paused_working_seconds
    )
    clock.elapsed_calendar_seconds = max(0.0, (end - clock.started_at).total_seconds() - clock.paused_calendar_seconds)
    clock.save(update_fields=["state", "stopped_at", "elapsed_working_seconds", "elapsed_calendar_seconds"])
    return clock


def do_stop_clocks(
    *,
    incident: Incident,
    kinds: tuple[str, ...],
    assignment: Assignment | None = None,
    at: dt.datetime | None = None,
    met: bool = True,
    closed: list[Clock] | None = None,
) -> list[Clock]:
    """Stop the open clocks of these kinds: `met` (the thing was done) → met or missed by the due time; otherwise
    stopped (cancelled, no longer needed). `closed`: the same read also gives the clocks of these kinds closed
    before, appended to this list (the caller judges the incident from all its clocks without a read more)."""
    at = at or timezone.now()
    calendar = get_calendar()
    stopped = []
    with transaction.atomic(savepoint=False):  # inside a caller's transaction, no savepoint of its own
        clocks = Clock.objects.select_for_update().filter(incident=incident, kind__in=kinds)
        if closed is None:
            clocks = clocks.filter(state__in=OPEN_STATES)
        if assignment is not None:
            clocks = clocks.filter(assignment=assignment)
        for clock in clocks:
            if clock.state not in OPEN_STATES:
                closed.append(clock)  # type: ignore[union-attr] # read only when a list was given
                continue
            if clock.state == ClockState.PAUSED:
                clock = _resume(clock, at, calendar)
            on_time = at <= clock.due_at
            state = (ClockState.MET if on_time else ClockState.MISSED) if met else ClockState.STOPPED
            stopped.append(_stop(clock, state, at, calendar))
    return stopped


def do_pause_clocks(*, incident: Incident, at: dt.datetime | None = None) -> int:
    """Pause the running clocks of an incident (it waits for the citizen): the time left is kept."""
    at = at or timezone.now()
    calendar = get_calendar()
    paused = 0
    with transaction.atomic():
        for clock in Clock.objects.select_for_update().filter(incident=incident, state=ClockState.RUNNING):
            _check(clock, ClockState.PAUSED)
            clock.remaining_seconds = _used(calendar, clock.calendar_time, at, clock.due_at)
            clock.state = ClockState.PAUSED
            clock.paused_at = at
            clock.save(update_fields=["state", "paused_at", "remaining_seconds"])
            paused += 1
    return paused


def _resume(clock: Clock, at: dt.datetime, calendar: WorkCalendar) -> Clock:
    """Run again from `at` with the time that was left; an overdue clock stays overdue (its due time is kept)."""
    _check(clock, ClockState.RUNNING)
    paused_at = clock.paused_at or at
    clock.paused_calendar_seconds += max(0.0, (at - paused_at).total_seconds())
    clock.paused_working_seconds += max(0.0, calendar.between(paused_at, at).total_seconds())
    remaining = clock.remaining_seconds or 0.0
    if remaining > 0:
        total = float(clock.hours) * 3600
        fraction = (clock.policy.warn_at_percent / 100) if clock.policy else 0.8
        clock.due_at = _advance(calendar, clock.calendar_time, at, remaining)
        warn_left = total * fraction - (total - remaining)
        clock.warn_at = _advance(calendar, clock.calendar_time, at, max(0.0, warn_left))
        long_hours = float(clock.policy.long_overdue_hours) if clock.policy else 8.0
        clock.long_due_at = _advance(calendar, clock.calendar_time, clock.due_at, long_hours * 3600)
    clock.state = ClockState.RUNNING
    clock.paused_at = None
    clock.remaining_seconds = None
    clock.save(
        update_fields=[
            "state",
            "paused_at",
            "remaining_seconds",
            "due_at",
            "warn_at",
            "long_due_at",
            "paused_calendar_seconds",
            "paused_working_seconds",
        ]
    )
    return clock


def do_resume_clocks(*, incident: Incident, at: dt.datetime | None = None) -> int:
    """Resume the paused clocks of an incident; their due moments move by the time they were paused."""
    at = at or timezone.now()
    calendar = get_calendar()
    with transaction.atomic():
        clocks = list(Clock.objects.select_for_update().filter(incident=incident, state=ClockState.PAUSED))
        for clock in clocks:
            _resume(clock, at, calendar)
    return len(clocks)


@dataclass(frozen=True)
class ClockStatus:
    view: str
    due_at: dt.datetime
    left: dt.timedelta  # working (or calendar) time left; negative when overdue

    @property
    def label(self) -> str:
        return str(ClockView(self.view).label)


def clock_status(clock: Clock, now: dt.datetime | None = None) -> ClockStatus:
    """How the clock looks now: on time, warning, overdue, paused, met, missed or stopped, and the time left."""
    now = now or timezone.now()
    calendar = get_calendar()
    if clock.state == ClockState.PAUSED:
        return ClockStatus(ClockView.PAUSED, clock.due_at, dt.timedelta(seconds=clock.remaining_seconds or 0))
    if clock.state != ClockState.RUNNING:
        return ClockStatus(str(clock.state), clock.due_at, dt.timedelta(0))
    left = dt.timedelta(seconds=_used(calendar, clock.calendar_time, now, clock.due_at))
    if now >= clock.due_at:
        view = ClockView.OVERDUE
    elif now >= clock.warn_at:
        view = ClockView.WARNING
    else:
        view = ClockView.ON_TIME
    return ClockStatus(view, clock.due_at, left)


__all__ = [
    "ClockKind",
    "Deadlines",
    "deferring_clocks",
    "clock_status",
    "deadlines_for",
    "do_pause_clocks",
    "do_resume_clocks",
    "do_start_clock",
    "do_stop_clocks",
    "select_policy",
]
