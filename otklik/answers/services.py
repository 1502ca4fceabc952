"""Answers: drafted, sent for approval, approved, published. The only writers of `Answer`."""

from __future__ import annotations

import datetime as dt
from typing import TYPE_CHECKING

from django.conf import settings
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from otklik.answers.choices import ANSWER_TRANSITIONS, CONCLUDING_KINDS, AnswerKind, AnswerStatus
from otklik.answers.models import Answer
from otklik.cases.choices import OPEN_STATUSES, AssignmentRole, AssignmentStatus, EventVerb, IncidentStatus
from otklik.cases.models import Incident
from otklik.cases.services import _lock_incident, _set_status, check_incident_transition, record_event
from otklik.core.errors import DomainError, IllegalTransition
from otklik.core.permissions import ensure_head, ensure_service
from otklik.sla import hooks as sla_hooks

if TYPE_CHECKING:
    from otklik.accounts.models import User

S = IncidentStatus
W = AnswerStatus

# An answer can be written while the incident is in work or answered (a follow-up after reopening).
DRAFTABLE_STATUSES = OPEN_STATUSES | {S.ANSWERED}


def _check(answer: Answer, to: str) -> None:
    if to not in ANSWER_TRANSITIONS[answer.status]:
        raise IllegalTransition(
            _("An answer in status «%(from)s» cannot go to «%(to)s».")
            % {"from": W(answer.status).label, "to": W(to).label}
        )


def _validate_content(kind: str, text: str, promised_date: dt.date | None) -> str:
    if kind not in AnswerKind.values:
        raise DomainError(_("Unknown kind of answer."), field="kind")
    text = (text or "").strip()
    if not text:
        raise DomainError(_("Write the text of the answer."), field="text")
    if kind == AnswerKind.INTERMEDIATE:
        if promised_date is None:
            raise DomainError(
                _("An intermediate answer promises a date: give the date of the final answer."),
                field="promised_date",
            )
        if promised_date < timezone.localdate():
            raise DomainError(_("The promised date is already past."), field="promised_date")
    return text


@transaction.atomic
def do_draft_answer(
    incident: Incident,
    *,
    actor: User | None,
    kind: str,
    text: str,
    promised_date: dt.date | None = None,
) -> Answer:
    ensure_service(actor)
    incident = _lock_incident(incident)
    if incident.status not in DRAFTABLE_STATUSES:
        raise IllegalTransition(_("No answer can be written to an incident in status «%s».") % S(incident.status).label)
    text = _validate_content(kind, text, promised_date)
    answer = Answer.objects.create(incident=incident, kind=kind, text=text, promised_date=promised_date, author=actor)
    record_event(incident, EventVerb.ANSWER_DRAFTED, actor=actor, after={"answer": answer.pk, "kind": kind})
    return answer


@transaction.atomic
def do_edit_answer(answer: Answer, *, actor: User | None, text: str, promised_date: dt.date | None = None) -> Answer:
    ensure_service(actor)
    answer = Answer.objects.select_for_update().get(pk=answer.pk)
    if answer.status not in {W.DRAFT, W.APPROVAL}:
        raise IllegalTransition(_("Only a draft can be edited."))
    answer.text = _validate_content(answer.kind, text, promised_date or answer.promised_date)
    answer.promised_date = promised_date or answer.promised_date
    answer.status = W.DRAFT
    answer.save(update_fields=["text", "promised_date", "status", "updated_at"])
    return answer


@transaction.atomic
def do_submit_for_approval(answer: Answer, *, actor: User | None) -> Answer:
    """A concluding answer (final, refusal) puts the incident `on approval` until the head decides."""
    ensure_service(actor)
    answer = Answer.objects.select_for_update().get(pk=answer.pk)
    _check(answer, W.APPROVAL)
    incident = _lock_incident(answer.incident)
    if answer.kind in CONCLUDING_KINDS and incident.status != S.APPROVAL:
        _set_status(incident, S.APPROVAL, actor=actor, verb=EventVerb.ANSWER_SUBMITTED)
    else:
        record_event(incident, EventVerb.ANSWER_SUBMITTED, actor=actor, after={"answer": answer.pk})
    answer.status = W.APPROVAL
    answer.save(update_fields=["status", "updated_at"])
    from otklik.notifications.services import notify_answer_for_approval

    notify_answer_for_approval(answer)
    return answer


@transaction.atomic
def do_approve_answer(answer: Answer, *, actor: User | None) -> Answer:
    ensure_head(actor)
    answer = Answer.objects.select_for_update().get(pk=answer.pk)
    _check(answer, W.APPROVED)
    answer.status = W.APPROVED
    answer.approved_by = actor
    answer.save(update_fields=["status", "approved_by", "updated_at"])
    record_event(answer.incident, EventVerb.ANSWER_APPROVED, actor=actor, after={"answer": answer.pk})
    return answer


