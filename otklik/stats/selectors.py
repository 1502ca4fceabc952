"""The figures of the dashboard and of `GET /api/v1/stats` for a period of city days (docs/STATS.md).

Which rows count (every figure is computed for the period [start, end] of city-local days, Asia/Yekaterinburg):

- **incidents** — incidents created in the period, except those merged into another one (their posts moved there);
  narrowed by the filters: `group` (the incident's group), `department` (its *lead* department, as the inbox filter
  does), `channel` (it has a post from that channel, as the inbox filter does).
- **posts** — posts written (`posted_at`) in the period; the filters apply through their incident (group, lead
  department) and their source's channel.
- **assignments** — assignments created in the period, except cancelled ones: exactly the rows of the department
  scorecard (`otklik.sla.scorecard`); the filters apply as `department` = the assignment's department, `group` and
  `channel` through its incident.

The figures:

1. `answered` — incidents whose final answer (a final answer or a refusal) was published: `answered_at` is set. They
   reached `answered`/`closed`; a later reopening does not take it back.
2. `on_time_share` — of the *judged* incidents, those that kept every answer deadline. An incident's answer
   deadlines are its own clocks (first answer, answer, final answer after an intermediate one; the department's
   clocks do not count). It is *late* when one of them was missed, or one still runs past its due time now; it is
   *on time* when at least one was met and none is late; otherwise (nothing due yet, or stopped without an answer)
   it is not judged. The same rule as the scorecard's for assignments.
3. `first_answer_*` / `final_answer_*` — the time from the incident's creation to its first published answer (any
   kind) / to its final answer, over the incidents that have one: the median and the 90th percentile (linear
   interpolation between the closest ranks). Working hours come from the clock that measured exactly that interval
   when there is one (the first-answer clock; or the answer clock started at the creation and met or missed within
   a minute of the answer), which leaves out the time spent waiting for the citizen; otherwise the city's working
   calendar between the two moments. `*_calendar_hours` are the same in calendar hours.
4. `overdue_now` — open incidents whose due time has passed, now, whatever their creation date (the inbox's
   «Просроченные» view under the same filters).
5. `satisfied_share` — of the incidents whose final answer was published in the period (their first final answer
   in the period; merged ones left out; the same filters), those whose citizen was satisfied: not reopened after
   that answer, and a `satisfied` follow-up or a survey answered "solved" (`otklik.satisfaction.stats`, the same
   population and classes as docs/SATISFACTION.md). Its population differs from `answered`'s on purpose: it is
   counted by the time of the answer, not of the incident's creation.
6. `reopened_share` — of the answered incidents, those reopened at least once (a `reopened` event).
7. `rework_share` / `not_competent_share` — of the assignments, those returned for rework at least once / declined
   as not the department's competence (the scorecard's `rework_share` / `declined_share`).
8. `negative_share` — of the posts, those with negativity ≥ 0.5; the mood index is this share per day, against the
   baseline: the same share over the 28 days before the period.
9. `by_group`, `by_department` — the same figures per group (incidents) and per department (assignments; on time by
   the scorecard's rule: information submitted, or the assignment declined, by its due time; open past due is late).

Every share is in [0, 1], or None when its denominator is zero.
"""

from __future__ import annotations

import datetime as dt
import math
from bisect import bisect_right
from collections import defaultdict
from contextlib import AbstractContextManager, nullcontext
from dataclasses import dataclass, field, replace
from functools import cached_property
from typing import Any

from django.db import connection
from django.db.models import (
    BigIntegerField,
    BooleanField,
    Case,
    CharField,
    Count,
    DateTimeField,
    Exists,
    ExpressionWrapper,
    F,
    FloatField,
    Func,
    IntegerField,
    Max,
    Min,
    OuterRef,
    Q,
    QuerySet,
    Subquery,
    Value,
    When,
)
from django.db.models.expressions import RawSQL
from django.db.models.functions import Coalesce, TruncDate
from django.utils import timezone

from otklik.answers.choices import AnswerKind, AnswerStatus
from otklik.answers.models import Answer
from otklik.cases.choices import OPEN_STATUSES, AssignmentStatus, EventVerb, IncidentStatus
from otklik.cases.models import Assignment, Event, Incident, ReworkComment
from otklik.core.pg import local_settings
from otklik.core.worktime import city_zone, get_calendar
from otklik.intake.models import Post
from otklik.org.models import Department, TopicGroup
from otklik.sla.choices import ClockKind, ClockState
from otklik.sla.models import Clock
from otklik.sla.scorecard import period_bounds

NEGATIVE_AT = 0.5
BASELINE_DAYS = 28
TOP_PLACES = 10
# A place enters «mood by place» with at least this many posts in the period.
PLACE_MOOD_MIN_POSTS = 3
INCIDENT_CLOCKS = (ClockKind.FIRST_ANSWER, ClockKind.ANSWER, ClockKind.FINAL_ANSWER)
# A clock stopped by the publication of an answer stops in the same transaction, a moment after the answer's time.
SAME_MOMENT = dt.timedelta(minutes=1)


@dataclass(frozen=True)
class StatsFilters:
    group: TopicGroup | None = None
    department: Department | None = None
    channel: str = ""


@dataclass(frozen=True)
class Durations:
    """Hours from the creation of an incident to an answer: median and 90th percentile, working and calendar."""

    count: int = 0
    median_hours: float | None = None
    p90_hours: float | None = None
    median_calendar_hours: float | None = None
    p90_calendar_hours: float | None = None

    @classmethod
    def of(cls, working: list[float], calendar: list[float]) -> Durations:
        # Sorted once here: `percentile` sorts again, in linear time on sorted input.
        working, calendar = sorted(working), sorted(calendar)
        return cls(
            count=len(working),
            median_hours=percentile(working, 0.5),
            p90_hours=percentile(working, 0.9),
            median_calendar_hours=percentile(calendar, 0.5),
            p90_calendar_hours=percentile(calendar, 0.9),
        )


