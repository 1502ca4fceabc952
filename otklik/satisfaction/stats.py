"""Satisfaction figures per incident, department, topic and period (for the incident card and the reports).

The population: incidents with a published final answer in the period [start, end) (the first such answer in the
period counts). Each falls in exactly one class, judged on what happened after that answer:
- reopened: the incident was reopened (a `reopened` event) after the answer — by a follow-up, the survey or by
  hand;
- satisfied: not reopened, and the citizen was satisfied: a `satisfied` follow-up, or the survey answered
  "solved";
- no reaction: neither (no reply, or only neutral ones, or a new question, or a "not satisfied" that was not
  followed by a reopening).
The percentages are of the population and add up to 100.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from django.utils import timezone

from otklik.answers.choices import AnswerKind, AnswerStatus
from otklik.answers.models import Answer
from otklik.cases.choices import EventVerb
from otklik.cases.models import Event
from otklik.satisfaction.choices import SurveyResult, SurveyStatus, Verdict
from otklik.satisfaction.models import FollowedThread, FollowUp, Survey

GROUPINGS = ("incident", "department", "topic", "period")
PERIODS = ("day", "week", "month")
SATISFIED = "satisfied"
REOPENED = "reopened"
NO_REACTION = "no_reaction"


@dataclass
class Row:
    key: Any
    label: str
    total: int = 0
    satisfied: int = 0
    reopened: int = 0
    no_reaction: int = 0
    incident_ids: list[int] = field(default_factory=list)

    def _share(self, count: int) -> float | None:
        return round(100.0 * count / self.total, 1) if self.total else None

    @property
    def satisfied_pct(self) -> float | None:
        return self._share(self.satisfied)

    @property
    def reopened_pct(self) -> float | None:
        return self._share(self.reopened)

    @property
    def no_reaction_pct(self) -> float | None:
        return self._share(self.no_reaction)

    def as_dict(self) -> dict[str, Any]:
        return {
            "key": self.key,
            "label": self.label,
            "total": self.total,
            "satisfied": self.satisfied,
            "reopened": self.reopened,
            "no_reaction": self.no_reaction,
            "satisfied_pct": self.satisfied_pct,
            "reopened_pct": self.reopened_pct,
            "no_reaction_pct": self.no_reaction_pct,
        }


def classify_incidents(answered: dict[int, dt.datetime]) -> dict[int, str]:
    """incident id → its class (module docstring), for incidents with their final answer's time."""
    ids = list(answered)
    if not ids:
        return {}
    reopened: set[int] = set()
    for incident_id, at in Event.objects.filter(incident_id__in=ids, verb=EventVerb.REOPENED).values_list(
        "incident_id", "created_at"
    ):
        if at >= answered[incident_id]:
            reopened.add(incident_id)
    satisfied: set[int] = set()
    for incident_id, at in FollowUp.objects.filter(incident_id__in=ids, verdict=Verdict.SATISFIED).values_list(
        "incident_id", "created_at"
    ):
        if at >= answered[incident_id]:
            satisfied.add(incident_id)
    for incident_id, answered_at in Survey.objects.filter(
        incident_id__in=ids, status=SurveyStatus.ANSWERED, result=SurveyResult.SOLVED
    ).values_list("incident_id", "answered_at"):
        if answered_at is not None and answered_at >= answered[incident_id]:
            satisfied.add(incident_id)
    return {
        incident_id: REOPENED if incident_id in reopened else SATISFIED if incident_id in satisfied else NO_REACTION
        for incident_id in ids
    }


def _population(
    start: dt.datetime, end: dt.datetime, incident_ids: Iterable[int] | None = None
) -> list[dict[str, Any]]:
    answers = Answer.objects.filter(
        kind=AnswerKind.FINAL, status=AnswerStatus.PUBLISHED, published_at__gte=start, published_at__lt=end
    )
    if incident_ids is not None:
        answers = answers.filter(incident_id__in=list(incident_ids))
    first: dict[int, dict[str, Any]] = {}
    for row in answers.order_by("published_at", "pk").values(
        "incident_id",
        "published_at",
        "incident__lead_department_id",
        "incident__lead_department__name",
        "incident__topic_id",
        "incident__topic__name",
    ):
        first.setdefault(row["incident_id"], dict(row))
    return list(first.values())


