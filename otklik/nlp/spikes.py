"""Step 6: spikes — a topic or a place whose volume in the last hour or day is far above its weekly baseline.

`detect_spikes()` runs every 10 minutes (otklik.nlp.tasks.detect_spikes_task). A post counts at the time it was
posted (`posted_at`, not the time it was received, so a catch-up or an import of history raises no spike), under the
topic of its incident (posts merged into an incident count under its topic) and under its place: the incident's
address, else the first address its own text names (street and house). Posts of incidents closed as abusive or spam
(`no_answer`) do not count.

A key spikes in a window when its count there is at least `MIN_COUNT[window]` and at least `RATIO` times its
baseline: the average count per window over the `BASELINE_DAYS` before the window. The spike is created once while
it lasts (one active row per kind, key and window: a partial unique constraint, so two concurrent runs cannot both
create it); a later run above the threshold only updates it, and it ends when it has not been above the threshold
for a whole window. A day spike is not raised for a key that had an hour spike within the last day (the same burst:
an hour of 12 posts is a day of 12 posts too). The head of the service is notified once per spike (a claim on
`notified_at`, and the notification's dedup key `spike:<id>`), the notice flagged for the media department.
"""

from __future__ import annotations

import datetime as dt
import logging
from collections import defaultdict
from dataclasses import dataclass, field

from django.db import IntegrityError, transaction
from django.urls import NoReverseMatch, reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import pgettext

from otklik.accounts.choices import Role
from otklik.cases.choices import IncidentStatus
from otklik.intake.models import Post
from otklik.nlp.address import extract_address
from otklik.nlp.duplicates import place_key
from otklik.nlp.models import Spike, SpikeKind, SpikeWindow
from otklik.notifications.choices import NotificationKind
from otklik.notifications.services import do_notify, service_recipients

log = logging.getLogger(__name__)

#: The length of each window.
WINDOWS: dict[str, dt.timedelta] = {SpikeWindow.HOUR: dt.timedelta(hours=1), SpikeWindow.DAY: dt.timedelta(days=1)}
#: At least this many posts in the window.
MIN_COUNT: dict[str, int] = {SpikeWindow.HOUR: 5, SpikeWindow.DAY: 10}
#: At least this many times the baseline.
RATIO = 3.0
#: The baseline: the average per window over these days before the window.
BASELINE_DAYS = 7
#: At most this many incident ids are kept on a spike (the newest).
MAX_INCIDENT_IDS = 200


@dataclass
class _Tally:
    count: int = 0
    before: int = 0
    incident_ids: set[int] = field(default_factory=set)


# (post id, incident address, text hash) → place key: a run every 10 minutes sees the same week of posts again.
_PLACE_CACHE: dict[tuple[int, str, int], str] = {}
_PLACE_CACHE_MAX = 50_000


def _place(post_id: int, address: str, text: str) -> str:
    """The place of a post: the incident's address when it names a house, else the first address of the text."""
    cache_key = (post_id, address, hash(text))
    if cache_key in _PLACE_CACHE:
        return _PLACE_CACHE[cache_key]
    found = extract_address(address) if address else None
    if found is None or not found.house:
        found = extract_address(text)
    if len(_PLACE_CACHE) >= _PLACE_CACHE_MAX:
        _PLACE_CACHE.clear()
    _PLACE_CACHE[cache_key] = place = place_key(found)
    return place


def _window_label(window: str) -> str:
    if window == SpikeWindow.HOUR:
        return pgettext("in the last …", "hour")
    return pgettext("in the last …", "day")


def _tallies(now: dt.datetime) -> dict[tuple[str, str, str], _Tally]:
    """(kind, key, window) → counts in the window and in the baseline before it."""
    longest = max(WINDOWS.values())
    start = now - longest - dt.timedelta(days=BASELINE_DAYS)
    rows = (
        Post.objects.filter(posted_at__gte=start, posted_at__lte=now, incident__isnull=False)
        .exclude(incident__status=IncidentStatus.NO_ANSWER)
        .values_list("pk", "posted_at", "incident_id", "incident__topic__name", "incident__address", "text")
    )
    tallies: dict[tuple[str, str, str], _Tally] = defaultdict(_Tally)
    for post_id, posted_at, incident_id, topic, address, text in rows.iterator(chunk_size=2000):
        keys = []
        if topic:
            keys.append((SpikeKind.TOPIC.value, str(topic)))
        place = _place(post_id, address or "", text or "")
        if place:
            keys.append((SpikeKind.PLACE.value, place))
        for window, length in WINDOWS.items():
            if posted_at > now - length:
                in_window = True
            elif posted_at > now - length - dt.timedelta(days=BASELINE_DAYS):
                in_window = False
            else:
                continue
            for kind, key in keys:
                tally = tallies[(kind, key, window)]
                if in_window:
                    tally.count += 1
                    tally.incident_ids.add(incident_id)
                else:
                    tally.before += 1
    return tallies