@dataclass(frozen=True)
class GroupRow:
    group_id: int | None
    group: str | None
    incidents: int
    on_time: int
    judged: int
    posts: int = 0
    negative: int = 0

    @property
    def on_time_share(self) -> float | None:
        return share(self.on_time, self.judged)

    @property
    def negative_share(self) -> float | None:
        return share(self.negative, self.posts)


@dataclass(frozen=True)
class DepartmentRow:
    department_id: int
    department: str
    assignments: int
    on_time: int
    judged: int
    rework: int
    declined: int

    @property
    def on_time_share(self) -> float | None:
        return share(self.on_time, self.judged)

    @property
    def rework_share(self) -> float | None:
        return share(self.rework, self.assignments)

    @property
    def declined_share(self) -> float | None:
        return share(self.declined, self.assignments)


@dataclass(frozen=True)
class DayVolume:
    day: dt.date
    by_group: dict[int | None, int]  # group id → incidents created that day

    @property
    def total(self) -> int:
        return sum(self.by_group.values())


@dataclass(frozen=True)
class DayMood:
    day: dt.date
    posts: int
    negative: int

    @property
    def negative_share(self) -> float | None:
        return share(self.negative, self.posts)


@dataclass(frozen=True)
class DayAnswerTime:
    day: dt.date
    first_answer_median_hours: float | None
    count: int


@dataclass(frozen=True)
class Place:
    territory_id: int | None
    name: str
    incidents: int


@dataclass(frozen=True)
class PlaceMood:
    """The mood of one place: a territory, or the address of incidents without a territory (docs/STATS.md)."""

    territory_id: int | None
    name: str
    posts: int
    negative: int
    baseline_posts: int = 0
    baseline_negative: int = 0

    @property
    def negative_share(self) -> float | None:
        return share(self.negative, self.posts)

    @property
    def baseline_share(self) -> float | None:
        return share(self.baseline_negative, self.baseline_posts)


@dataclass
class Stats:
    start: dt.date
    end: dt.date
    filters: StatsFilters
    now: dt.datetime
    posts: int = 0
    negative_posts: int = 0
    incidents: int = 0
    answered: int = 0
    on_time: int = 0
    judged: int = 0
    reopened: int = 0
    overdue_now: int = 0
    # The satisfaction population: incidents with a final answer published in the period, and the satisfied ones.
    satisfaction_total: int = 0
    satisfied: int = 0
    first_answer: Durations = field(default_factory=Durations)
    final_answer: Durations = field(default_factory=Durations)
    by_group: list[GroupRow] = field(default_factory=list)
    by_department: list[DepartmentRow] = field(default_factory=list)
    volume: list[DayVolume] = field(default_factory=list)
    mood: list[DayMood] = field(default_factory=list)
    mood_baseline: float | None = None
    answer_time: list[DayAnswerTime] = field(default_factory=list)
    territories: list[Place] = field(default_factory=list)
    addresses: list[Place] = field(default_factory=list)
    place_mood: list[PlaceMood] = field(default_factory=list)  # `place_mood` with its defaults

    @property
    def assignments(self) -> int:
        return sum(r.assignments for r in self.by_department)

    @property
    def on_time_share(self) -> float | None:
        return share(self.on_time, self.judged)

    @property
    def satisfied_share(self) -> float | None:
        return share(self.satisfied, self.satisfaction_total)

    @property
    def reopened_share(self) -> float | None:
        return share(self.reopened, self.answered)

    @property
    def rework_share(self) -> float | None:
        return share(sum(r.rework for r in self.by_department), self.assignments)

    @property
    def not_competent_share(self) -> float | None:
        return share(sum(r.declined for r in self.by_department), self.assignments)

    @property
    def assignments_on_time_share(self) -> float | None:
        return share(sum(r.on_time for r in self.by_department), sum(r.judged for r in self.by_department))

    @property
    def negative_share(self) -> float | None:
        return share(self.negative_posts, self.posts)

    @cached_property
    def days(self) -> list[dt.date]:
        """The period's days (built once: the figures read them for every grouped row)."""
        return [self.start + dt.timedelta(days=n) for n in range((self.end - self.start).days + 1)]


def share(part: int, whole: int) -> float | None:
    return part / whole if whole else None


def percentile(values: list[float], q: float) -> float | None:
    """The q-quantile with linear interpolation between the closest ranks (q=0.5 is the median)."""
    if not values:
        return None
    ordered = sorted(values)
    position = (len(ordered) - 1) * q
    low, high = math.floor(position), math.ceil(position)
    return ordered[low] + (ordered[high] - ordered[low]) * (position - low)


# --- the rows that count ---------------------------------------------------------------------------------------


def _channel_incidents(channel: str) -> QuerySet[Post, Any]:
    return Post.objects.filter(source__channel=channel, incident__isnull=False).values("incident_id")


def incidents_in_period(start: dt.date, end: dt.date, filters: StatsFilters) -> QuerySet[Incident]:
    since, until = period_bounds(start, end)
    return _filter_incidents(
        Incident.objects.filter(created_at__gte=since, created_at__lt=until).exclude(status=IncidentStatus.MERGED),
        filters,
    )


