"""The snapshots' figures stored as JSON (otklik.stats.figures_json): every figure comes back equal from the
database, whatever the period and filters; a snapshot that cannot be read is ignored and the dashboard computes
its figures."""

from __future__ import annotations

import dataclasses
import datetime as dt
import json
import random
import re
from unittest import mock

import pytest
import time_machine

from otklik.cases.models import Assignment, Incident, ReworkComment
from otklik.stats import figures_json, snapshots
from otklik.stats.figures_json import FiguresFormatError, stats_from_json, stats_to_json
from otklik.stats.models import FigureSnapshot
from otklik.stats.selectors import Durations, Stats, StatsFilters, compute_stats, place_mood
from otklik.stats.snapshots import fresh_snapshot, refresh_snapshots
from tests.stats.conftest import NOW
from tests.stats.seeded import seed_city
from tests.stats.test_dashboard import tile_values

pytestmark = pytest.mark.django_db


@pytest.fixture
def seeded(db, housing, roads):
    """The seeded city (tests/stats/seeded.py) with assignments: the department figures too."""
    city = seed_city(housing, roads)
    rnd = random.Random(11)
    assignments = []
    for incident in Incident.objects.order_by("pk"):
        for department in rnd.sample([housing, roads], rnd.randint(0, 2)):
            status = rnd.choice(["sent", "submitted", "rework", "accepted", "declined", "cancelled"])
            submitted = incident.created_at + dt.timedelta(hours=rnd.uniform(0, 40))
            assignments.append(
                Assignment(
                    incident=incident,
                    department=department,
                    status=status,
                    created_at=incident.created_at,
                    due_at=incident.created_at + dt.timedelta(hours=rnd.uniform(1, 30)),
                    submitted_at=submitted if status in ("submitted", "accepted", "rework") else None,
                )
            )
    Assignment.objects.bulk_create(assignments)
    ReworkComment.objects.bulk_create(
        ReworkComment(assignment=a, text="…") for a in assignments if a.status == "rework"
    )
    return city


def _through_the_database(data: dict) -> object:
    """`data` stored in a snapshot row and read back (jsonb on PostgreSQL, text on SQLite)."""
    row = FigureSnapshot.objects.create(key=f"t{FigureSnapshot.objects.count()}", data=data)
    return FigureSnapshot.objects.values_list("data", flat=True).get(pk=row.pk)


def _figures(start: dt.date, end: dt.date, filters: StatsFilters) -> Stats:
    stats = compute_stats(start, end, filters, now=NOW)
    stats.place_mood = place_mood(start, end, filters)
    return stats


PERIODS = [
    (dt.date(2026, 11, 4), dt.date(2026, 12, 3)),  # a month
    (dt.date(2026, 11, 27), dt.date(2026, 12, 3)),  # a week
    (dt.date(2026, 12, 3), dt.date(2026, 12, 3)),  # today
    (dt.date(2026, 10, 1), dt.date(2026, 12, 31)),  # everything
]


@pytest.mark.parametrize(("start", "end"), PERIODS)
def test_the_figures_of_the_seeded_city_come_back_equal_from_the_database(seeded, start, end):
    stats = _figures(start, end, StatsFilters())

    stored = stats_from_json(_through_the_database(stats_to_json(stats)))

    assert stored == stats  # every field of every dataclass, floats with ==
    assert stored.now == NOW and stored.now.utcoffset() == dt.timedelta(0)
    assert [list(day.by_group) for day in stored.volume] == [list(day.by_group) for day in stats.volume]


def test_the_seeded_figures_exercise_every_kind_of_value(seeded):
    """The comparison above proves little on empty figures: the month has them all."""
    stats = _figures(*PERIODS[0], StatsFilters())
    assert stats.by_group and stats.by_department and stats.territories and stats.addresses and stats.place_mood
    assert any(None in day.by_group for day in stats.volume)  # incidents without a group: a null key
    assert any(row.group_id is None for row in stats.by_group)
    assert stats.first_answer.median_hours is not None and stats.first_answer.median_hours != int(
        stats.first_answer.median_hours
    )
    assert any(d.first_answer_median_hours is None for d in stats.answer_time)
    assert stats.mood_baseline is not None


@pytest.mark.parametrize("which", ["group", "department", "channel"])
def test_filtered_figures_come_back_with_their_filters(seeded, which):
    group, department = seeded["groups"][0], seeded["departments"][0]
    filters = {
        "group": StatsFilters(group=group),
        "department": StatsFilters(department=department),
        "channel": StatsFilters(channel="telegram"),
    }[which]
    stats = _figures(*PERIODS[0], filters)

    stored = stats_from_json(_through_the_database(stats_to_json(stats)))

    assert stored == stats
    assert stored.filters == filters


def test_floats_come_back_to_the_last_bit(db):
    """jsonb keeps a number's decimal digits; `json` writes the shortest repr that reads back to the same float."""
    values = [0.1 + 0.2, 1e-7, 5e-324, 1.7976931348623157e308, 2.0, 1 / 3, 123456.789e-3, -0.5]
    for value in values:
        durations = Durations(count=1, median_hours=value, p90_hours=value, median_calendar_hours=value)
        stats = Stats(start=dt.date(2026, 12, 1), end=dt.date(2026, 12, 1), filters=StatsFilters(), now=NOW)
        stats.first_answer = durations
        stats.mood_baseline = value
        stored = stats_from_json(_through_the_database(stats_to_json(stats)))
        assert stored.first_answer.median_hours.hex() == value.hex()  # type: ignore[union-attr]
        assert stored.mood_baseline == value and isinstance(stored.mood_baseline, float)


