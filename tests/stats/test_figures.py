"""The figures of the period on the hand-built city (tests/stats/conftest.py), worked out by hand."""

from __future__ import annotations

import datetime as dt

import pytest

from otklik.sla.scorecard import scorecard
from otklik.stats.selectors import StatsFilters, as_api, compute_stats, percentile
from tests.stats.conftest import END, NOW, START

pytestmark = pytest.mark.django_db


def test_the_totals_of_the_period(city):
    stats = compute_stats(START, END, now=NOW)

    assert stats.incidents == 5  # a1–a5; a6 merged, old ones outside
    assert stats.answered == 2  # a1, a2
    assert (stats.on_time, stats.judged) == (2, 4)  # a1, a2 kept their deadlines; a3, a4 overdue; a5 not judged
    assert stats.on_time_share == 0.5
    assert stats.overdue_now == 3  # a3, a4 and the old one from November
    assert stats.reopened_share == 0.5  # a1 of the two answered
    assert stats.satisfied_share == 0.0  # answered in the period: a1 (reopened after it), a2 (no reaction)
    assert stats.posts == 6  # a1–a6 (a6's post now in a1)
    assert stats.negative_share == pytest.approx(2 / 6)  # a1 0.8, a3 0.9
    assert stats.mood_baseline == 0.5  # November: old 0.9, old2 unanalysed


def test_the_time_to_answer_in_working_and_calendar_hours(city):
    stats = compute_stats(START, END, now=NOW)

    # First answers: a1 at 11:00 (2 h after 09:00), a2 intermediate at 16:30 (10:00–13:00 + 14:00–16:30).
    assert stats.first_answer.count == 2
    assert stats.first_answer.median_hours == pytest.approx((2 + 5.5) / 2)
    assert stats.first_answer.p90_hours == pytest.approx(2 + 3.5 * 0.9)
    assert stats.first_answer.median_calendar_hours == pytest.approx((2 + 6.5) / 2)
    # Final answers: a1 again on 2 Dec 11:00 (8 + 2 working h, 26 h), a2 on 3 Dec 11:00 (7 + 8 + 2 h, 49 h).
    assert stats.final_answer.count == 2
    assert stats.final_answer.median_hours == pytest.approx((10 + 17) / 2)
    assert stats.final_answer.median_calendar_hours == pytest.approx((26 + 49) / 2)
    assert stats.final_answer.p90_calendar_hours == pytest.approx(26 + 23 * 0.9)
    per_day = {d.day: d.first_answer_median_hours for d in stats.answer_time}
    assert per_day == {START: pytest.approx(3.75), dt.date(2026, 12, 2): None, END: None}


def test_the_departments_agree_with_the_scorecard(city):
    stats = compute_stats(START, END, now=NOW)

    rows = {r.department: r for r in stats.by_department}
    assert [r.department for r in stats.by_department] == [city.roads.name, city.housing.name]
    housing, roads = rows[city.housing.name], rows[city.roads.name]
    assert (housing.assignments, housing.rework, housing.declined) == (2, 1, 0)
    assert (roads.assignments, roads.declined, roads.on_time, roads.judged) == (2, 1, 1, 2)  # a4 open past due
    assert stats.rework_share == 0.25
    assert stats.not_competent_share == 0.25
    card = {r.department.name: r for r in scorecard(START, END, now=NOW)}
    for name, row in rows.items():
        assert row.assignments == card[name].assignments
        assert row.on_time_share == card[name].on_time_share
        assert row.rework_share == card[name].rework_share
        assert row.declined_share == card[name].declined_share


def test_the_groups_days_and_places(city):
    stats = compute_stats(START, END, now=NOW)

    groups = {(r.group, r.incidents, r.on_time_share) for r in stats.by_group}
    assert groups == {("ЖКХ", 2, 1.0), ("Дороги", 2, 0.0), (None, 1, None)}
    housing_group = next(r for r in stats.by_group if r.group == "ЖКХ")
    assert (housing_group.posts, housing_group.negative) == (3, 1)  # a1, a6 (in a1), a2
    volume = {d.day: d.by_group for d in stats.volume}
    h, r = city.housing_group.pk, city.roads_group.pk
    assert volume == {START: {h: 2, r: 1}, dt.date(2026, 12, 2): {r: 1, None: 1}, END: {}}
    mood = {d.day: (d.posts, d.negative) for d in stats.mood}
    assert mood == {START: (3, 2), dt.date(2026, 12, 2): (3, 0), END: (0, 0)}
    assert [(p.name, p.incidents) for p in stats.territories] == [("Центральный", 2)]
    assert [(p.name, p.incidents) for p in stats.addresses] == [("ул. Ленина, 5", 2), ("ул. Мира, 1", 1)]