def _filter_incidents(queryset: QuerySet[Incident], filters: StatsFilters) -> QuerySet[Incident]:
    if filters.group is not None:
        queryset = queryset.filter(group=filters.group)
    if filters.department is not None:
        queryset = queryset.filter(lead_department=filters.department)
    if filters.channel:
        queryset = queryset.filter(pk__in=_channel_incidents(filters.channel))
    return queryset


def assignments_in_period(start: dt.date, end: dt.date, filters: StatsFilters) -> QuerySet[Assignment]:
    since, until = period_bounds(start, end)
    queryset = Assignment.objects.filter(created_at__gte=since, created_at__lt=until).exclude(
        status=AssignmentStatus.CANCELLED
    )
    if filters.group is not None:
        queryset = queryset.filter(incident__group=filters.group)
    if filters.department is not None:
        queryset = queryset.filter(department=filters.department)
    if filters.channel:
        queryset = queryset.filter(incident_id__in=_channel_incidents(filters.channel))
    return queryset


def posts_between(since: dt.datetime, until: dt.datetime, filters: StatsFilters) -> QuerySet[Post]:
    queryset = Post.objects.filter(posted_at__gte=since, posted_at__lt=until)
    if filters.group is not None:
        queryset = queryset.filter(incident__group=filters.group)
    if filters.department is not None:
        queryset = queryset.filter(incident__lead_department=filters.department)
    if filters.channel:
        queryset = queryset.filter(source__channel=filters.channel)
    return queryset


def overdue_incidents(filters: StatsFilters, now: dt.datetime) -> QuerySet[Incident]:
    """Open incidents past their due time now (the inbox's «overdue» view)."""
    return _filter_incidents(
        Incident.objects.filter(status__in=list(OPEN_STATUSES), due_at__lt=now),
        filters,
    )


def filter_on_time(
    queryset: QuerySet[Incident], *, on_time: bool, now: dt.datetime | None = None
) -> QuerySet[Incident]:
    """The incidents of `queryset` judged on time (`on_time=True`) or late (False) by exactly the rule of
    `on_time_share` (the module's docstring, 2): the inbox's `on_time=1|0` filter, from the two columns the clock
    hooks keep (`Incident.late_from` before now: late; `Incident.deadline_met`): at 1M posts the list's counters
    probed the clocks of ~60,000 incidents (docs/BENCHMARKS.md)."""
    late = Q(late_from__lt=now or timezone.now())
    return queryset.filter(late) if not on_time else queryset.filter(deadline_met=True).exclude(late)


# --- the figures -----------------------------------------------------------------------------------------------


def compute_stats(
    start: dt.date,
    end: dt.date,
    filters: StatsFilters | None = None,
    *,
    now: dt.datetime | None = None,
) -> Stats:
    """All the figures for [start, end] (a fixed number of queries, whatever the volume)."""
    filters = filters or StatsFilters()
    now = now or timezone.now()
    stats = Stats(start=start, end=end, filters=filters, now=now)
    incidents = incidents_in_period(start, end, filters)
    with figures_queries():
        _incident_figures(stats, incidents)
        stats.overdue_now = overdue_incidents(filters, now).count()
        _durations(stats, incidents)
        _places(stats, incidents)
        _department_figures(stats, assignments_in_period(start, end, filters))
        _mood(stats)
        _satisfaction(stats)
    return stats


def figures_queries() -> AbstractContextManager[None]:
    """Run the figures' queries without PostgreSQL's JIT compilation. Their plans are costed high (a month of a
    big city), so PostgreSQL compiles them with inlining and optimisation, which took longer than the queries
    themselves (2.6 s of JIT for a 0.5 s query at 1M posts, EXPLAIN ANALYZE)."""
    return local_settings(jit="off")


def city_day(field_name: str, days: list[dt.date]) -> Func | TruncDate:
    """The city day of the moment `field_name` among `days` (consecutive; every moment counted falls in one of
    them); read it with `day_of`. PostgreSQL: the day's number by `width_bucket` over the days' first moments — a
    binary search by comparison, where converting each row's moment to the city's time zone cost more than the
    rest of the mood query (1M posts: ~40 of ~80 ms); elsewhere the date in the city's zone."""
    if connection.vendor != "postgresql":
        return TruncDate(field_name, tzinfo=city_zone())
    zone = city_zone()
    starts = [dt.datetime.combine(day, dt.time(0), tzinfo=zone) for day in days]
    return Func(
        F(field_name), RawSQL("%s::timestamptz[]", (starts,)), function="width_bucket", output_field=IntegerField()
    )


def day_of(value: int | dt.date, days: list[dt.date]) -> dt.date:
    """The day of a `city_day` value: PostgreSQL's day number (1 = days[0]) or the date itself."""
    if isinstance(value, dt.date):
        return value
    if not 1 <= value <= len(days):
        raise ValueError(f"a moment outside the days {days[0]}–{days[-1]}")
    return days[value - 1]


_LATE, _MET = 2, 1  # the worst of an incident's answer clocks (else 0, or None without any)


