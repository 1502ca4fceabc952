"""The spikes page (issue 4, step 6): topics and places far above their weekly volume, for the service and the
director. Each spike links to the incidents behind it (the inbox filtered to their ids) and shows a small
server-rendered SVG of the hourly volume of its topic or place over the last week (no JS: the CSP allows none inline).
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from django import forms
from django.db.models import QuerySet
from django.http import HttpRequest, HttpResponse
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from otklik.cases.choices import IncidentStatus
from otklik.core.decorators import reader_required
from otklik.core.htmx import render_page
from otklik.core.xlsx import absolute, export_filename, field_header, wants_xlsx, xlsx_response
from otklik.intake.models import Post
from otklik.nlp.models import Spike, SpikeKind, SpikeWindow
from otklik.nlp.spikes import BASELINE_DAYS, _place

#: At most this many spikes are listed (active ones first, then the most recently detected).
LIST_LIMIT = 100
#: The sparkline: one bar per hour over the last week.
SPARK_HOURS = BASELINE_DAYS * 24
SPARK_BAR = 2  # px per hour
SPARK_HEIGHT = 32  # px


def _select(label: Any) -> forms.Select:
    return forms.Select(attrs={"class": "form-select form-select-sm", "aria-label": label})


class SpikeFilterForm(forms.Form):
    state = forms.ChoiceField(
        label=_("state"),
        choices=[("", _("Active and recent")), ("active", _("Active only"))],
        required=False,
        widget=_select(_("state")),
    )
    kind = forms.ChoiceField(
        label=_("kind"),
        choices=[("", _("Topics and places")), *SpikeKind.choices],
        required=False,
        widget=_select(_("kind")),
    )
    window = forms.ChoiceField(
        label=_("window"),
        choices=[("", _("Hour and day")), *SpikeWindow.choices],
        required=False,
        widget=_select(_("window")),
    )
    q = forms.CharField(
        label=_("Search"),
        required=False,
        max_length=200,
        widget=forms.TextInput(
            attrs={
                "type": "search",
                "class": "form-control form-control-sm",
                "placeholder": _("Topic or address"),
                "autocomplete": "off",
            }
        ),
    )

    def valid_data(self) -> dict[str, Any]:
        self.is_valid()
        return {name: value for name, value in self.cleaned_data.items() if name not in self.errors}


@dataclass
class SparkBar:
    x: int
    y: int
    height: int
    count: int
    hour: dt.datetime


@dataclass
class SpikeRow:
    spike: Spike
    ratio: float | None  # None: no baseline (nothing in the week before)
    bars: list[SparkBar]
    peak: int
    inbox_url: str


def spike_list(filters: dict[str, Any]) -> QuerySet[Spike]:
    spikes = Spike.objects.all()
    if filters.get("state") == "active":
        spikes = spikes.filter(is_active=True)
    if filters.get("kind"):
        spikes = spikes.filter(kind=filters["kind"])
    if filters.get("window"):
        spikes = spikes.filter(window=filters["window"])
    q = (filters.get("q") or "").strip()
    if q:
        spikes = spikes.filter(key__icontains=q)
    return spikes.order_by("-is_active", "-detected_at", "-id")


def hourly_volume(keys: set[tuple[str, str]], now: dt.datetime) -> dict[tuple[str, str], list[int]]:
    """(kind, key) → posts per hour over the last `SPARK_HOURS` hours (oldest first), counted as the detector does.

    One query over the week's posts; a post's place comes from the detector's own (cached) helper, so the bars agree
    with the counts that raised the spike.
    """
    volume: dict[tuple[str, str], list[int]] = defaultdict(lambda: [0] * SPARK_HOURS)
    if not keys:
        return volume
    start = now - dt.timedelta(hours=SPARK_HOURS)
    want_places = any(kind == SpikeKind.PLACE for kind, _key in keys)
    rows = (
        Post.objects.filter(posted_at__gt=start, posted_at__lte=now, incident__isnull=False)
        .exclude(incident__status=IncidentStatus.NO_ANSWER)
        .values_list("pk", "posted_at", "incident__topic__name", "incident__address", "text")
    )
    for post_id, posted_at, topic, address, text in rows.iterator(chunk_size=2000):
        hour = min(SPARK_HOURS - 1, int((posted_at - start).total_seconds() // 3600))
        if topic and (SpikeKind.TOPIC.value, str(topic)[:255]) in keys:
            volume[(SpikeKind.TOPIC.value, str(topic)[:255])][hour] += 1
        if want_places:
            place = _place(post_id, address or "", text or "")
            if place and (SpikeKind.PLACE.value, place[:255]) in keys:
                volume[(SpikeKind.PLACE.value, place[:255])][hour] += 1
    return volume


def spark_bars(counts: list[int], start: dt.datetime) -> tuple[list[SparkBar], int]:
    """SVG bars (non-empty hours only) scaled to the highest hour; and that highest count."""
    peak = max(counts, default=0)
    bars = []
    for index, count in enumerate(counts):
        if not count:
            continue
        height = max(1, round(SPARK_HEIGHT * count / peak))
        bars.append(
            SparkBar(
                x=index * SPARK_BAR,
                y=SPARK_HEIGHT - height,
                height=height,
                count=count,
                hour=start + dt.timedelta(hours=index),
            )
        )
    return bars, peak


def spike_rows(spikes: list[Spike], now: dt.datetime) -> list[SpikeRow]:
    volume = hourly_volume({(s.kind, s.key) for s in spikes}, now)
    start = now - dt.timedelta(hours=SPARK_HOURS)
    rows = []
    for spike in spikes:
        bars, peak = spark_bars(volume.get((spike.kind, spike.key), [0] * SPARK_HOURS), start)
        ids = ",".join(str(pk) for pk in spike.incident_ids)
        rows.append(
            SpikeRow(
                spike=spike,
                ratio=spike.count / spike.baseline if spike.baseline > 0 else None,
                bars=bars,
                peak=peak,
                inbox_url=f"/inbox/?view=all&ids={ids}" if ids else "",
            )
        )
    return rows


@reader_required
def spike_list_view(request: HttpRequest) -> HttpResponse:
    form = SpikeFilterForm(request.GET)
    filters = form.valid_data()
    now = timezone.now()
    if wants_xlsx(request):
        return export_spikes(request, spike_list(filters))
    spikes = list(spike_list(filters)[:LIST_LIMIT])
    context = {
        "form": form,
        "rows": spike_rows(spikes, now),
        "has_filters": any(filters.values()),
        "active_count": Spike.objects.filter(is_active=True).count(),
        "spark_width": SPARK_HOURS * SPARK_BAR,
        "spark_height": SPARK_HEIGHT,
        "spark_bar": SPARK_BAR - 0.5,
        "limit": LIST_LIMIT,
    }
    return render_page(request, "nlp/spikes.html", context, partial="spikes")


def export_spikes(request: HttpRequest, spikes: QuerySet[Spike]) -> HttpResponse:
    """Every spike matching the filters (the page shows the latest LIST_LIMIT) as XLSX."""
    headers = [
        (field_header(Spike, "key"), 40),
        field_header(Spike, "kind"),
        field_header(Spike, "window"),
        field_header(Spike, "count"),
        field_header(Spike, "baseline"),
        _("Times the usual"),
        field_header(Spike, "is_active"),
        field_header(Spike, "detected_at"),
        field_header(Spike, "last_seen_at"),
        field_header(Spike, "ended_at"),
        _("Incidents"),
        _("Link to the incidents"),
    ]

    def lines() -> Iterator[list[Any]]:
        for spike in spikes.iterator(chunk_size=1000):
            ids = ",".join(str(pk) for pk in spike.incident_ids)
            yield [
                spike.key,
                spike.get_kind_display(),
                spike.get_window_display(),
                spike.count,
                round(spike.baseline, 2),
                round(spike.count / spike.baseline, 1) if spike.baseline > 0 else None,
                spike.is_active,
                spike.detected_at,
                spike.last_seen_at,
                spike.ended_at,
                len(spike.incident_ids),
                absolute(request, f"/inbox/?view=all&ids={ids}") if ids else "",
            ]

    return xlsx_response(export_filename("spikes"), [(_("Spikes"), headers, lines())])
