"""Satisfaction (regulation 3.1): following the thread after an answer, verdicts on the citizen's replies,
reopening, and the answers to the "solved?" survey. The only writers of FollowedThread, FollowUp and the answers of
Survey (the asking is otklik.satisfaction.surveys).

The flow (docs/SATISFACTION.md):
1. `start_following(publication)` — a final or intermediate answer published in a thread: the thread is followed
   for OTKLIK_FOLLOW_UP_DAYS; a final answer also gets a survey scheduled OTKLIK_SURVEY_AFTER_DAYS later.
2. `follow_up_incident(post, open_incident)` — called by the intake (do_ingest_post) for every new post, inside its
   transaction, before the post is attached: a post of the followed author in a followed thread is classified, a
   FollowUp stored, and the incident reopened when the citizen is not satisfied; it returns the incident the post
   joins (None: a new incident).
3. `record_survey_answer(key, solved)` — the citizen answered the survey (a Telegram button, or a reply in the
   thread classified as satisfied / not satisfied).
"""

from __future__ import annotations

import datetime as dt
import logging
import secrets
from typing import TYPE_CHECKING

from django.conf import settings
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from otklik.answers.choices import AnswerKind
from otklik.cases.choices import OPEN_STATUSES, REOPENABLE_STATUSES, AssignmentStatus, EventVerb, IncidentStatus
from otklik.cases.models import Incident
from otklik.cases.services import do_reopen, record_event
from otklik.satisfaction.choices import FollowUpAction, SurveyResult, SurveyStatus, Verdict
from otklik.satisfaction.models import FollowedThread, FollowUp, Survey
from otklik.satisfaction.outcomes import refresh_outcomes

if TYPE_CHECKING:
    from otklik.accounts.models import User
    from otklik.answers.models import Answer, Publication
    from otklik.intake.models import Post

log = logging.getLogger(__name__)

#: Answers whose thread is followed; a survey follows only a final answer (never a refusal).
FOLLOWED_KINDS = frozenset({AnswerKind.FINAL, AnswerKind.INTERMEDIATE})
SURVEYED_KINDS = frozenset({AnswerKind.FINAL})
#: Survey answers given by a reply in the thread: the reply's verdict → solved?
SURVEY_VERDICTS = {Verdict.SATISFIED: True, Verdict.NOT_SATISFIED: False}
#: The networks' clocks count whole seconds.
NETWORK_TIME_RESOLUTION = dt.timedelta(seconds=1)


def follow_days() -> int:
    return int(getattr(settings, "OTKLIK_FOLLOW_UP_DAYS", 7))


def survey_after_days() -> float:
    return float(getattr(settings, "OTKLIK_SURVEY_AFTER_DAYS", 3))


def survey_answer_days() -> float:
    return float(getattr(settings, "OTKLIK_SURVEY_ANSWER_DAYS", 7))


def reply_thread_key(post: Post) -> str | None:
    """The key of the thread a reply is in (as otklik.answers.outbox.thread_key names threads); None for a post that
    opens a thread of its own."""
    if not post.thread_id:
        return None
    return f"{post.source_id}:{post.thread_id}"


# --- 1. following -----------------------------------------------------------------------------------------------


def start_following(publication: Publication) -> FollowedThread | None:
    """Follow the thread of a new publication of a final or intermediate answer; schedule the survey of a final one.

    Called (post_save signal) inside the transaction that publishes the answer; idempotent by publication.
    """
    answer = publication.answer
    if answer.kind not in FOLLOWED_KINDS:
        return None
    start = answer.published_at or timezone.now()
    author_id = publication.post.author_id if publication.post is not None else ""
    followed, _created = FollowedThread.objects.get_or_create(
        publication=publication,
        defaults={
            "incident_id": answer.incident_id,
            "answer": answer,
            "thread_key": publication.thread_key,
            "author_id": author_id,
            "followed_from": start,
            "followed_until": start + dt.timedelta(days=follow_days()),
        },
    )
    if answer.kind in SURVEYED_KINDS:
        Survey.objects.get_or_create(
            publication=publication,
            defaults={
                "incident_id": answer.incident_id,
                "answer": answer,
                "channel": publication.channel,
                "thread_key": publication.thread_key,
                "author_id": author_id,
                "key": secrets.token_hex(8),
                "scheduled_at": start + dt.timedelta(days=survey_after_days()),
            },
        )
    return followed


