"""Snapshots of the dashboard's default views (docs/STATS.md, «Speed»; issue 9).

The figures of a month of a big city take seconds to compute (1M posts: ~2.5 s in the database for the month,
more for the quarter), too slow for the director's home page. The beat task `refresh_figure_snapshots` computes
the default views — each preset period (today, 7, 30, 90 days ending today) without filters — every
REFRESH_EVERY, with `compute_stats` (the mood by place included), the same code as a live request, and stores them
(`FigureSnapshot`, the `Stats` as JSON by otklik.stats.figures_json — never pickled: unpickling what the database
holds would trust it with running code). The dashboard shows a snapshot when its period is exactly the request's and
it is at most MAX_AGE old; the page then says when the figures were computed ("now" of the figures: overdue now,
running clocks past due). Any other request — a filter, custom dates, no fresh snapshot (the first minutes after
midnight, a stopped beat) — computes the figures live, as before. The API, the report and the summary letter
always compute live.

A refresh is claimed with a conditional UPDATE of the row (`claimed_at`), so a second beat, a retry or a manual
run at the same time computes nothing twice; a claim older than CLAIM_FOR (a worker that died) can be taken again.
A snapshot is refreshed when it is older than REFRESH_AFTER or of another day. A snapshot that cannot be read
(another format — the code changed since the refresh — or damaged) is not shown: the request computes the figures.
"""

from __future__ import annotations

import datetime as dt
import logging

from django.db.models import F, Q
from django.utils import timezone

from otklik.stats.figures_json import stats_from_json, stats_to_json
from otklik.stats.forms import PRESETS
from otklik.stats.models import FigureSnapshot
from otklik.stats.selectors import Stats, StatsFilters, compute_stats

log = logging.getLogger(__name__)

REFRESH_EVERY = dt.timedelta(minutes=5)  # the beat entry `refresh-figure-snapshots` (settings)
REFRESH_AFTER = dt.timedelta(minutes=4)  # a run refreshes the snapshots older than this
MAX_AGE = dt.timedelta(minutes=12)  # an older snapshot is not shown: the request computes the figures itself
CLAIM_FOR = dt.timedelta(minutes=15)  # a claim older than this is taken to be of a dead worker


def preset_bounds(key: str, today: dt.date) -> tuple[dt.date, dt.date]:
    _label, days = PRESETS[key]
    return today - dt.timedelta(days=days), today


def fresh_snapshot(
    start: dt.date, end: dt.date, filters: StatsFilters, *, now: dt.datetime | None = None
) -> Stats | None:
    """The stored figures of the default view with exactly this period, if computed at most MAX_AGE ago (one
    query); None for a filtered view or when there is none (the caller computes the figures)."""
    if filters != StatsFilters():
        return None
    now = now or timezone.now()
    today = timezone.localdate(now)
    keys = [key for key in PRESETS if preset_bounds(key, today) == (start, end)]
    if not keys:
        return None
    data = (
        FigureSnapshot.objects.filter(key__in=keys, start=start, end=end, computed_at__gte=now - MAX_AGE)
        .filter(data__isnull=False)
        .order_by("-computed_at")
        .values_list("data", flat=True)
        .first()
    )
    if data is None:
        return None
    try:
        stats = stats_from_json(data)
    except Exception:  # noqa: BLE001 - another format (older code) or a damaged row: computed in the request
        log.warning("figure snapshot unreadable; computing the figures", exc_info=True)
        return None
    if (stats.start, stats.end, stats.filters) != (start, end, filters):
        log.warning("figure snapshot of another view (%s–%s); computing the figures", stats.start, stats.end)
        return None
    return stats


def _claim(key: str, now: dt.datetime, today: dt.date) -> bool:
    FigureSnapshot.objects.get_or_create(key=key)
    start, end = preset_bounds(key, today)
    due = Q(computed_at__isnull=True) | Q(computed_at__lt=now - REFRESH_AFTER) | ~Q(start=start) | ~Q(end=end)
    free = Q(claimed_at__isnull=True) | Q(claimed_at__lte=F("computed_at")) | Q(claimed_at__lt=now - CLAIM_FOR)
    return FigureSnapshot.objects.filter(due & free, key=key).update(claimed_at=now) == 1


def refresh_snapshots(*, now: dt.datetime | None = None) -> dict[str, int]:
    """Compute and store the default views that are due (module docstring); idempotent."""
    now = now or timezone.now()
    today = timezone.localdate(now)
    refreshed = skipped = 0
    for key in PRESETS:
        if not _claim(key, now, today):
            skipped += 1
            continue
        start, end = preset_bounds(key, today)
        try:
            stats = compute_stats(start, end, StatsFilters(), now=now)  # the mood by place included
        except Exception:
            FigureSnapshot.objects.filter(key=key, claimed_at=now).update(claimed_at=None)  # the next run may try
            raise
        FigureSnapshot.objects.filter(key=key).update(start=start, end=end, computed_at=now, data=stats_to_json(stats))
        refreshed += 1
    log.info("figure snapshots: %s refreshed, %s skipped", refreshed, skipped)
    return {"refreshed": refreshed, "skipped": skipped}
