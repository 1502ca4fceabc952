"""The figures computed in the database (issue 9) equal the former per-incident computation in Python.

A seeded random city (incidents, answer clocks, final answers with ties, reopenings, follow-ups, surveys, posts) is
built row by row; `reference()` below is the former implementation of the figures that moved into SQL (the
judgement of each incident, the durations with the clock or the working calendar, the satisfaction classes of
`otklik.satisfaction.stats.classify_incidents`, the mood and the mood by place), kept here as the slow path.
Every period and filter below must give exactly the same numbers (floats compared with ==).
"""

from __future__ import annotations

import datetime as dt
import random
from collections import defaultdict
from zoneinfo import ZoneInfo

import pytest
import time_machine
from django.db.models import Exists, OuterRef, Q

from otklik.answers.choices import AnswerKind, AnswerStatus
from otklik.answers.models import Answer
from otklik.cases.choices import EventVerb
from otklik.cases.models import Event, Incident
from otklik.core.worktime import city_zone, get_calendar
from otklik.satisfaction.stats import SATISFIED, classify_incidents
from otklik.sla.choices import ClockState
from otklik.sla.models import Clock
from otklik.sla.scorecard import period_bounds
from otklik.stats import selectors
from otklik.stats.selectors import (
    BASELINE_DAYS,
    INCIDENT_CLOCKS,
    NEGATIVE_AT,
    SAME_MOMENT,
    StatsFilters,
    compute_stats,
    filter_final_answered,
    incidents_in_period,
    percentile,
    place_mood,
    posts_between,
)
from tests.stats.seeded import random_moment, seed_city

pytestmark = pytest.mark.django_db

EKB = ZoneInfo("Asia/Yekaterinburg")
NOW = dt.datetime(2026, 12, 3, 12, 0, tzinfo=EKB)


@pytest.fixture
def seeded(db, housing, roads, operator):
    """About 160 incidents over five weeks, their clocks, answers, events, replies, surveys and posts."""
    return seed_city(housing, roads)


def first_final_answers(eligible, since: dt.datetime | None, until: dt.datetime | None) -> dict[int, dt.datetime]:
    """incident id → its first final answer published in [since, until) (open bounds when None), for `eligible`:
    the former Python path, whose ids the inbox's filter handed over as a list."""
    answers = Answer.objects.filter(kind=AnswerKind.FINAL, status=AnswerStatus.PUBLISHED, incident__in=eligible)
    if since is not None:
        answers = answers.filter(published_at__gte=since)
    if until is not None:
        answers = answers.filter(published_at__lt=until)
    first: dict[int, dt.datetime] = {}
    for incident_id, published_at in answers.order_by("published_at", "pk").values_list("incident_id", "published_at"):
        if published_at is not None:
            first.setdefault(incident_id, published_at)
    return first


def with_judgement(queryset, now: dt.datetime):
    """Annotate `late`, `met` (the incident's answer clocks) and `reopened` by the rules, from the clocks and events."""
    clocks = Clock.objects.filter(incident=OuterRef("pk"), assignment__isnull=True, kind__in=INCIDENT_CLOCKS)
    return queryset.annotate(
        late=Exists(clocks.filter(Q(state=ClockState.MISSED) | Q(state=ClockState.RUNNING, due_at__lt=now))),
        met=Exists(clocks.filter(state=ClockState.MET)),
        reopened=Exists(Event.objects.filter(incident=OuterRef("pk"), verb=EventVerb.REOPENED)),
    )


