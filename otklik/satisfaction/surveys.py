"""Asking "Is the problem solved?" N days after a final answer, in the thread where it went (the beat sweep).

A survey row is scheduled when a final answer is published in a thread (otklik.satisfaction.services
.start_following; never after a refusal or an intermediate answer). `sweep_surveys` (beat, every 5 minutes):
1. Expire questions asked more than OTKLIK_SURVEY_ANSWER_DAYS ago and still unanswered (`sent` → `expired`).
2. For each due `scheduled` row: skip it (with the reason in `last_error`) when the incident was reopened or is
   no longer answered/closed, when the answer did not go out in that thread, when the citizen already said whether
   he is satisfied (a satisfied / not satisfied follow-up), or when the channel cannot ask (no adapter; an adapter
   without `ask_solved` in a channel outside OTKLIK_SURVEY_REPLY_CHANNELS).
3. Claim the row with a conditional UPDATE (`scheduled` and due → `sent`, attempts + 1): any number of sweeps
   and workers ask once. Then ask outside any transaction:
   - an adapter with `ask_solved(thread, question, key)` (Telegram): inline buttons «Yes» / «No» whose callback
     data is `solved:<key>:yes|no` (the poller hands a press to `services.record_callback`);
   - a channel in OTKLIK_SURVEY_REPLY_CHANNELS (VK): a short reply comment in the thread through the adapter's
     `publish` (idempotency key derived from the survey); the citizen's reply is classified when it comes in
     (services.follow_up_incident).
   A temporary channel error puts the row back to `scheduled` an hour later (at most SURVEY_MAX_ATTEMPTS asks);
   a permanent one skips it. At most once: a worker that dies after the claim leaves the row `sent` (it expires),
   never asks twice.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import logging
from dataclasses import dataclass
from typing import Any

from django.conf import settings
from django.db.models import F
from django.utils import timezone

from otklik.answers.channels import ChannelError, PermanentChannelError, get_adapter
from otklik.answers.choices import PublicationStatus
from otklik.cases.choices import REOPENABLE_STATUSES
from otklik.cases.models import Incident
from otklik.satisfaction.choices import SurveyStatus, Verdict
from otklik.satisfaction.models import FollowUp, Survey
from otklik.satisfaction.services import _live, survey_answer_days

log = logging.getLogger(__name__)

SWEEP_BATCH = 200
SURVEY_MAX_ATTEMPTS = 3
RETRY_AFTER = dt.timedelta(hours=1)
#: What the citizen is asked: content sent to citizens, like the answer templates (settable, in Russian).
DEFAULT_QUESTION = "Здравствуйте! Подскажите, пожалуйста, проблема, о которой вы писали, решена?"
DEFAULT_REPLY_QUESTION = (
    "Здравствуйте! Подскажите, пожалуйста, проблема, о которой вы писали, решена? Ответьте здесь «да» или «нет»."
)


def question() -> str:
    return str(getattr(settings, "OTKLIK_SURVEY_QUESTION", "") or DEFAULT_QUESTION)


def reply_question() -> str:
    return str(getattr(settings, "OTKLIK_SURVEY_REPLY_QUESTION", "") or DEFAULT_REPLY_QUESTION)


def reply_channels() -> frozenset[str]:
    return frozenset(getattr(settings, "OTKLIK_SURVEY_REPLY_CHANNELS", ("vk",)))


def survey_idempotency_key(survey_id: int) -> str:
    return hashlib.sha256(f"otklik:survey:{survey_id}".encode()).hexdigest()[:32]


@dataclass(frozen=True)
class _Question:
    """What the adapter's `publish` reads of an answer: the text (and the incident, for logging)."""

    text: str
    incident_id: int
    pk: None = None
    kind: str = "survey"