def _followed(post: Post) -> FollowedThread | None:
    """The latest followed thread the post is a reply of its author in, within the following time."""
    key = reply_thread_key(post)
    if key is None or not post.author_id:
        return None
    return (
        FollowedThread.objects.filter(
            thread_key=key,
            author_id=post.author_id,
            # The networks date a message in whole seconds (VK, Telegram): a reply written in the second the answer
            # was published carries a time up to a second before it.
            followed_from__lte=post.posted_at + NETWORK_TIME_RESOLUTION,
            followed_until__gte=post.posted_at,
        )
        .select_related("answer")
        .order_by("-followed_from", "-pk")
        .first()
    )


def _asked(post: Post) -> Survey | None:
    """The survey asked in the post's thread of its author and not yet answered (nor expired)."""
    key = reply_thread_key(post)
    if key is None or not post.author_id:
        return None
    return (
        Survey.objects.filter(thread_key=key, status=SurveyStatus.SENT, author_id=post.author_id)
        .order_by("-sent_at", "-pk")
        .first()
    )


def _live(incident: Incident) -> Incident:
    """The incident the posts of a merged one went to."""
    seen = {incident.pk}
    while incident.status == IncidentStatus.MERGED and incident.merged_into_id and incident.merged_into_id not in seen:
        seen.add(incident.merged_into_id)
        incident = Incident.objects.get(pk=incident.merged_into_id)
    return incident


# --- 2. the author's replies ---------------------------------------------------------------------------------------


def follow_up_incident(post: Post, open_incident: Incident | None) -> Incident | None:
    """The incident a new post joins, with the follow-up done. Called by do_ingest_post inside its transaction.

    `open_incident`: the open incident the intake found for the post (the author continues in his thread), or None.
    1. Not a reply of the followed author in a followed thread within the time (nor an answer to a survey asked
       there) → `open_incident`, nothing else happens. Replies of others are ignored.
    2. Classify the reply; a satisfied / not satisfied reply answers the survey asked in the thread.
    3. The followed incident is open (after an intermediate answer) → the reply joins it; a not satisfied one
       notifies the operator.
    4. Answered or closed (after a final answer): a new question → a new incident (None is returned, the reply is
       analysed and routed as any post); not satisfied → reopened with a new answer clock and the operator told
       why; otherwise the reply joins the incident.
    A FollowUp records the verdict and the action.
    """
    followed = _followed(post)
    survey = _asked(post)
    if followed is None and survey is None:
        return open_incident
    base = followed.incident if followed is not None else survey.incident  # type: ignore[union-attr]
    incident = _live(base)
    if open_incident is not None and open_incident.pk != incident.pk:
        return open_incident  # the author continues another open incident of his: leave it
    from otklik.satisfaction.classifier import classify_reply

    try:
        verdict, confidence = classify_reply(post.text)
    except Exception:  # a broken model must not stop the intake: the reply joins as a neutral one, logged
        log.exception("reply %s could not be classified", post.pk)
        verdict, confidence = Verdict.NEUTRAL.value, 0.0
    if survey is not None and verdict in SURVEY_VERDICTS:
        _answer_survey(survey, solved=SURVEY_VERDICTS[Verdict(verdict)], reopen=False)
    answer = followed.answer if followed is not None else survey.answer  # type: ignore[union-attr]
    action = FollowUpAction.NONE
    result: Incident | None = incident
    if incident.status in OPEN_STATUSES:
        if verdict == Verdict.NOT_SATISFIED:
            _notify_not_satisfied(incident, post, answer, reopened=False)
            action = FollowUpAction.NOTIFIED
    elif incident.status in REOPENABLE_STATUSES:
        if verdict == Verdict.NEW_QUESTION:
            action = FollowUpAction.NEW_INCIDENT
            result = None
        elif verdict == Verdict.NOT_SATISFIED:
            result = _reopen(incident, reason=_reply_reason(post.text))
            _notify_not_satisfied(result, post, answer, reopened=True)
            action = FollowUpAction.REOPENED
    else:  # needs no answer, merged into nothing: the reply starts anew
        result = open_incident
    FollowUp.objects.create(
        incident=incident, answer=answer, post=post, verdict=verdict, confidence=confidence, acted=action
    )
    return result


def _reply_reason(text: str) -> str:
    return _("The citizen is not satisfied with the answer: «%(text)s»") % {"text": _shorten(text, 500)}


def _shorten(text: str, limit: int) -> str:
    text = " ".join((text or "").split())
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _reopen(incident: Incident, *, reason: str) -> Incident:
    """Reopen by the system: back to the departments when their information had been accepted (they must act
    again), else to answering; do_reopen starts a new answer clock (otklik.sla.hooks.incident_reopened)."""
    to = (
        IncidentStatus.ROUTED
        if incident.assignments.filter(status=AssignmentStatus.ACCEPTED).exists()
        else IncidentStatus.ANSWERING
    )
    return do_reopen(incident, actor=None, reason=reason, to=to)