def test_what_json_cannot_hold_is_refused_when_stored():
    stats = Stats(start=dt.date(2026, 12, 1), end=dt.date(2026, 12, 1), filters=StatsFilters(), now=NOW)
    stats.mood_baseline = float("nan")
    with pytest.raises(FiguresFormatError):
        stats_to_json(stats)
    stats.mood_baseline = None
    stats.now = NOW.replace(tzinfo=None)
    with pytest.raises(FiguresFormatError):
        stats_to_json(stats)


def test_a_field_without_a_codec_is_an_error_at_once():
    """A field added to Stats (or a row) without its JSON codec cannot be lost silently."""

    @dataclasses.dataclass
    class Row:
        day: dt.date
        count: int

    with pytest.raises(TypeError, match="count"):
        figures_json._record(Row, day=figures_json.DATE)


def test_a_refresh_stores_json_that_holds_no_code(city):
    with time_machine.travel(NOW, tick=False):
        refresh_snapshots()
    data = FigureSnapshot.objects.values_list("data", flat=True).get(key="week")
    assert data["format"] == figures_json.FORMAT
    assert json.loads(json.dumps(data)) == data  # plain JSON values only


def _page(client, user, query: str = "?period=week") -> str:
    client.force_login(user)
    with time_machine.travel(NOW, tick=False):
        response = client.get(f"/dashboard/{query}")
    assert response.status_code == 200
    return response.content.decode()


def _without_the_snapshot_note(html: str) -> str:
    html = re.sub(r"<span[^>]*data-snapshot[^>]*>[^<]*</span>", "", html)
    # A new CSRF token per page (masked differently each time).
    html = re.sub(r'"X-CSRFToken": "[^"]*"', "", html)
    return re.sub(r'name="csrfmiddlewaretoken" value="[^"]*"', "", html)


def test_the_dashboard_shows_the_snapshot_as_the_live_page(client, city, director):
    live = _page(client, director)
    with time_machine.travel(NOW, tick=False):
        refresh_snapshots()

    html = _page(client, director)

    assert "data-snapshot" in html and "data-snapshot" not in live
    # The same moment, the same figures: tiles, charts, tables and links all alike.
    assert _without_the_snapshot_note(html) == _without_the_snapshot_note(live)


def _broken(data: dict, what: str) -> object:
    stats = data["stats"]
    return {
        "older format": {**data, "format": 1},
        "newer format": {**data, "format": figures_json.FORMAT + 1},
        "no format": {"stats": stats},
        "not an object": "figures",
        "a list": [data],
        "no stats": {"format": data["format"]},
        "a key missing": {**data, "stats": {k: v for k, v in stats.items() if k != "posts"}},
        "an unknown key": {**data, "stats": {**stats, "extra": 1}},
        "a string for a number": {**data, "stats": {**stats, "posts": "6"}},
        "a float for a count": {**data, "stats": {**stats, "incidents": 5.0}},
        "a bad date": {**data, "stats": {**stats, "start": "2026-13-01"}},
        "a naive moment": {**data, "stats": {**stats, "now": "2026-12-03T07:00:00"}},
        "a broken row": {**data, "stats": {**stats, "by_group": [{"group_id": 1}]}},
        "a bad pair": {**data, "stats": {**stats, "volume": [{"day": "2026-12-01", "by_group": [[1]]}]}},
        "a gone group": {**data, "stats": {**stats, "filters": {"group": 10**9, "department": None, "channel": ""}}},
        "a huge id": {**data, "stats": {**stats, "filters": {"group": 10**30, "department": None, "channel": ""}}},
    }[what]


BROKEN = [
    "older format",
    "newer format",
    "no format",
    "not an object",
    "a list",
    "no stats",
    "a key missing",
    "an unknown key",
    "a string for a number",
    "a float for a count",
    "a bad date",
    "a naive moment",
    "a broken row",
    "a bad pair",
    "a gone group",
    "a huge id",
]


@pytest.mark.parametrize("what", BROKEN)
def test_a_snapshot_that_cannot_be_read_is_ignored_and_the_figures_computed(client, city, director, what):
    live = _page(client, director)
    with time_machine.travel(NOW, tick=False):
        refresh_snapshots()
    row = FigureSnapshot.objects.get(key="week")
    assert stats_from_json(row.data) is not None  # readable as written
    FigureSnapshot.objects.filter(pk=row.pk).update(data=_broken(row.data, what))
    start, end = snapshots.preset_bounds("week", NOW.date())

    with mock.patch.object(snapshots.log, "warning") as warning:
        assert fresh_snapshot(start, end, StatsFilters(), now=NOW) is None
    warning.assert_called_once()
    html = _page(client, director)  # no 500: computed in the request

    assert "data-snapshot" not in html
    assert tile_values(html) == tile_values(live)