def _skip_reason(survey: Survey) -> str:
    incident = _live(Incident.objects.get(pk=survey.incident_id))
    if incident.status not in REOPENABLE_STATUSES or (
        incident.answered_at is not None
        and survey.answer.published_at
        and incident.answered_at > survey.answer.published_at
    ):
        return "the incident is no longer answered"
    if survey.publication.status != PublicationStatus.SENT:
        return "the answer did not go out in this thread"
    said = FollowUp.objects.filter(
        incident_id=incident.pk,
        verdict__in=[Verdict.SATISFIED, Verdict.NOT_SATISFIED],
        created_at__gte=survey.answer.published_at or survey.created_at,
    )
    if said.exists():
        return "the citizen already replied"
    try:
        adapter = get_adapter(survey.channel)
    except Exception as exc:  # a wrong adapter path in the settings
        return f"the channel's adapter cannot be loaded: {exc}"
    if adapter is None:
        return "the channel has no adapter"
    if not callable(getattr(adapter, "ask_solved", None)) and survey.channel not in reply_channels():
        return "the channel cannot ask"
    handles = getattr(adapter, "handles", None)
    if callable(handles) and survey.thread_key:
        from otklik.intake.models import Source

        source = Source.objects.filter(pk=int(survey.thread_key.partition(":")[0] or 0)).first()
        if source is not None and not handles(source):
            return "the source is answered by hand"
    return ""


def ask(survey_id: int, *, now: dt.datetime | None = None) -> str:
    """Ask one due survey (module docstring, step 2–3); returns "sent", "skipped", "retry" or "not due"."""
    from otklik.answers.outbox import thread_of

    now = now or timezone.now()
    survey = (
        Survey.objects.select_related("answer", "publication__post__source")
        .filter(pk=survey_id, status=SurveyStatus.SCHEDULED, scheduled_at__lte=now)
        .first()
    )
    if survey is None:
        return "not due"
    reason = _skip_reason(survey)
    if reason:
        Survey.objects.filter(pk=survey.pk, status=SurveyStatus.SCHEDULED).update(
            status=SurveyStatus.SKIPPED, last_error=reason
        )
        return "skipped"
    claimed = Survey.objects.filter(pk=survey.pk, status=SurveyStatus.SCHEDULED, scheduled_at__lte=now).update(
        status=SurveyStatus.SENT, sent_at=now, attempts=F("attempts") + 1
    )
    if not claimed:
        return "not due"
    adapter: Any = get_adapter(survey.channel)
    thread = thread_of(survey.publication)
    try:
        if callable(getattr(adapter, "ask_solved", None)):
            published = adapter.ask_solved(thread, question(), survey.key)
        else:
            published = adapter.publish(
                _Question(text=reply_question(), incident_id=survey.incident_id),
                thread,
                survey_idempotency_key(survey.pk),
            )
    except PermanentChannelError as exc:
        Survey.objects.filter(pk=survey.pk, status=SurveyStatus.SENT).update(
            status=SurveyStatus.SKIPPED, last_error=str(exc)[:2000]
        )
        return "skipped"
    except (ChannelError, OSError) as exc:
        attempts = survey.attempts + 1
        if attempts >= SURVEY_MAX_ATTEMPTS:
            fields: dict[str, Any] = {"status": SurveyStatus.SKIPPED}
        else:
            fields = {"status": SurveyStatus.SCHEDULED, "scheduled_at": now + RETRY_AFTER, "sent_at": None}
        Survey.objects.filter(pk=survey.pk, status=SurveyStatus.SENT).update(last_error=str(exc)[:2000], **fields)
        return "retry" if fields["status"] == SurveyStatus.SCHEDULED else "skipped"
    external_id = str(getattr(published, "external_id", "") or "")
    Survey.objects.filter(pk=survey.pk).update(external_id=external_id[:255], last_error="")
    return "sent"


def sweep_surveys(*, now: dt.datetime | None = None, batch: int = SWEEP_BATCH) -> dict[str, int]:
    """Expire unanswered questions, then ask the due ones (module docstring). Returns counts per outcome."""
    now = now or timezone.now()
    counts: dict[str, int] = {"expired": 0, "sent": 0, "skipped": 0, "retry": 0, "not due": 0}
    counts["expired"] = Survey.objects.filter(
        status=SurveyStatus.SENT, sent_at__lt=now - dt.timedelta(days=survey_answer_days())
    ).update(status=SurveyStatus.EXPIRED)
    due = list(
        Survey.objects.filter(status=SurveyStatus.SCHEDULED, scheduled_at__lte=now)
        .order_by("scheduled_at", "pk")
        .values_list("pk", flat=True)[:batch]
    )
    for survey_id in due:
        try:
            outcome = ask(survey_id, now=now)
        except Exception:  # one bad row must not stop the sweep; it stays as it was claimed
            log.exception("survey %s could not be asked", survey_id)
            outcome = "skipped"
        counts[outcome] = counts.get(outcome, 0) + 1
    return counts