def _period_key(at: dt.datetime, period: str) -> dt.date:
    day = timezone.localtime(at).date()
    if period == "week":
        return day - dt.timedelta(days=day.weekday())
    if period == "month":
        return day.replace(day=1)
    return day


def satisfaction_stats(
    start: dt.datetime,
    end: dt.datetime,
    *,
    by: str | None = None,
    period: str = "month",
    incident_ids: Iterable[int] | None = None,
) -> list[Row]:
    """Rows of the figures for the incidents answered in [start, end): one row for all (`by=None`), or one per
    incident, department (lead), topic, or period (`period`: day, week or month of the answer, city time).
    Incidents without a department or topic are in a row with key None."""
    if by is not None and by not in GROUPINGS:
        raise ValueError(f"by must be one of {GROUPINGS}")
    if period not in PERIODS:
        raise ValueError(f"period must be one of {PERIODS}")
    population = _population(start, end, incident_ids)
    classes = classify_incidents({row["incident_id"]: row["published_at"] for row in population})
    rows: dict[Any, Row] = {}
    for item in population:
        if by is None:
            key, label = None, ""
        elif by == "incident":
            key, label = item["incident_id"], f"#{item['incident_id']}"
        elif by == "department":
            key, label = item["incident__lead_department_id"], item["incident__lead_department__name"] or ""
        elif by == "topic":
            key, label = item["incident__topic_id"], item["incident__topic__name"] or ""
        else:
            key = _period_key(item["published_at"], period)
            label = key.isoformat()
        row = rows.setdefault(key, Row(key=key, label=label))
        row.total += 1
        row.incident_ids.append(item["incident_id"])
        setattr(row, classes[item["incident_id"]], getattr(row, classes[item["incident_id"]]) + 1)
    if by is None and not rows:
        return [Row(key=None, label="")]
    ordered = sorted(rows.values(), key=lambda r: (r.key is None, str(r.key) if by == "period" else r.label))
    return ordered


def totals(start: dt.datetime, end: dt.datetime) -> Row:
    return satisfaction_stats(start, end)[0]


# --- the incident card -------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class IncidentSatisfaction:
    follow_ups: list[FollowUp]
    surveys: list[Survey]
    followed_until: dt.datetime | None  # the thread is followed until then (None: not followed now)
    state: str  # satisfied / reopened / no_reaction, or "" before a final answer

    @property
    def is_empty(self) -> bool:
        return not self.follow_ups and not self.surveys and self.followed_until is None and not self.state


def incident_satisfaction(incident: Any) -> IncidentSatisfaction:
    """What the card shows: the follow-ups (verdicts and actions), the surveys, whether the thread is still followed,
    and the incident's class after its latest final answer. Nothing to read when the card's prefetched answers
    show none published (the thread is followed, and asked, only after one)."""
    prefetched = getattr(incident, "_prefetched_objects_cache", {}).get("answers")
    if prefetched is not None and not any(a.status == AnswerStatus.PUBLISHED for a in prefetched):
        return IncidentSatisfaction(follow_ups=[], surveys=[], followed_until=None, state="")
    now = timezone.now()
    follow_ups = list(FollowUp.objects.filter(incident=incident).select_related("post").order_by("created_at", "pk"))
    surveys = list(Survey.objects.filter(incident=incident).order_by("scheduled_at", "pk"))
    until = (
        FollowedThread.objects.filter(incident=incident, followed_until__gte=now)
        .order_by("-followed_until")
        .values_list("followed_until", flat=True)
        .first()
    )
    if prefetched is not None:
        # The card has loaded the answers: the latest published final one is among them.
        final = max(
            (
                a.published_at
                for a in prefetched
                if a.kind == AnswerKind.FINAL and a.status == AnswerStatus.PUBLISHED and a.published_at is not None
            ),
            default=None,
        )
    else:
        final = (
            Answer.objects.filter(incident=incident, kind=AnswerKind.FINAL, status=AnswerStatus.PUBLISHED)
            .exclude(published_at=None)
            .order_by("-published_at")
            .values_list("published_at", flat=True)
            .first()
        )
    state = classify_incidents({incident.pk: final})[incident.pk] if final is not None else ""
    return IncidentSatisfaction(follow_ups=follow_ups, surveys=surveys, followed_until=until, state=state)