def _incident_figures(stats: Stats, incidents: QuerySet[Incident]) -> None:
    """The incident counts, in total, per group and per day and group (the volume chart), from one grouped query:
    each incident is judged once (late / on time / not judged by rule 2, answered, reopened) and counted per (city
    day, group, judgement, answered, reopened); the totals are the sums."""
    # Per incident, the worst of its answer clocks: 2 late (missed, or running past due now), 1 met, 0 neither —
    # from the two columns the clock hooks keep (`late_from`, `deadline_met`; a subquery over the clocks per incident
    # took two thirds of this query at 1M posts).
    worst = Case(
        When(late_from__lt=stats.now, then=_LATE),
        When(deadline_met=True, then=_MET),
        default=0,
        output_field=IntegerField(),
    )
    answered = Q(answered_at__isnull=False)
    rows = (
        incidents.annotate(worst_clock=worst)
        .annotate(
            is_answered=ExpressionWrapper(answered, output_field=BooleanField()),
            # Reopened counts among the answered only: the subquery runs for them only.
            was_reopened=Case(
                When(answered, then=Exists(Event.objects.filter(incident=OuterRef("pk"), verb=EventVerb.REOPENED))),
                default=Value(False),
                output_field=BooleanField(),
            ),
        )
        .annotate(day=city_day("created_at", stats.days))
        .values_list("day", "group_id", "worst_clock", "is_answered", "was_reopened")
        .annotate(n=Count("pk"))
        # Unordered: hashed (sorting the incidents by group name took as long as the judgement).
        .order_by()
    )
    # Per group [incidents, on time, judged]; plain lists and locals: a month has thousands of rows.
    per_group: dict[int | None, list[int]] = {}
    volume: dict[dt.date, dict[int | None, int]] = defaultdict(dict)
    incidents_n = answered_n = on_time_n = judged_n = reopened_n = 0
    for day_value, group_id, worst_clock, is_answered, was_reopened, n in rows:
        day = day_of(day_value, stats.days)
        volume[day][group_id] = volume[day].get(group_id, 0) + n
        on_time, judged = (n if worst_clock == _MET else 0), (n if worst_clock in (_LATE, _MET) else 0)
        counts = per_group.get(group_id)
        if counts is None:
            counts = per_group[group_id] = [0, 0, 0]
        counts[0] += n
        counts[1] += on_time
        counts[2] += judged
        incidents_n += n
        answered_n += n if is_answered else 0
        on_time_n += on_time
        judged_n += judged
        reopened_n += n if is_answered and was_reopened else 0
    stats.incidents += incidents_n
    stats.answered += answered_n
    stats.on_time += on_time_n
    stats.judged += judged_n
    stats.reopened += reopened_n
    groups = {pk: GroupRow(pk, None, *counts) for pk, counts in per_group.items()}
    # By name in the database's collation, the incidents without a group last; the stable sort puts the largest
    # groups first.
    named = TopicGroup.objects.filter(pk__in=[pk for pk in groups if pk is not None]).order_by("name", "pk")
    ordered = [replace(groups[pk], group=name) for pk, name in named.values_list("pk", "name")]
    ordered += [groups[None]] if None in groups else []
    stats.by_group = sorted(ordered, key=lambda r: -r.incidents)
    stats.volume = [DayVolume(day, volume.get(day, {})) for day in stats.days]


def _micros(field_name: str) -> Func:
    """PostgreSQL: the moment as whole microseconds since the epoch (exact; integers load several times faster
    than datetimes, which matters for the tens of thousands of rows of a month)."""
    return Func(
        F(field_name),
        template="(EXTRACT(EPOCH FROM %(expressions)s) * 1000000)::bigint",
        output_field=BigIntegerField(),
    )


def _to_micros(moment: dt.datetime) -> int:
    return (moment - EPOCH) // ONE_MICROSECOND


EPOCH = dt.datetime(1970, 1, 1, tzinfo=dt.UTC)
ONE_MICROSECOND = dt.timedelta(microseconds=1)


class _WorkingTime:
    """The city's working calendar as a running total: `at(t)` is the working time (µs) from the first day given up
    to t, so that at(b) - at(a) equals `WorkCalendar.between(a, b)` exactly (both sum the same periods in whole
    microseconds), in one binary search instead of a walk over the days."""

    def __init__(self, first_day: dt.date, last_day: dt.date) -> None:
        calendar = get_calendar()
        self.begins: list[int] = []
        self.ends: list[int] = []
        self.before: list[int] = []  # working time of the periods before this one
        total = 0
        day = first_day
        while day <= last_day:
            for begin, end in calendar.periods(day):
                self.begins.append(_to_micros(begin))
                self.ends.append(_to_micros(end))
                self.before.append(total)
                total += self.ends[-1] - self.begins[-1]
            day += dt.timedelta(days=1)

    def at(self, moment: int) -> int:
        index = bisect_right(self.begins, moment) - 1
        if index < 0:
            return 0
        return self.before[index] + min(moment, self.ends[index]) - self.begins[index]

    def between(self, start: int, end: int) -> int:
        return self.at(end) - self.at(start)