def test_the_filters(city):
    by_group = compute_stats(START, END, StatsFilters(group=city.housing_group), now=NOW)
    assert (by_group.incidents, by_group.posts, by_group.overdue_now) == (2, 3, 0)
    assert [r.department for r in by_group.by_department] == [city.housing.name]

    by_department = compute_stats(START, END, StatsFilters(department=city.roads), now=NOW)
    # a4 is led by roads; a3 is not any more: its lead declined (its assignment still counts for roads).
    assert (by_department.incidents, by_department.overdue_now) == (1, 1)
    assert by_department.assignments == 2
    assert by_department.not_competent_share == 0.5

    by_channel = compute_stats(START, END, StatsFilters(channel="telegram"), now=NOW)
    assert (by_channel.incidents, by_channel.posts, by_channel.negative_share) == (1, 1, 1.0)


def test_an_empty_period_has_no_shares(city):
    stats = compute_stats(dt.date(2027, 1, 1), dt.date(2027, 1, 2), now=NOW)

    body = as_api(stats)
    assert body["incidents"] == 0
    assert body["on_time_share"] is None
    assert body["first_answer_median_hours"] is None
    assert body["negative_share"] is None
    assert body["by_group"] == [] and body["by_department"] == []


def test_the_percentile_interpolates_between_ranks():
    assert percentile([], 0.5) is None
    assert percentile([4.0], 0.9) == 4.0
    assert percentile([1.0, 3.0, 2.0], 0.5) == 2.0
    assert percentile([0.0, 10.0], 0.9) == pytest.approx(9.0)


@pytest.mark.parametrize(
    ("start", "end"),
    [(START, END), (START, START), (dt.date(2026, 12, 2), dt.date(2026, 12, 2)), (dt.date(2026, 11, 1), END)],
)
def test_the_figures_equal_a_naive_count_over_the_raw_rows(city, start, end):
    """Independently of the selectors' queries: every row loaded and judged in Python."""
    from otklik.cases.models import Assignment, Event, Incident
    from otklik.intake.models import Post
    from otklik.sla.models import Clock
    from otklik.sla.scorecard import period_bounds

    since, until = period_bounds(start, end)
    incidents = [i for i in Incident.objects.all() if since <= i.created_at < until and i.status != "merged"]
    clocks = [c for c in Clock.objects.all() if c.assignment_id is None]

    def late(incident) -> bool:
        return any(
            c.incident_id == incident.pk and (c.state == "missed" or (c.state == "running" and c.due_at < NOW))
            for c in clocks
        )

    def met(incident) -> bool:
        return any(c.incident_id == incident.pk and c.state == "met" for c in clocks)

    answered = [i for i in incidents if i.answered_at is not None]
    reopened = {e.incident_id for e in Event.objects.filter(verb="reopened")}
    posts = [p for p in Post.objects.all() if since <= p.posted_at < until]
    assignments = [a for a in Assignment.objects.all() if since <= a.created_at < until and a.status != "cancelled"]
    reworked = [a for a in assignments if a.rework_comments.exists()]

    stats = compute_stats(start, end, now=NOW)

    assert stats.incidents == len(incidents)
    assert stats.answered == len(answered)
    assert stats.judged == sum(1 for i in incidents if late(i) or met(i))
    assert stats.on_time == sum(1 for i in incidents if met(i) and not late(i))
    assert stats.reopened == sum(1 for i in answered if i.pk in reopened)
    assert stats.posts == len(posts)
    assert stats.negative_posts == sum(1 for p in posts if p.negative is not None and p.negative >= 0.5)
    assert stats.assignments == len(assignments)
    assert sum(r.rework for r in stats.by_department) == len(reworked)
    assert sum(r.declined for r in stats.by_department) == sum(1 for a in assignments if a.status == "declined")