def detect_spikes(now: dt.datetime | None = None) -> list[Spike]:
    """Find the spikes at `now` (default: now); create and notify the new ones; returns the new ones."""
    now = now or timezone.now()
    for window, length in WINDOWS.items():
        Spike.objects.filter(is_active=True, window=window, last_seen_at__lt=now - length).update(
            is_active=False, ended_at=now
        )
    created: list[Spike] = []
    # Hours first: a burst within the hour is a day spike too, and one notice of it is enough.
    tallies = sorted(_tallies(now).items(), key=lambda item: (WINDOWS[item[0][2]], item[0]))
    for (kind, key, window), tally in tallies:
        periods = dt.timedelta(days=BASELINE_DAYS) / WINDOWS[window]
        baseline = tally.before / periods
        if tally.count < MIN_COUNT[window] or tally.count < RATIO * baseline:
            continue
        if window == SpikeWindow.DAY and _hour_spike_within_day(kind, key, now):
            continue
        spike = _record(kind, key, window, tally, baseline, now)
        if spike is not None:
            created.append(spike)
    for spike in Spike.objects.filter(is_active=True, notified_at__isnull=True):
        _notify(spike, now)
    return created


def _hour_spike_within_day(kind: str, key: str, now: dt.datetime) -> bool:
    """An hour spike of the key detected within the last day: a day spike now would be the same burst."""
    since = now - WINDOWS[SpikeWindow.DAY]
    return Spike.objects.filter(kind=kind, key=key[:255], window=SpikeWindow.HOUR, detected_at__gte=since).exists()


def _record(kind: str, key: str, window: str, tally: _Tally, baseline: float, now: dt.datetime) -> Spike | None:
    """Update the active spike of the key, or create it (→ the new spike; None when it was already there)."""
    ids = sorted(tally.incident_ids)[-MAX_INCIDENT_IDS:]
    with transaction.atomic():
        active = Spike.objects.select_for_update().filter(kind=kind, key=key[:255], window=window, is_active=True)
        spike = active.first()
        if spike is not None:
            spike.count = max(spike.count, tally.count)
            spike.incident_ids = sorted(set(spike.incident_ids) | set(ids))[-MAX_INCIDENT_IDS:]
            spike.last_seen_at = now
            spike.save(update_fields=["count", "incident_ids", "last_seen_at"])
            return None
    try:
        with transaction.atomic():
            spike = Spike.objects.create(
                kind=kind,
                key=key[:255],
                window=window,
                count=tally.count,
                baseline=baseline,
                incident_ids=ids,
                detected_at=now,
                last_seen_at=now,
            )
    except IntegrityError:
        return None  # created by a concurrent run
    log.info("spike: %s", spike)
    return spike


def _notify(spike: Spike, now: dt.datetime) -> None:
    """Notify the head(s) of the service once (claim `notified_at`; no head yet → try again next run)."""
    recipients = service_recipients(roles=(Role.HEAD,))
    if not recipients:
        return
    with transaction.atomic():
        if not Spike.objects.filter(pk=spike.pk, notified_at__isnull=True).update(notified_at=now):
            return
        window = _window_label(spike.window)
        title = _("Spike: %(key)s — %(count)s posts in the last %(window)s") % {
            "key": spike.key,
            "count": spike.count,
            "window": window,
        }
        incidents = ", ".join(f"#{pk}" for pk in spike.incident_ids[-20:])
        body = _(
            "For the media department. %(kind)s: %(key)s. Posts in the last %(window)s: %(count)s; on average per "
            "%(window)s over the past week: %(baseline).1f. Incidents: %(incidents)s."
        ) % {
            "kind": spike.get_kind_display(),
            "key": spike.key,
            "window": window,
            "count": spike.count,
            "baseline": spike.baseline,
            "incidents": incidents,
        }
        try:
            url = reverse("admin:nlp_spike_change", args=[spike.pk])
        except NoReverseMatch:
            url = ""
        do_notify(
            recipients, kind=NotificationKind.GENERIC, title=title, body=body, url=url, dedup_key=f"spike:{spike.pk}"
        )
