"""The satisfaction figures' classification of each published final answer, kept on the answer itself.

`satisfied_share` (docs/STATS.md) counts, for a period, the first final answer of each incident published in it
and, of those, the ones after which the incident is classified satisfied (`classify_incidents`). Worked out at
query time it looked up, for each of the period's final answers, an earlier final answer, a satisfied reply, a
solved survey and a reopening: at 1M posts, for two months' ~110,000 final answers, about 200 ms, in the dashboard
and in every «satisfied» link into the inbox. Both facts depend on the answer and its incident only, not on the
period, so they are kept on the answer (`Answer.previous_final_at`, `Answer.satisfied_after`) and the figures read
them off one index.

`refresh_outcomes(incident_id)` recomputes both for the answers of an incident in one UPDATE (idempotent; a few
rows), its incident locked first. It runs on every save and delete of the rows they derive from (the receivers
below: an answer, a reply, a survey, a `reopened` event, also one inserted at the end of a `deferring_events`
block), and explicitly where those rows change by a conditional UPDATE (a survey answered:
`services._answer_survey`). Bulk loads, which send no signals (bench/scale_gen.py, the tests' seeded city:
`refresh_all_outcomes`), and the migration that added the fields update all answers at once.
`tests/satisfaction/test_outcomes.py` checks the kept fields against the classification in Python after each kind
of change.
"""

from __future__ import annotations

from typing import Any

from django.db import transaction
from django.db.models import Case, Exists, OuterRef, Q, Subquery, Value, When
from django.db.models.signals import post_delete, post_save

from otklik.answers.choices import AnswerKind, AnswerStatus
from otklik.answers.models import Answer
from otklik.cases.choices import EventVerb
from otklik.cases.models import Event, Incident
from otklik.cases.services import events_inserted
from otklik.satisfaction.choices import SurveyResult, SurveyStatus, Verdict
from otklik.satisfaction.models import FollowUp, Survey

PUBLISHED_FINAL = Q(kind=AnswerKind.FINAL, status=AnswerStatus.PUBLISHED, published_at__isnull=False)


def satisfied_since_answer() -> Q:
    """For an answer (the outer row): its incident is classified satisfied since it (`classify_incidents`) — a
    `satisfied` follow-up or a survey answered «solved» since the answer, and no `reopened` event since it."""
    since_answer = OuterRef("published_at")
    reopened = Exists(
        Event.objects.filter(incident=OuterRef("incident"), verb=EventVerb.REOPENED, created_at__gte=since_answer)
    )
    satisfied = Exists(
        FollowUp.objects.filter(incident=OuterRef("incident"), verdict=Verdict.SATISFIED, created_at__gte=since_answer)
    ) | Exists(
        Survey.objects.filter(
            incident=OuterRef("incident"),
            status=SurveyStatus.ANSWERED,
            result=SurveyResult.SOLVED,
            answered_at__gte=since_answer,
        )
    )
    return Q(satisfied) & Q(~reopened)


def answer_outcomes() -> dict[str, Any]:
    """The values of `previous_final_at` and `satisfied_after` for `Answer.objects….update(**answer_outcomes())`
    (the updated answer is the outer row; an answer that is not a published final one gets NULL and False)."""
    earlier = (
        Answer.objects.filter(PUBLISHED_FINAL, incident=OuterRef("incident"))
        .filter(
            Q(published_at__lt=OuterRef("published_at"))
            | Q(published_at=OuterRef("published_at"), pk__lt=OuterRef("pk"))
        )
        .order_by("-published_at", "-pk")
        .values("published_at")[:1]
    )
    return {
        "previous_final_at": Case(When(PUBLISHED_FINAL, then=Subquery(earlier)), default=None),
        "satisfied_after": Case(
            When(PUBLISHED_FINAL & satisfied_since_answer(), then=Value(True)), default=Value(False)
        ),
    }


def refresh_outcomes(incident_id: int | None) -> None:
    """Recompute the kept classification of the incident's answers (one UPDATE of its published final answers and
    of those that carry a value from when they were).

    The incident's row is locked first, as the services lock it before its answers: two refreshes of one incident
    run one after the other, and the second, a new statement, sees what the first's transaction wrote (a reply and
    a reopening arriving together cannot leave a stale value); and no refresh waits for an answer being edited or
    published while holding what that one waits for (drafts are not updated)."""
    if incident_id is None:
        return
    with transaction.atomic():
        list(Incident.objects.select_for_update().filter(pk=incident_id).values_list("pk", flat=True))
        Answer.objects.filter(incident_id=incident_id).filter(
            PUBLISHED_FINAL | Q(satisfied_after=True) | Q(previous_final_at__isnull=False)
        ).update(**answer_outcomes())


def refresh_all_outcomes() -> int:
    """Recompute the kept classification of every answer (one UPDATE): after a bulk load, which sends no signals.
    Returns the number of answers."""
    return Answer.objects.update(**answer_outcomes())


def _changed(sender: Any, instance: Any, raw: bool = False, **kwargs: Any) -> None:
    if raw:  # loaddata: the fixture carries the fields as they were
        return
    if sender is Answer and instance.kind != AnswerKind.FINAL:
        return
    if sender is Event and instance.verb != EventVerb.REOPENED:
        return
    refresh_outcomes(instance.incident_id)


def _events_inserted(sender: Any, events: list[Event], **kwargs: Any) -> None:
    for incident_id in {event.incident_id for event in events if event.verb == EventVerb.REOPENED}:
        refresh_outcomes(incident_id)


def connect() -> None:
    """Called by the app's `ready()`. Events are append-only: no receiver of their deletion (it would make Django
    load every event of a deleted incident instead of deleting them in one statement)."""
    for model in (Answer, FollowUp, Survey, Event):
        post_save.connect(_changed, sender=model, dispatch_uid=f"satisfaction-outcomes-save-{model._meta.label_lower}")
    events_inserted.connect(_events_inserted, sender=Event, dispatch_uid="satisfaction-outcomes-events")
    for model in (Answer, FollowUp, Survey):
        post_delete.connect(_changed, sender=model, dispatch_uid=f"satisfaction-outcomes-del-{model._meta.label_lower}")