def reference(start: dt.date, end: dt.date, filters: StatsFilters) -> dict:
    """The former per-incident computation of the figures that are now computed in SQL (the slow path)."""
    since, until = period_bounds(start, end)
    incidents = incidents_in_period(start, end, filters)
    judged = with_judgement(incidents, NOW)
    rows = list(judged.values_list("pk", "group_id", "late", "met", "reopened", "answered_at", "created_at"))
    by_group: dict = defaultdict(lambda: [0, 0, 0])
    volume: dict = defaultdict(int)
    for _pk, group_id, late, met, _reopened, _answered, created_at in rows:
        volume[(created_at.astimezone(city_zone()).date(), group_id)] += 1
        by_group[group_id][0] += 1
        by_group[group_id][1] += 1 if met and not late else 0
        by_group[group_id][2] += 1 if late or met else 0
    # Durations: the clocks in Python, else the working calendar walked day by day.
    calendar = get_calendar()
    clocks: dict = defaultdict(list)
    for clock in Clock.objects.filter(
        incident__in=incidents,
        assignment__isnull=True,
        kind__in=("first_answer", "answer"),
        state__in=("met", "missed"),
    ).order_by("due_at", "pk"):
        clocks[clock.incident_id].append(clock)

    def working(incident: Incident, moment: dt.datetime, *, first: bool) -> float:
        for clock in clocks[incident.pk]:
            if clock.elapsed_working_seconds is None or clock.stopped_at is None:
                continue
            if first and clock.kind == "first_answer":
                return clock.elapsed_working_seconds
            if (
                clock.kind == "answer"
                and clock.started_at == incident.created_at
                and abs(clock.stopped_at - moment) <= SAME_MOMENT
            ):
                return clock.elapsed_working_seconds
        return calendar.between(incident.created_at, moment).total_seconds()

    first_w, first_c, final_w, final_c = [], [], [], []
    per_day: dict = defaultdict(list)
    for incident in incidents.filter(first_answered_at__isnull=False):
        hours = working(incident, incident.first_answered_at, first=True) / 3600
        first_w.append(hours)
        first_c.append((incident.first_answered_at - incident.created_at).total_seconds() / 3600)
        per_day[incident.created_at.astimezone(city_zone()).date()].append(hours)
        if incident.answered_at is not None:
            final_w.append(working(incident, incident.answered_at, first=False) / 3600)
            final_c.append((incident.answered_at - incident.created_at).total_seconds() / 3600)
    # Satisfaction: the first final answers in the period, classified in Python.
    eligible = selectors._filter_incidents(Incident.objects.exclude(status="merged"), filters)
    classes = classify_incidents(first_final_answers(eligible, since, until))
    # Mood: the period's posts per day, the baseline's, per place.
    posts = list(posts_between(since - dt.timedelta(days=BASELINE_DAYS), until, filters).select_related("incident"))
    mood: dict = defaultdict(lambda: [0, 0])
    baseline = [0, 0]
    places: dict = defaultdict(lambda: [0, 0, 0, 0])
    group_posts: dict = defaultdict(lambda: [0, 0])
    for post in posts:
        negative = post.negative is not None and post.negative >= NEGATIVE_AT
        current = post.posted_at >= since
        if current:
            mood[post.posted_at.astimezone(city_zone()).date()][0] += 1
            mood[post.posted_at.astimezone(city_zone()).date()][1] += negative
        else:
            baseline[0] += 1
            baseline[1] += negative
        incident = post.incident
        if incident is not None and current:
            group_posts[incident.group_id][0] += 1
            group_posts[incident.group_id][1] += negative
        if incident is None or (incident.territory_id is None and not incident.address):
            continue
        key = (incident.territory_id, incident.territory.name) if incident.territory_id else (None, incident.address)
        places[key][0 if current else 2] += 1
        places[key][1 if current else 3] += negative
    return {
        "incidents": len(rows),
        "answered": sum(1 for r in rows if r[5] is not None),
        "on_time": sum(1 for r in rows if r[3] and not r[2]),
        "judged": sum(1 for r in rows if r[2] or r[3]),
        "reopened": sum(1 for r in rows if r[5] is not None and r[4]),
        "by_group": {gid: tuple(v) for gid, v in by_group.items()},
        "first": (len(first_w), *(percentile(v, q) for v in (first_w, first_c) for q in (0.5, 0.9))),
        "final": (len(final_w), *(percentile(v, q) for v in (final_w, final_c) for q in (0.5, 0.9))),
        "per_day": {day: percentile(v, 0.5) for day, v in per_day.items()},
        "satisfaction": (len(classes), sum(1 for c in classes.values() if c == SATISFIED)),
        "mood": {day: tuple(v) for day, v in mood.items()},
        "baseline": tuple(baseline),
        "places": {key: tuple(v) for key, v in places.items() if v[0] >= 3},
        "volume": dict(volume),
        "group_posts": {gid: tuple(group_posts.get(gid, (0, 0))) for gid in by_group},
        # The dashboard's mood by place: the most negative first, then the most posts, then by name; the top 10.
        "place_mood": sorted(
            ((*key, *v) for key, v in places.items() if v[0] >= 3),
            key=lambda r: (-(r[3] / r[2]), -r[2], r[1]),
        )[:10],
    }