def _durations(stats: Stats, incidents: QuerySet[Incident]) -> None:
    """Steps: 1. one query: per answered incident its moments (µs since the epoch) and the working time of the clock
    that measured each interval, if one did (rule 3: the first-answer clock, or the answer clock started at the
    creation and stopped within SAME_MOMENT of the answer; the first such by the clocks' order); 2. in Python, the
    working calendar for the intervals no clock measured; 3. quantiles. `tests/stats/test_fast_figures.py` checks
    it against the former per-incident computation."""
    measured = Clock.objects.filter(
        incident=OuterRef("pk"),
        assignment__isnull=True,
        state__in=(ClockState.MET, ClockState.MISSED),
        stopped_at__isnull=False,
        elapsed_working_seconds__isnull=False,
    ).order_by("due_at", "pk")

    def answer_clock(moment: str) -> Q:
        return Q(
            kind=ClockKind.ANSWER,
            started_at=OuterRef("created_at"),
            stopped_at__gte=ExpressionWrapper(OuterRef(moment) - SAME_MOMENT, output_field=DateTimeField()),
            stopped_at__lte=ExpressionWrapper(OuterRef(moment) + SAME_MOMENT, output_field=DateTimeField()),
        )

    answered = (
        incidents.filter(first_answered_at__isnull=False)
        .order_by()
        .annotate(
            first_clock=Subquery(
                measured.filter(Q(kind=ClockKind.FIRST_ANSWER) | answer_clock("first_answered_at")).values(
                    "elapsed_working_seconds"
                )[:1],
                output_field=FloatField(),
            ),
            final_clock=Subquery(
                measured.filter(answer_clock("answered_at")).values("elapsed_working_seconds")[:1],
                output_field=FloatField(),
            ),
        )
    )
    if connection.vendor == "postgresql":
        query = answered.annotate(
            created_us=_micros("created_at"),
            first_us=_micros("first_answered_at"),
            answered_us=_micros("answered_at"),
        ).values_list("created_us", "first_us", "answered_us", "first_clock", "final_clock")
        # Read by the cursor itself: bigint and float8 come as int and float already, and Django's per-value
        # converters cost more than the rest of the loop (tens of thousands of rows).
        sql, params = query.query.sql_with_params()
        with connection.cursor() as cursor:
            cursor.execute(sql, params)
            rows = cursor.fetchall()
    else:
        rows = [
            (
                _to_micros(created),
                _to_micros(first_at),
                None if answered_at is None else _to_micros(answered_at),
                first_clock,
                final_clock,
            )
            for created, first_at, answered_at, first_clock, final_clock in answered.values_list(
                "created_at", "first_answered_at", "answered_at", "first_clock", "final_clock"
            )
            if first_at is not None  # filtered by the query; for the type checker
        ]
    zone = city_zone()
    day_starts = [_to_micros(dt.datetime.combine(day, dt.time(0), tzinfo=zone)) for day in stats.days]
    # The working calendar over the days from the first creation to the last answer.
    first_micros = min((row[0] for row in rows), default=day_starts[0])
    last_micros = max((row[1] if row[2] is None or row[2] < row[1] else row[2] for row in rows), default=day_starts[0])
    working = _WorkingTime(
        (EPOCH + dt.timedelta(microseconds=first_micros)).astimezone(zone).date(),
        (EPOCH + dt.timedelta(microseconds=last_micros)).astimezone(zone).date(),
    )
    first_working: list[float] = []
    first_calendar: list[float] = []
    final_working: list[float] = []
    final_calendar: list[float] = []
    per_day: list[list[float]] = [[] for _day in stats.days]
    # Bound once: tens of thousands of rows.
    between, add_first, add_first_calendar = working.between, first_working.append, first_calendar.append
    add_final, add_final_calendar = final_working.append, final_calendar.append
    for created, first_at, answered_at, first_clock, final_clock in rows:
        # As `timedelta.total_seconds()`: whole microseconds / 10**6.
        seconds = first_clock if first_clock is not None else between(created, first_at) / 10**6
        hours = seconds / 3600
        add_first(hours)
        add_first_calendar((first_at - created) / 10**6 / 3600)
        per_day[bisect_right(day_starts, created) - 1].append(hours)
        if answered_at is not None:
            seconds = final_clock if final_clock is not None else between(created, answered_at) / 10**6
            add_final(seconds / 3600)
            add_final_calendar((answered_at - created) / 10**6 / 3600)
    stats.first_answer = Durations.of(first_working, first_calendar)
    stats.final_answer = Durations.of(final_working, final_calendar)
    stats.answer_time = [
        DayAnswerTime(day, percentile(values, 0.5), len(values))
        for day, values in zip(stats.days, per_day, strict=True)
    ]


def _places(stats: Stats, incidents: QuerySet[Incident]) -> None:
    territories = (
        incidents.filter(territory__isnull=False)
        .values("territory_id", "territory__name")
        .annotate(n=Count("pk"))
        .order_by("-n", "territory__name")[:TOP_PLACES]
    )
    stats.territories = [Place(r["territory_id"], r["territory__name"], r["n"]) for r in territories]
    addresses = (
        incidents.exclude(address="").values("address").annotate(n=Count("pk")).order_by("-n", "address")[:TOP_PLACES]
    )
    stats.addresses = [Place(None, r["address"], r["n"]) for r in addresses]


def _department_figures(stats: Stats, assignments: QuerySet[Assignment]) -> None:
    """Per department, by the scorecard's rules (`otklik.sla.scorecard`), aggregated in the database."""
    declined = Q(status=AssignmentStatus.DECLINED)
    rows = (
        assignments.annotate(
            done_at=Coalesce(F("submitted_at"), Case(When(declined, then=F("updated_at")))),
            reworked=Exists(ReworkComment.objects.filter(assignment=OuterRef("pk"))),
        )
        .values("department_id", "department__name")
        .annotate(
            n=Count("pk"),
            on_time=Count("pk", filter=Q(due_at__isnull=False, done_at__isnull=False, done_at__lte=F("due_at"))),
            late=Count(
                "pk",
                filter=Q(due_at__isnull=False)
                & (Q(done_at__isnull=False, done_at__gt=F("due_at")) | Q(done_at__isnull=True, due_at__lt=stats.now)),
            ),
            rework=Count("pk", filter=Q(reworked=True)),
            declined=Count("pk", filter=declined),
        )
        .order_by()
    )
    result = [
        DepartmentRow(
            department_id=row["department_id"],
            department=row["department__name"],
            assignments=row["n"],
            on_time=row["on_time"],
            judged=row["on_time"] + row["late"],
            rework=row["rework"],
            declined=row["declined"],
        )
        for row in rows
    ]
    # The scorecard's order: the least punctual first.
    result.sort(key=lambda r: (r.on_time_share if r.on_time_share is not None else 2.0, -r.assignments, r.department))
    stats.by_department = result