@transaction.atomic
def do_reject_answer(answer: Answer, *, actor: User | None, comment: str) -> Answer:
    ensure_head(actor)
    comment = (comment or "").strip()
    if not comment:
        raise DomainError(_("Say what must be corrected in the answer."), field="comment")
    answer = Answer.objects.select_for_update().get(pk=answer.pk)
    _check(answer, W.DRAFT)
    answer.status = W.DRAFT
    answer.save(update_fields=["status", "updated_at"])
    incident = _lock_incident(answer.incident)
    if incident.status == S.APPROVAL:
        _set_status(incident, S.ANSWERING, actor=actor, note=comment, verb=EventVerb.ANSWER_REJECTED)
    else:
        record_event(incident, EventVerb.ANSWER_REJECTED, actor=actor, after={"answer": answer.pk}, message=comment)
    return answer


def lead_information_accepted(incident: Incident) -> bool:
    return incident.assignments.filter(role=AssignmentRole.LEAD, status=AssignmentStatus.ACCEPTED).exists()


def co_executors_waiting(incident: Incident) -> list[str]:
    """Co-executors a final answer still waits for (regulation 3.3): those that have not answered (information or
    "not our competence") and were not released by the operator (a cancelled assignment)."""
    waiting = incident.assignments.filter(
        role=AssignmentRole.CO, status__in=[AssignmentStatus.SENT, AssignmentStatus.REWORK]
    ).select_related("department")
    return sorted(a.department.name for a in waiting)


@transaction.atomic
def do_publish_answer(answer: Answer, *, actor: User | None, link: str = "", override_reason: str = "") -> Answer:
    """Publish an answer where the citizen wrote (until the channels issue: the operator pastes the link).

    1. A `final` answer needs the lead department's information accepted, unless the operator records a reason.
    2. An `intermediate` answer needs its promised date.
    3. A published final or refusal makes the incident `answered`; any published answer counts as the first one.
    4. With `OTKLIK_CLOSE_AFTER_FINAL_ANSWER` (the default) it is then closed at once: answered → closed, two events.
    """
    ensure_service(actor)
    answer = Answer.objects.select_for_update().get(pk=answer.pk)
    _check(answer, W.PUBLISHED)
    incident = _lock_incident(answer.incident)
    override_reason = (override_reason or "").strip()
    if answer.kind == AnswerKind.FINAL and not lead_information_accepted(incident) and not override_reason:
        raise DomainError(
            _(
                "A final answer needs the lead department's information accepted. "
                "Accept it first, or give the reason to publish without it."
            ),
            field="override_reason",
        )
    waiting = co_executors_waiting(incident)
    if answer.kind == AnswerKind.FINAL and waiting and not override_reason:
        raise DomainError(
            _(
                "A final answer needs every co-executor's answer; still waiting for: %(departments)s. "
                "Wait for them, release them (cancel their assignments), or give the reason to publish without it."
            )
            % {"departments": ", ".join(waiting)},
            field="override_reason",
        )
    if answer.kind == AnswerKind.INTERMEDIATE and answer.promised_date is None:
        raise DomainError(_("An intermediate answer needs the promised date."), field="promised_date")
    concluding = answer.kind in CONCLUDING_KINDS
    if concluding and incident.status != S.ANSWERED:
        check_incident_transition(incident, S.ANSWERED)
    elif not concluding and incident.status not in DRAFTABLE_STATUSES:
        raise IllegalTransition(
            _("No answer can be published for an incident in status «%s».") % S(incident.status).label
        )
    now = timezone.now()
    answer.status = W.PUBLISHED
    answer.published_at = now
    answer.published_by = actor
    answer.link = link.strip()
    answer.override_reason = override_reason
    answer.save(update_fields=["status", "published_at", "published_by", "link", "override_reason", "updated_at"])
    fields: list[str] = []
    if incident.first_answered_at is None:
        incident.first_answered_at = now
        fields.append("first_answered_at")
    after = {"answer": answer.pk, "kind": answer.kind, "link": answer.link}
    if concluding and incident.status != S.ANSWERED:
        incident.answered_at = now
        fields.append("answered_at")
        _set_status(
            incident,
            S.ANSWERED,
            actor=actor,
            note=override_reason,
            extra_fields=fields,
            verb=EventVerb.ANSWER_PUBLISHED,
            after_extra=after,
        )
    else:
        if fields:
            incident.save(update_fields=[*fields, "updated_at"])
        record_event(incident, EventVerb.ANSWER_PUBLISHED, actor=actor, after=after, message=override_reason)
    sla_hooks.answer_published(incident, kind=answer.kind, promised_date=answer.promised_date)
    from otklik.answers.outbox import do_enqueue_publications

    do_enqueue_publications(answer, actor=actor, link=answer.link)
    if concluding and incident.status == S.ANSWERED and settings.OTKLIK_CLOSE_AFTER_FINAL_ANSWER:
        # 4. Unless the service waits for the citizen's follow-up, the answer on the merits closes the incident.
        incident.closed_at = now
        _set_status(
            incident,
            S.CLOSED,
            actor=actor,
            note=_("Closed after the answer on the merits."),
            extra_fields=["closed_at"],
            verb=EventVerb.CLOSED,
        )
        sla_hooks.incident_ended(incident)
    return answer