def fast(start: dt.date, end: dt.date, filters: StatsFilters) -> dict:
    stats = compute_stats(start, end, filters, now=NOW)

    def durations(d: selectors.Durations) -> tuple:
        return (d.count, d.median_hours, d.p90_hours, d.median_calendar_hours, d.p90_calendar_hours)

    since, _until = period_bounds(start, end)
    baseline = posts_between(since - dt.timedelta(days=BASELINE_DAYS), since, filters)
    return {
        "incidents": stats.incidents,
        "answered": stats.answered,
        "on_time": stats.on_time,
        "judged": stats.judged,
        "reopened": stats.reopened,
        "by_group": {r.group_id: (r.incidents, r.on_time, r.judged) for r in stats.by_group},
        "first": durations(stats.first_answer),
        "final": durations(stats.final_answer),
        "per_day": {d.day: d.first_answer_median_hours for d in stats.answer_time if d.count},
        "satisfaction": (stats.satisfaction_total, stats.satisfied),
        "mood": {d.day: (d.posts, d.negative) for d in stats.mood if d.posts},
        "baseline": (baseline.count(), baseline.filter(negative__gte=NEGATIVE_AT).count()),
        "mood_baseline": stats.mood_baseline,
        "places": {
            (p.territory_id, p.name): (p.posts, p.negative, p.baseline_posts, p.baseline_negative)
            for p in place_mood(start, end, filters, limit=1000)
        },
        "volume": {(d.day, gid): n for d in stats.volume for gid, n in d.by_group.items()},
        "group_posts": {r.group_id: (r.posts, r.negative) for r in stats.by_group},
        "place_mood": [
            (p.territory_id, p.name, p.posts, p.negative, p.baseline_posts, p.baseline_negative)
            for p in stats.place_mood
        ],
    }


@pytest.mark.parametrize(
    ("start", "end"),
    [
        (dt.date(2026, 11, 4), dt.date(2026, 12, 3)),  # a month
        (dt.date(2026, 11, 27), dt.date(2026, 12, 3)),  # a week
        (dt.date(2026, 12, 3), dt.date(2026, 12, 3)),  # today
        (dt.date(2026, 10, 1), dt.date(2026, 12, 31)),  # everything
    ],
)
def test_the_database_figures_equal_the_per_incident_computation(seeded, start, end):
    expected = reference(start, end, StatsFilters())
    got = fast(start, end, StatsFilters())
    mood_baseline = got.pop("mood_baseline")

    assert got == expected
    assert expected["incidents"] > 0 or start == end
    assert mood_baseline == (expected["baseline"][1] / expected["baseline"][0] if expected["baseline"][0] else None)


def test_the_seeded_city_exercises_every_branch(seeded):
    """The data reaches every case of the rules (else the comparison above would prove little)."""
    start, end = dt.date(2026, 10, 1), dt.date(2026, 12, 31)
    expected = reference(start, end, StatsFilters())
    assert 0 < expected["on_time"] < expected["judged"] < expected["incidents"]
    assert 0 < expected["reopened"] < expected["answered"]
    assert 0 < expected["satisfaction"][1] < expected["satisfaction"][0]
    assert expected["places"]
    by_clock = Clock.objects.filter(state__in=("met", "missed"), elapsed_working_seconds__isnull=False).count()
    assert by_clock > 0  # some durations come from the clocks, the others from the calendar


