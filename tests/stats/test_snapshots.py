"""The dashboard's default views computed ahead by the beat (otklik.stats.snapshots): the same figures as a live
request at the same moment, shown only while fresh and only for the unfiltered preset periods; the refresh is
idempotent."""

from __future__ import annotations

import datetime as dt
import re
from unittest import mock

import pytest
import time_machine

from otklik.stats import figures_json, snapshots
from otklik.stats.figures_json import stats_to_json
from otklik.stats.models import FigureSnapshot
from otklik.stats.selectors import StatsFilters, as_api, compute_stats, place_mood
from otklik.stats.snapshots import MAX_AGE, REFRESH_AFTER, fresh_snapshot, refresh_snapshots
from otklik.stats.tasks import refresh_figure_snapshots
from tests.stats.conftest import NOW, at
from tests.stats.test_dashboard import tile_values

pytestmark = pytest.mark.django_db


def test_a_refresh_stores_every_preset_with_the_live_figures(city):
    with time_machine.travel(NOW, tick=False):
        assert refresh_snapshots() == {"refreshed": 4, "skipped": 0}

    assert set(FigureSnapshot.objects.values_list("key", flat=True)) == {"today", "week", "month", "quarter"}
    for key in ("today", "week", "month", "quarter"):
        start, end = snapshots.preset_bounds(key, NOW.date())
        stored = fresh_snapshot(start, end, StatsFilters(), now=NOW)
        live = compute_stats(start, end, StatsFilters(), now=NOW)
        assert stored is not None and stored.now == NOW
        assert as_api(stored) == as_api(live)
        assert stored.place_mood == place_mood(start, end, StatsFilters())
        assert [d.by_group for d in stored.volume] == [d.by_group for d in live.volume]
        assert stored.mood == live.mood and stored.answer_time == live.answer_time


def test_a_second_run_does_nothing_until_the_snapshots_age(city):
    with time_machine.travel(NOW, tick=False):
        refresh_snapshots()
        assert refresh_snapshots() == {"refreshed": 0, "skipped": 4}  # a second beat, a retry, a manual run
    with time_machine.travel(NOW + REFRESH_AFTER + dt.timedelta(seconds=1), tick=False):
        assert refresh_snapshots() == {"refreshed": 4, "skipped": 0}


def test_a_run_in_progress_is_not_doubled_and_a_dead_one_is_taken_over(city):
    with time_machine.travel(NOW, tick=False):
        refresh_snapshots()
    later = NOW + dt.timedelta(minutes=6)
    FigureSnapshot.objects.update(claimed_at=later)  # another worker claimed them and is computing
    with time_machine.travel(later + dt.timedelta(seconds=5), tick=False):
        assert refresh_snapshots() == {"refreshed": 0, "skipped": 4}
    with time_machine.travel(later + snapshots.CLAIM_FOR + dt.timedelta(seconds=1), tick=False):
        assert refresh_snapshots() == {"refreshed": 4, "skipped": 0}


def test_a_failed_computation_releases_its_claim(city):
    with time_machine.travel(NOW, tick=False):
        with (
            mock.patch.object(snapshots, "compute_stats", side_effect=RuntimeError("boom")),
            pytest.raises(RuntimeError),
        ):
            refresh_snapshots()
        assert refresh_snapshots()["refreshed"] == 4


def test_the_beat_task_refreshes(city, settings):
    assert settings.CELERY_BEAT_SCHEDULE["refresh-figure-snapshots"]["task"] == (
        "otklik.stats.tasks.refresh_figure_snapshots"
    )
    with time_machine.travel(NOW, tick=False):
        refresh_figure_snapshots.apply()
    assert FigureSnapshot.objects.exclude(computed_at=None).count() == 4


def _page(client, user, query: str, when: dt.datetime = NOW) -> str:
    client.force_login(user)
    with time_machine.travel(when, tick=False):
        response = client.get(f"/dashboard/{query}")
    assert response.status_code == 200
    return response.content.decode()