def _mood(stats: Stats) -> None:
    """The mood per day and its baseline (one query); the posts per group and the mood by place (one query:
    `_post_counts`)."""
    since, until = period_bounds(stats.start, stats.end)
    negative = Q(negative__gte=NEGATIVE_AT)
    # One pass over the period and the BASELINE_DAYS before it, per city day: the days before the period make the
    # baseline.
    per_day: dict[dt.date, tuple[int, int]] = {}
    baseline_posts = baseline_negative = 0
    days = [stats.start - dt.timedelta(days=n) for n in range(BASELINE_DAYS, 0, -1)] + stats.days
    for row in (
        posts_between(since - dt.timedelta(days=BASELINE_DAYS), until, stats.filters)
        .annotate(day=city_day("posted_at", days))
        .values("day")
        # Counts of columns in the index on posted_at (not of the id): an index-only scan on PostgreSQL.
        .annotate(n_posts=Count("posted_at"), n_negative=Count("negative", filter=negative))
        .order_by()
    ):
        day = day_of(row["day"], days)
        if day < stats.start:
            baseline_posts += row["n_posts"]
            baseline_negative += row["n_negative"]
        else:
            per_day[day] = (row["n_posts"], row["n_negative"])
    stats.mood = [DayMood(day, *per_day.get(day, (0, 0))) for day in stats.days]
    stats.posts = sum(n for n, _neg in per_day.values())
    stats.negative_posts = sum(neg for _n, neg in per_day.values())
    stats.mood_baseline = share(baseline_negative, baseline_posts)
    counts = _post_counts(stats.filters, since, until)
    group_mood: dict[int | None, tuple[int, int]] = {}
    for (group_id, _place), (n, negative_n, _n_before, _negative_before) in counts.items():
        posts, negative_posts = group_mood.get(group_id, (0, 0))
        group_mood[group_id] = (posts + n, negative_posts + negative_n)
    stats.by_group = [
        GroupRow(
            group_id=row.group_id,
            group=row.group,
            incidents=row.incidents,
            on_time=row.on_time,
            judged=row.judged,
            posts=group_mood.get(row.group_id, (0, 0))[0],
            negative=group_mood.get(row.group_id, (0, 0))[1],
        )
        for row in stats.by_group
    ]
    stats.place_mood = _place_mood(counts)


PlaceKey = tuple[int | None, str]
# The place of incidents with neither a territory nor an address: not a place (their posts count for their group).
NO_PLACE: PlaceKey = (None, "")
Counts = tuple[int, int, int, int]


NESTED_LOOP_SPAN = dt.timedelta(days=120)


def _post_counts(
    filters: StatsFilters, since: dt.datetime, until: dt.datetime
) -> dict[tuple[int | None, PlaceKey], Counts]:
    """(posts, negative) written in [since, until) and (posts, negative) in the BASELINE_DAYS before `since`, of the
    posts with an incident under the filters, per (the incident's group, its place: the territory, else the address,
    else NO_PLACE) — one grouped query, for the posts per group and the mood by place both (each joined the posts to
    the incidents, the most costly part)."""
    negative = Q(negative__gte=NEGATIVE_AT)
    current, before = Q(posted_at__gte=since), Q(posted_at__lt=since)
    counts: dict[tuple[int | None, PlaceKey], Counts] = {}
    rows = (
        posts_between(since - dt.timedelta(days=BASELINE_DAYS), until, filters)
        .filter(incident__isnull=False)
        .annotate(
            place_address=Case(
                When(incident__territory__isnull=True, then=F("incident__address")),
                default=Value(""),
                output_field=CharField(),
            )
        )
        .values("incident__group_id", "incident__territory_id", "incident__territory__name", "place_address")
        .annotate(
            n_now=Count("posted_at", filter=current),
            negative_now=Count("negative", filter=current & negative),
            n_before=Count("posted_at", filter=before),
            negative_before=Count("negative", filter=before & negative),
        )
        .order_by()
    )
    # Up to a quarter of posts (a month and its baseline: ~165,000 at 1M), each post's incident is looked up by its
    # primary key in a nested loop; PostgreSQL's own choice, a hash join, reads all the incidents of the city
    # (700,000) to find them (1M posts: ~320 → ~260 ms). And the rows are grouped in a hash table (a few hundred
    # groups: the groups × the places) instead of sorted by group and address, which PostgreSQL picks as it expects
    # a group per row (~245 → ~200 ms). Longer periods keep the hash join. (A covering index on the incidents' id,
    # group, territory and address made it ~210 ms, but cost every write of an incident an index entry more, which
    # the ingestion's speed could not spare.)
    span = until - since + dt.timedelta(days=BASELINE_DAYS)
    hint = (
        local_settings(enable_hashjoin="off", enable_mergejoin="off", enable_sort="off")
        if span <= NESTED_LOOP_SPAN
        else nullcontext()
    )
    with hint:
        fetched = list(rows)
    for row in fetched:
        if row["incident__territory_id"] is not None:
            place: PlaceKey = (row["incident__territory_id"], row["incident__territory__name"])
        else:
            place = (None, row["place_address"])
        counts[(row["incident__group_id"], place)] = (
            row["n_now"],
            row["negative_now"],
            row["n_before"],
            row["negative_before"],
        )
    return counts