@pytest.mark.parametrize("which", ["group", "department", "channel"])
def test_the_filters_give_the_same_figures_both_ways(seeded, which):
    start, end = dt.date(2026, 11, 4), dt.date(2026, 12, 3)
    values = {
        "group": [StatsFilters(group=g) for g in seeded["groups"]],
        "department": [StatsFilters(department=d) for d in seeded["departments"]],
        "channel": [StatsFilters(channel="telegram"), StatsFilters(channel="vk")],
    }[which]
    for filters in values:
        got = fast(start, end, filters)
        got.pop("mood_baseline")
        assert got == reference(start, end, filters)


def test_the_running_total_calendar_equals_the_day_walk():
    """`_WorkingTime.between` is `WorkCalendar.between` to the microsecond, across days off and holidays."""
    rnd = random.Random(3)
    calendar = get_calendar()
    first, last = dt.date(2026, 12, 20), dt.date(2027, 1, 20)
    working = selectors._WorkingTime(first, last)
    start_at = dt.datetime(2026, 12, 20, 0, 0, tzinfo=EKB)
    for _ in range(300):
        a = random_moment(rnd, start_at, 24 * 30)
        b = random_moment(rnd, start_at, 24 * 30)
        expected = calendar.between(a, b)
        assert working.between(selectors._to_micros(a), selectors._to_micros(b)) == expected // dt.timedelta(
            microseconds=1
        )


@pytest.mark.parametrize(
    ("since", "until"),
    [
        (dt.datetime(2026, 11, 4, tzinfo=EKB), dt.datetime(2026, 12, 4, tzinfo=EKB)),  # a month
        (dt.datetime(2026, 12, 1, tzinfo=EKB), dt.datetime(2026, 12, 4, tzinfo=EKB)),  # three days
        (None, dt.datetime(2026, 11, 20, tzinfo=EKB)),  # an open start
        (dt.datetime(2026, 11, 20, tzinfo=EKB), None),  # an open end
        (None, None),
    ],
)
def test_the_inbox_final_answer_filter_is_the_python_classification(seeded, since, until):
    """`filter_final_answered` (the inbox's `final_from`/`final_to` and `satisfied=1`, one subquery) lists exactly
    the incidents of the former path: the first final answers in Python, classified by `classify_incidents`. On
    NOW, the windows ending 2026-11-20 ended over a week before: the filter bounds the ids too (`_among`)."""
    eligible = Incident.objects.exclude(status="merged")
    first = first_final_answers(eligible, since, until)
    classes = classify_incidents(first)
    with time_machine.travel(NOW, tick=False):
        answered = set(filter_final_answered(eligible, since, until).values_list("pk", flat=True))
        satisfied = set(filter_final_answered(eligible, since, until, satisfied=True).values_list("pk", flat=True))

    assert answered == set(first)
    assert satisfied == {pk for pk, c in classes.items() if c == SATISFIED}
    assert 0 < len(satisfied) < len(answered) or since == dt.datetime(2026, 12, 1, tzinfo=EKB)


def test_an_old_period_bounds_the_ids_and_an_empty_one_lists_nothing(seeded, django_assert_num_queries):
    """A window that ended over a week before reads its ids' bounds first (one query more) and lists the same."""
    eligible = Incident.objects.exclude(status="merged")
    since, until = dt.datetime(2026, 11, 4, tzinfo=EKB), dt.datetime(2026, 11, 20, tzinfo=EKB)
    with time_machine.travel(NOW, tick=False):
        with django_assert_num_queries(1):
            bounded = filter_final_answered(eligible, since, until)
        assert '"cases_incident"."id" >=' in str(bounded.query) and '"cases_incident"."id" <=' in str(bounded.query)
        assert set(bounded.values_list("pk", flat=True)) == set(first_final_answers(eligible, since, until))
        with django_assert_num_queries(1):
            empty = filter_final_answered(
                eligible, dt.datetime(2020, 1, 1, tzinfo=EKB), dt.datetime(2020, 2, 1, tzinfo=EKB)
            )
        assert list(empty) == []
        with django_assert_num_queries(0):
            filter_final_answered(eligible, since, dt.datetime(2026, 12, 4, tzinfo=EKB))  # recent: no bounds read