def _recipients(incident: Incident, answer: Answer | None) -> list[User]:
    """The incident's owner; else who published the answer; else every operator."""
    from otklik.accounts.choices import Role
    from otklik.notifications.services import service_recipients

    for user in (incident.owner, answer.published_by if answer is not None else None):
        if user is not None and user.is_active and user.is_service:
            return [user]
    return service_recipients((Role.OPERATOR,))


def _notify_not_satisfied(incident: Incident, post: Post, answer: Answer | None, *, reopened: bool) -> None:
    from otklik.notifications.choices import NotificationKind
    from otklik.notifications.services import do_notify

    if reopened:
        title = _("Incident #%(id)s reopened: the citizen is not satisfied") % {"id": incident.pk}
    else:
        title = _("Incident #%(id)s: the citizen is not satisfied with the answer") % {"id": incident.pk}
    do_notify(
        _recipients(incident, answer),
        kind=NotificationKind.GENERIC,
        title=title,
        body=_shorten(post.text, 2000),
        url=f"/incidents/{incident.pk}/",
        dedup_key=f"follow-up:{post.pk}",
        incident_id=incident.pk,
    )


# --- 3. the survey's answers ---------------------------------------------------------------------------------------


def record_survey_answer(key: str, solved: bool, *, author_id: str = "") -> Survey | None:
    """The citizen answered "Is the problem solved?" (a Telegram button `solved:<key>:yes|no`, see
    `parse_callback`): the result is recorded once; not solved → the incident is reopened and the operator told.

    `author_id`, when the channel gives it, must be the author the survey was asked of (another person's press is
    ignored). Returns the survey, or None when there is no such survey asked (unknown key, already answered,
    expired).
    """
    with transaction.atomic():
        survey = Survey.objects.filter(key=key).select_related("answer").first()
        if survey is None or (author_id and survey.author_id and author_id != survey.author_id):
            return None
        if not _answer_survey(survey, solved=solved, reopen=True):
            return None
        survey.refresh_from_db()
        return survey


def _answer_survey(survey: Survey, *, solved: bool, reopen: bool) -> bool:
    """Claim `sent` → `answered` with the result; not solved and `reopen` → reopen and notify. False: not claimed."""
    now = timezone.now()
    result = SurveyResult.SOLVED if solved else SurveyResult.NOT_SOLVED
    claimed = Survey.objects.filter(pk=survey.pk, status=SurveyStatus.SENT).update(
        status=SurveyStatus.ANSWERED, answered_at=now, result=result
    )
    if not claimed:
        return False
    incident = _live(Incident.objects.get(pk=survey.incident_id))
    record_event(
        incident,
        EventVerb.UPDATED,
        after={"survey": survey.pk, "result": str(result)},
        message=_("The citizen answered the survey: %(result)s.") % {"result": SurveyResult(result).label},
    )
    if not solved and reopen and incident.status in REOPENABLE_STATUSES:
        incident = _reopen(incident, reason=_("The citizen answered the survey: the problem is not solved."))
        from otklik.notifications.choices import NotificationKind
        from otklik.notifications.services import do_notify

        do_notify(
            _recipients(incident, survey.answer),
            kind=NotificationKind.GENERIC,
            title=_("Incident #%(id)s reopened: the problem is not solved") % {"id": incident.pk},
            body=_("The citizen answered «no» to the question whether the problem is solved."),
            url=f"/incidents/{incident.pk}/",
            dedup_key=f"survey-not-solved:{survey.pk}",
            incident_id=incident.pk,
        )
    refresh_outcomes(survey.incident_id)  # the survey was answered by a conditional UPDATE: no signal
    return True


def parse_callback(data: str) -> tuple[str, bool] | None:
    """`solved:<key>:yes|no` (Telegram callback data of the survey's buttons) → (key, solved); None otherwise."""
    parts = (data or "").split(":")
    if len(parts) != 3 or parts[0] != "solved" or parts[2] not in {"yes", "no"} or not parts[1]:
        return None
    return parts[1], parts[2] == "yes"


def record_callback(data: str, *, author_id: str = "") -> Survey | None:
    """For the Telegram poller: a callback item's `callback_data` → record_survey_answer (None: not a survey's)."""
    parsed = parse_callback(data)
    if parsed is None:
        return None
    return record_survey_answer(parsed[0], parsed[1], author_id=author_id)