def _place_mood(
    counts: dict[tuple[int | None, PlaceKey], Counts],
    *,
    min_posts: int = PLACE_MOOD_MIN_POSTS,
    limit: int = TOP_PLACES,
) -> list[PlaceMood]:
    per_place: dict[PlaceKey, Counts] = {}
    for (_group, place), values in counts.items():
        if place != NO_PLACE:
            previous = per_place.get(place, (0, 0, 0, 0))
            per_place[place] = (
                previous[0] + values[0],
                previous[1] + values[1],
                previous[2] + values[2],
                previous[3] + values[3],
            )
    rows = [
        PlaceMood(key[0], key[1], n, negative, baseline_n, baseline_negative)
        for key, (n, negative, baseline_n, baseline_negative) in per_place.items()
        if n and n >= min_posts  # a place with posts in the period only
    ]
    rows.sort(key=lambda r: (-(r.negative_share or 0.0), -r.posts, r.name))
    return rows[:limit]


def place_mood(
    start: dt.date,
    end: dt.date,
    filters: StatsFilters | None = None,
    *,
    min_posts: int = PLACE_MOOD_MIN_POSTS,
    limit: int = TOP_PLACES,
) -> list[PlaceMood]:
    """The mood index per place: the share of negative posts written in the period whose incident is in the place,
    against the same share over the BASELINE_DAYS days before; places with at least `min_posts` posts, the most
    negative first (one query over the period and the days before it). `compute_stats` fills `Stats.place_mood`
    with it (the defaults) from the query that also counts the posts per group."""
    filters = filters or StatsFilters()
    since, until = period_bounds(start, end)
    with figures_queries():
        counts = _post_counts(filters, since, until)
    return _place_mood(counts, min_posts=min_posts, limit=limit)


def filter_final_answered(
    queryset: QuerySet[Incident], since: dt.datetime | None, until: dt.datetime | None, *, satisfied: bool = False
) -> QuerySet[Incident]:
    """The incidents of `queryset` with a final answer published in [since, until) — with `satisfied`, only those
    classified satisfied after the first such answer: the population and numerator of `satisfied_share` (rule 5;
    the inbox's `final_from`/`final_to` and `satisfied=1` filters), as `_satisfaction` counts it, from the
    classification kept on the answers (otklik.satisfaction.outcomes)."""
    finals = _final_answers(since, until)
    if satisfied:
        finals = _first_finals(finals, since).filter(satisfied_after=True)
    return _among(queryset, finals.values("incident_id"), until)


# A period that ended this long ago: its rows' incidents lie among the older ones (`_among`).
PAST_PERIOD = dt.timedelta(days=7)


def is_past_period(until: dt.datetime) -> bool:
    """Whether a period ending at `until` (exclusive) ended PAST_PERIOD ago or more."""
    return until <= timezone.now() - PAST_PERIOD


def _among(queryset: QuerySet[Incident], ids: QuerySet[Any], until: dt.datetime | None) -> QuerySet[Incident]:
    """The incidents of `queryset` whose id is one of `ids` (a subquery of the incident ids of a period's rows).
    For a period that ended PAST_PERIOD ago or more, also — redundant, for the planner — between the smallest and
    the largest of those ids, read first (one query): the inbox lists newest first, and PostgreSQL walked the
    incidents from the newest, testing each against the set, until it reached the period's (1M posts, the posts of
    January and February: ~500,000 tests, ~600 ms → ~20 ms with the bounds). A recent period's set reaches the
    newest incidents; the bounds would cost the query and narrow nothing. (The bounds are read once per page: an
    incident created by a post that arrives meanwhile shows on the next one.)"""
    queryset = queryset.filter(pk__in=ids)
    if until is None or not is_past_period(until):
        return queryset
    # `+ 0`: PostgreSQL would otherwise read MIN and MAX off the incident_id index, walking it from either end to
    # the period's rows; this way it reads the period's own rows by their time index.
    bounds = ids.aggregate(low=Min(F("incident_id") + 0), high=Max(F("incident_id") + 0))
    if bounds["low"] is None:  # no rows: nothing to list
        return queryset.none()
    return queryset.filter(pk__gte=bounds["low"], pk__lte=bounds["high"])


def _final_answers(since: dt.datetime | None, until: dt.datetime | None) -> QuerySet[Answer]:
    """The published final answers published in [since, until) (open bounds when None)."""
    finals = Answer.objects.filter(kind=AnswerKind.FINAL, status=AnswerStatus.PUBLISHED, published_at__isnull=False)
    if since is not None:
        finals = finals.filter(published_at__gte=since)
    if until is not None:
        finals = finals.filter(published_at__lt=until)
    return finals


def _first_finals(finals: QuerySet[Answer], since: dt.datetime | None) -> QuerySet[Answer]:
    """Of `finals` (published in a period starting at `since`), each incident's first: the incident's previous
    final answer (kept on the answer, otklik.satisfaction.outcomes) was published before the period, or there is
    none."""
    if since is None:
        return finals.filter(previous_final_at__isnull=True)
    return finals.filter(Q(previous_final_at__isnull=True) | Q(previous_final_at__lt=since))


def filter_posts_in(
    queryset: QuerySet[Incident],
    since: dt.datetime | None,
    until: dt.datetime | None,
    *,
    negative: bool = False,
    channel: str = "",
) -> QuerySet[Incident]:
    """The incidents of `queryset` having a post written in [since, until) (open bounds when None) — from `channel`
    when given, with negativity >= NEGATIVE_AT when `negative`: the incidents of the posts counted by `posts` /
    `negative_share` (the inbox's `posts_from`/`posts_to` and `negative=1` filters)."""
    posts = Post.objects.filter(incident__isnull=False)
    if since is not None:
        posts = posts.filter(posted_at__gte=since)
    if until is not None:
        posts = posts.filter(posted_at__lt=until)
    if negative:
        posts = posts.filter(negative__gte=NEGATIVE_AT)
    if channel:
        posts = posts.filter(source__channel=channel)
    if since is not None and not negative and not channel and (until is None or until > timezone.now()):
        return _posts_since(queryset, since, until, posts.values("incident_id"))
    return _among(queryset, posts.values("incident_id"), until)


