"""The dashboard of the director and the head of the service: tiles and charts, each clicking through to the inbox.

The incident tiles open the inbox with the hidden filters that select exactly the incidents behind the figure
(`merged=0`, `answered=1`, `on_time=1`, `reopened=1`, `first_answered=1`, `satisfied=1` with `final_from/to`;
the post tiles: the incidents of the posts, `posts_from/to`, `negative=1`; docs/STATS.md, "Click-through"); the
department figures open the department scorecard.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, replace
from typing import Any
from urllib.parse import urlencode

from django.conf import settings
from django.http import HttpRequest, HttpResponse
from django.urls import reverse
from django.utils.formats import date_format
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET

from otklik.core.decorators import reader_required
from otklik.core.htmx import render_page
from otklik.org.models import TopicGroup
from otklik.stats import charts
from otklik.stats.forms import DEFAULT_PERIOD, DashboardForm
from otklik.stats.selectors import PLACE_MOOD_MIN_POSTS, Stats, StatsFilters, compute_stats
from otklik.stats.snapshots import fresh_snapshot


def inbox_url(
    filters: StatsFilters,
    start: dt.date | None = None,
    end: dt.date | None = None,
    **extra: Any,
) -> str:
    """The inbox listing the incidents behind a figure (its own filters: group, lead department, channel, dates);
    `extra` adds or overrides inbox parameters (an empty value leaves the filter's own)."""
    params: dict[str, Any] = {"view": "all"}
    if filters.group is not None:
        params["group"] = filters.group.pk
    if filters.department is not None:
        params["department"] = filters.department.pk
    if filters.channel:
        params["channel"] = filters.channel
    if start is not None:
        params["date_from"] = start.isoformat()
    if end is not None:
        params["date_to"] = end.isoformat()
    params.update({k: v for k, v in extra.items() if v not in (None, "")})
    return f"{reverse('inbox')}?{urlencode(params)}"


def summary_letter_url(filters: StatsFilters, start: dt.date, end: dt.date) -> str:
    """The summary letter to the deputy head for the dashboard's period and filters (the stats API's names)."""
    params: dict[str, Any] = {"start": start.isoformat(), "end": end.isoformat()}
    if filters.group is not None:
        params["group"] = filters.group.pk
    if filters.department is not None:
        params["department"] = filters.department.pk
    if filters.channel:
        params["source"] = filters.channel
    return f"{reverse('documents:summary-letter')}?{urlencode(params)}"


def scorecard_url(start: dt.date, end: dt.date) -> str:
    return f"{reverse('department-scorecard')}?{urlencode({'start': start.isoformat(), 'end': end.isoformat()})}"


@dataclass(frozen=True)
class Tile:
    label: str
    value: str
    href: str
    hint: str = ""
    danger: bool = False
    link_label: str = ""


def _percent(value: float | None) -> str:
    return "—" if value is None else f"{round(value * 100)} %"


def _hours(value: float | None) -> str:
    return "—" if value is None else f"{value:.1f}".replace(".", ",")


def tiles(stats: Stats) -> list[Tile]:
    f, start, end = stats.filters, stats.start, stats.end
    incidents = inbox_url(f, start, end, merged="0")
    answered = inbox_url(f, start, end, merged="0", answered="1")
    # The incidents behind post-level and population figures (docs/STATS.md, "Click-through").
    post_incidents = inbox_url(f, posts_from=start.isoformat(), posts_to=end.isoformat())
    negative_incidents = inbox_url(f, posts_from=start.isoformat(), posts_to=end.isoformat(), negative="1")
    first_answered = inbox_url(f, start, end, merged="0", first_answered="1")
    final_answered = inbox_url(f, start, end, merged="0", first_answered="1", answered="1")
    satisfied = inbox_url(f, merged="0", final_from=start.isoformat(), final_to=end.isoformat(), satisfied="1")
    scorecard = scorecard_url(start, end)
    first, final = stats.first_answer, stats.final_answer
    return [
        Tile(
            _("Posts"),
            str(stats.posts),
            post_incidents,
            _("Posts written in the period"),
            link_label=_("incidents of these posts"),
        ),
        Tile(_("Incidents"), str(stats.incidents), incidents, _("Created in the period, duplicates merged")),
        Tile(_("Answered"), str(stats.answered), answered, _("A final answer or a refusal published")),
        Tile(
            _("On time"),
            _percent(stats.on_time_share),
            inbox_url(f, start, end, merged="0", on_time="1"),
            _("Every answer deadline kept: %(on_time)s of %(judged)s judged")
            % {"on_time": stats.on_time, "judged": stats.judged},
        ),
        Tile(
            _("First answer, working h"),
            f"{_hours(first.median_hours)} / {_hours(first.p90_hours)}",
            first_answered,
            _("median / 90th percentile; calendar h: %(median)s / %(p90)s")
            % {"median": _hours(first.median_calendar_hours), "p90": _hours(first.p90_calendar_hours)},
        ),
        Tile(
            _("Final answer, working h"),
            f"{_hours(final.median_hours)} / {_hours(final.p90_hours)}",
            final_answered,
            _("median / 90th percentile; calendar h: %(median)s / %(p90)s")
            % {"median": _hours(final.median_calendar_hours), "p90": _hours(final.p90_calendar_hours)},
        ),
        Tile(
            _("Overdue now"),
            str(stats.overdue_now),
            inbox_url(f, view="overdue"),
            _("Open and past due, whenever created"),
            danger=stats.overdue_now > 0,
        ),
        Tile(_("Satisfied"), _percent(stats.satisfied_share), satisfied, _("Of the incidents answered in the period")),
        Tile(
            _("Reopened"),
            _percent(stats.reopened_share),
            inbox_url(f, start, end, merged="0", answered="1", reopened="1"),
            _("%(reopened)s of %(answered)s answered incidents")
            % {"reopened": stats.reopened, "answered": stats.answered},
        ),
        Tile(_("Returned for rework"), _percent(stats.rework_share), scorecard, _("Of the departments' assignments")),
        Tile(_("Not our competence"), _percent(stats.not_competent_share), scorecard, _("Assignments declined")),
        Tile(
            _("Negative posts"),
            _percent(stats.negative_share),
            negative_incidents,
            _("baseline of the 4 weeks before: %(baseline)s") % {"baseline": _percent(stats.mood_baseline)},
            link_label=_("incidents of these posts"),
        ),
    ]


def _share_colour(value: float) -> str:
    return "#198754" if value >= 0.9 else "#ffc107" if value >= 0.7 else "#dc3545"


def _short(day: dt.date) -> str:
    return date_format(day, "d.m")


def build_charts(stats: Stats, groups: dict[int, TopicGroup]) -> dict[str, Any]:
    f = stats.filters
    group_ids = sorted({gid for day in stats.volume for gid in day.by_group}, key=lambda g: (g is None, g or 0))
    colours = {
        gid: charts.PALETTE[i % len(charts.PALETTE)] if gid is not None else charts.OTHER_COLOUR
        for i, gid in enumerate(group_ids)
    }

    def group_name(gid: int | None) -> str:
        return groups[gid].name if gid in groups else _("No group")

    legend = [{"name": group_name(gid), "colour": colours[gid]} for gid in group_ids]
    volume = charts.stacked_columns(
        [
            charts.Column(
                _short(day.day),
                [
                    charts.Segment(
                        day.by_group[gid],
                        colours[gid],
                        inbox_url(f, day.day, day.day, group=gid),
                        f"{_short(day.day)} · {group_name(gid)}: {day.by_group[gid]}",
                    )
                    for gid in group_ids
                    if day.by_group.get(gid)
                ],
            )
            for day in stats.volume
        ],
        label=_("Incidents per day by group"),
    )
    answer_time = charts.line_with_reference(
        [
            charts.Point(
                _short(d.day),
                d.first_answer_median_hours,
                inbox_url(f, d.day, d.day),
                _("%(day)s, median of %(count)s") % {"day": _short(d.day), "count": d.count},
            )
            for d in stats.answer_time
        ],
        label=_("Time to the first answer, working hours"),
        reference=float(settings.OTKLIK_ANSWER_HOURS),
        reference_label=_("target"),
    )
    ranked = sorted(
        (r for r in stats.by_department if r.on_time_share is not None),
        key=lambda r: (-(r.on_time_share or 0), r.department),
    )
    departments = charts.ranked_bars(
        [
            charts.HBar(
                r.department,
                r.on_time_share or 0.0,
                _percent(r.on_time_share),
                inbox_url(
                    replace(f, department=None),
                    assigned_to=r.department_id,
                    assigned_from=stats.start.isoformat(),
                    assigned_to_date=stats.end.isoformat(),
                ),
                _("%(department)s: %(share)s on time of %(count)s judged")
                % {"department": r.department, "share": _percent(r.on_time_share), "count": r.judged},
                colour=_share_colour(r.on_time_share or 0.0),
            )
            for r in ranked
        ],
        label=_("Departments by on-time share"),
        peak=1.0,
    )
    places = charts.ranked_bars(
        [
            *(
                charts.HBar(
                    p.name,
                    p.incidents,
                    str(p.incidents),
                    inbox_url(f, stats.start, stats.end, merged="0", territory=p.territory_id),
                    f"{p.name}: {p.incidents}",
                    colour=charts.PALETTE[3],
                )
                for p in stats.territories
            ),
            *(
                charts.HBar(
                    p.name,
                    p.incidents,
                    str(p.incidents),
                    inbox_url(f, stats.start, stats.end, merged="0", address=p.name),
                    f"{p.name}: {p.incidents}",
                    colour=charts.PALETTE[0],
                )
                for p in stats.addresses
            ),
        ],
        label=_("Places with most incidents"),
    )
    mood = charts.line_with_reference(
        [
            charts.Point(
                _short(d.day),
                d.negative_share,
                inbox_url(f, posts_from=d.day.isoformat(), posts_to=d.day.isoformat(), negative="1"),
                _("%(day)s, %(negative)s of %(posts)s posts negative")
                % {"day": _short(d.day), "negative": d.negative, "posts": d.posts},
            )
            for d in stats.mood
        ],
        label=_("Mood index: share of negative posts per day"),
        reference=stats.mood_baseline,
        reference_label=_("baseline"),
        as_percent=True,
    )
    return {
        "volume": volume,
        "legend": legend,
        "answer_time": answer_time,
        "departments": departments,
        "places": places,
        "mood": mood,
    }


@reader_required
@require_GET
def dashboard(request: HttpRequest) -> HttpResponse:
    form = DashboardForm(request.GET or None, initial={"period": DEFAULT_PERIOD})
    start, end = form.bounds()
    filters = form.filters()
    # The default views come from the snapshots the beat computes ahead (otklik.stats.snapshots); the others live.
    stats = fresh_snapshot(start, end, filters)
    snapshot = stats is not None
    if stats is None:
        stats = compute_stats(start, end, filters)  # the mood by place included
    groups = TopicGroup.objects.in_bulk([r.group_id for r in stats.by_group if r.group_id is not None])
    group_rows = [
        {
            "row": row,
            "href": inbox_url(filters, start, end, group=row.group_id),
        }
        for row in stats.by_group
    ]
    place_rows = [
        {
            "row": row,
            "href": inbox_url(filters, start, end, merged="0", territory=row.territory_id)
            if row.territory_id is not None
            else inbox_url(filters, start, end, merged="0", address=row.name),
        }
        for row in stats.place_mood
    ]
    context = {
        "place_rows": place_rows,
        "place_mood_min_posts": PLACE_MOOD_MIN_POSTS,
        "form": form,
        "stats": stats,
        "snapshot": snapshot,
        "start": start,
        "end": end,
        "tiles": tiles(stats),
        "charts": build_charts(stats, groups),
        "group_rows": group_rows,
        "scorecard_url": scorecard_url(start, end),
        "summary_letter_url": summary_letter_url(filters, start, end),
        "target_hours": settings.OTKLIK_ANSWER_HOURS,
    }
    return render_page(request, "stats/dashboard.html", context, partial="dashboard")