def test_the_default_view_shows_the_snapshot_with_its_time(client, city, director):
    live = _page(client, director, "?period=week")
    assert "data-snapshot" not in live  # no snapshot yet: computed in the request
    computed_at = NOW - dt.timedelta(minutes=3)
    with time_machine.travel(computed_at, tick=False):
        refresh_snapshots()

    html = _page(client, director, "?period=week")

    assert "data-snapshot" in html
    assert re.search(r"data-snapshot[^>]*>[^<]*11:57", html)  # NOW is 12:00 city time
    assert tile_values(html) == tile_values(live)  # nothing changed in between: the same figures


def test_a_snapshot_is_not_shown_when_stale_filtered_or_of_other_dates(client, city, director, operator):
    with time_machine.travel(NOW, tick=False):
        refresh_snapshots()
    # Filtered, custom dates: computed in the request.
    assert "data-snapshot" not in _page(client, director, f"?period=week&group={city.housing_group.pk}")
    assert "data-snapshot" not in _page(client, director, "?period=custom&date_from=2026-12-01&date_to=2026-12-03")
    # Stale: older than MAX_AGE.
    assert "data-snapshot" not in _page(client, director, "?period=week", NOW + MAX_AGE + dt.timedelta(seconds=1))
    # Another day: the presets end today.
    assert "data-snapshot" not in _page(client, director, "?period=week", at(2026, 12, 4, 0, 5))


def test_a_snapshot_shows_the_figures_of_its_moment_and_a_filter_the_live_ones(client, city, director, operator):
    """Between two refreshes a snapshot keeps the figures of its moment (what the page says); live views move on."""
    from otklik.cases.services import do_mark_no_answer
    from tests.stats.conftest import ingest

    with time_machine.travel(NOW, tick=False):
        refresh_snapshots()
    when = NOW + dt.timedelta(minutes=1)
    with time_machine.travel(when, tick=False):
        incident = ingest("Ещё одно сообщение", external_id="late-1")
        do_mark_no_answer(incident, actor=operator, reason="spam")
    snap = tile_values(_page(client, director, "?period=week", when))
    # The same dates with a filter that keeps every incident but the telegram one (a3) are computed live.
    live = tile_values(_page(client, director, "?period=week&source=vk", when))
    assert snap[1] == "5"  # a1–a5, as at 12:00
    assert live[1] == "5"  # a1, a2, a4, a5 and the new one


def test_a_snapshot_of_another_format_or_unreadable_is_not_shown(city):
    with time_machine.travel(NOW, tick=False):
        refresh_snapshots()
    start, end = snapshots.preset_bounds("week", NOW.date())
    assert fresh_snapshot(start, end, StatsFilters(), now=NOW) is not None
    with mock.patch.object(figures_json, "FORMAT", figures_json.FORMAT + 1):  # the code changed since the refresh
        assert fresh_snapshot(start, end, StatsFilters(), now=NOW) is None
    FigureSnapshot.objects.filter(key="week").update(data={"format": figures_json.FORMAT, "stats": "damaged"})
    assert fresh_snapshot(start, end, StatsFilters(), now=NOW) is None
    # The figures of another period or with a filter, stored under this view's key, are not shown for it.
    other = compute_stats(start - dt.timedelta(days=1), end, StatsFilters(), now=NOW)
    FigureSnapshot.objects.filter(key="week").update(data=stats_to_json(other))
    assert fresh_snapshot(start, end, StatsFilters(), now=NOW) is None
    filtered = compute_stats(start, end, StatsFilters(group=city.housing_group), now=NOW)
    FigureSnapshot.objects.filter(key="week").update(data=stats_to_json(filtered))
    assert fresh_snapshot(start, end, StatsFilters(), now=NOW) is None
    FigureSnapshot.objects.filter(key="week").update(data=stats_to_json(compute_stats(start, end, now=NOW)))
    assert fresh_snapshot(start, end, StatsFilters(), now=NOW) is not None