def _posts_since(
    queryset: QuerySet[Incident], since: dt.datetime, until: dt.datetime | None, ids: QuerySet[Any]
) -> QuerySet[Incident]:
    """`filter_posts_in` for a window that has not ended (the dashboard's periods end today): an incident has a post
    written since `since` exactly when its latest post was (`Incident.last_post_at`, kept wherever a post joins or
    leaves an incident) — one test of a column that the open incidents' index holds, instead of joining the
    window's posts (1M posts, the month: the inbox's counters ~100 → ~25 ms). A latest post written at or after
    the window's end (a clock ahead) leaves the answer to the posts themselves (`ids`): exact either way."""
    recent = queryset.filter(last_post_at__gte=since)
    if until is None:
        return recent
    return recent.filter(Q(last_post_at__lt=until) | Q(pk__in=ids))


def filter_assigned(
    queryset: QuerySet[Incident],
    department: Department,
    since: dt.datetime | None,
    until: dt.datetime | None,
) -> QuerySet[Incident]:
    """The incidents of `queryset` having a non-cancelled assignment of `department` (lead or co-executor) created
    in [since, until) (open bounds when None): the assignments counted by `by_department` and the scorecard (the
    inbox's `assigned_to`, `assigned_from`/`assigned_to_date` filters)."""
    assignments = Assignment.objects.filter(department=department).exclude(status=AssignmentStatus.CANCELLED)
    if since is not None:
        assignments = assignments.filter(created_at__gte=since)
    if until is not None:
        assignments = assignments.filter(created_at__lt=until)
    return _among(queryset, assignments.values("incident_id"), until)


def _satisfaction(stats: Stats) -> None:
    """`satisfied_share` (the module's docstring, 5): the first final answer of each incident under the filters
    published in the period, classified as `otklik.satisfaction.stats.classify_incidents` does, counted in the
    database (one query): the first answer is the one with no earlier final answer of its incident in the period
    (ties by id); satisfied — no `reopened` event since it, and a `satisfied` follow-up or a survey answered
    «solved» since it. Both read off the answers, where otklik.satisfaction.outcomes keeps them (`_first_finals`,
    `Answer.satisfied_after`). `tests/stats/test_fast_figures.py` checks it against the classification in Python."""
    since, until = period_bounds(stats.start, stats.end)
    # Merged incidents left out by their ids (few, by the status index), not by a join of every answer to its
    # incident (PostgreSQL scanned all the incidents of the city for it).
    merged = Incident.objects.filter(status=IncidentStatus.MERGED).values("pk")
    firsts = _first_finals(_final_answers(since, until), since).exclude(incident_id__in=merged)
    if stats.filters.group is not None:
        firsts = firsts.filter(incident__group=stats.filters.group)
    if stats.filters.department is not None:
        firsts = firsts.filter(incident__lead_department=stats.filters.department)
    if stats.filters.channel:
        firsts = firsts.filter(incident_id__in=_channel_incidents(stats.filters.channel))
    totals = firsts.aggregate(n_total=Count("pk"), n_satisfied=Count("pk", filter=Q(satisfied_after=True)))
    stats.satisfaction_total = totals["n_total"]
    stats.satisfied = totals["n_satisfied"]


def as_api(stats: Stats) -> dict[str, Any]:
    """The body of `GET /api/v1/stats` (the keys of issue 8, the `*_calendar_hours` twins and the 90th
    percentiles)."""
    return {
        "from": stats.start.isoformat(),
        "to": stats.end.isoformat(),
        "posts": stats.posts,
        "incidents": stats.incidents,
        "answered": stats.answered,
        "on_time_share": stats.on_time_share,
        "first_answer_median_hours": stats.first_answer.median_hours,
        "first_answer_median_calendar_hours": stats.first_answer.median_calendar_hours,
        "first_answer_p90_hours": stats.first_answer.p90_hours,
        "first_answer_p90_calendar_hours": stats.first_answer.p90_calendar_hours,
        "final_answer_median_hours": stats.final_answer.median_hours,
        "final_answer_median_calendar_hours": stats.final_answer.median_calendar_hours,
        "final_answer_p90_hours": stats.final_answer.p90_hours,
        "final_answer_p90_calendar_hours": stats.final_answer.p90_calendar_hours,
        "overdue_now": stats.overdue_now,
        "satisfied_share": stats.satisfied_share,
        "reopened_share": stats.reopened_share,
        "rework_share": stats.rework_share,
        "not_competent_share": stats.not_competent_share,
        "negative_share": stats.negative_share,
        "by_group": [
            {"group": row.group, "incidents": row.incidents, "on_time_share": row.on_time_share}
            for row in stats.by_group
        ],
        "by_department": [
            {
                "department": row.department,
                "assignments": row.assignments,
                "on_time_share": row.on_time_share,
                "rework_share": row.rework_share,
            }
            for row in stats.by_department
        ],
    }


__all__ = [
    "PlaceMood",
    "Stats",
    "StatsFilters",
    "filter_on_time",
    "place_mood",
    "as_api",
    "compute_stats",
    "percentile",
]
