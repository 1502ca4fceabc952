"""Answers: drafted, sent for approval, approved, published. The only writers of `Answer` and `AnswerVersion`.

Publishing passes two gates (issue 6, docs/ANSWERS.md «Gate, approval, versions»):

- the quality gate: the checks of otklik.answers.checks run on the text; a finding of severity `error` blocks
  publishing unless the head of the service (or the acting head) gives a reason, which is recorded;
- approval: an answer that an active `ApprovalRule` applies to (otklik.answers.approval) is published only once
  approved — or by the head, whose own publishing counts as the approval.

Every step that touches the text keeps a version (otklik.answers.versions).
"""

from __future__ import annotations

import datetime as dt
from typing import TYPE_CHECKING

from django.conf import settings
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from otklik.answers.approval import approval_reasons
from otklik.answers.checks import ERROR, Finding, run_checks
from otklik.answers.choices import (
    ANSWER_TRANSITIONS,
    CONCLUDING_KINDS,
    AnswerKind,
    AnswerStatus,
    VersionReason,
)
from otklik.answers.models import Answer
from otklik.answers.versions import keep_version
from otklik.cases.choices import (
    ASSIGNMENT_ACTIVE,
    OPEN_STATUSES,
    AssignmentRole,
    AssignmentStatus,
    EventVerb,
    IncidentStatus,
)
from otklik.cases.models import Attachment, Incident
from otklik.cases.services import _lock_incident, _set_status, check_incident_transition, record_event
from otklik.core.errors import DomainError, IllegalTransition, NotAllowed
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
    keep_version(answer, reason=VersionReason.DRAFTED, actor=actor)
    record_event(incident, EventVerb.ANSWER_DRAFTED, actor=actor, after={"answer": answer.pk, "kind": kind})
    return answer


@transaction.atomic
def do_edit_answer(answer: Answer, *, actor: User | None, text: str, promised_date: dt.date | None = None) -> Answer:
    """Change a draft (or an answer on approval, which goes back to draft). An edit that changes neither the text
    nor the promised date changes nothing and keeps no version."""
    ensure_service(actor)
    answer = Answer.objects.select_for_update().get(pk=answer.pk)
    if answer.status not in {W.DRAFT, W.APPROVAL}:
        raise IllegalTransition(_("Only a draft can be edited."))
    new_date = promised_date or answer.promised_date
    new_text = _validate_content(answer.kind, text, new_date)
    if new_text == answer.text and new_date == answer.promised_date:
        return answer
    answer.text = new_text
    answer.promised_date = new_date
    answer.status = W.DRAFT
    answer.save(update_fields=["text", "promised_date", "status", "updated_at"])
    keep_version(answer, reason=VersionReason.EDITED, actor=actor)
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
    keep_version(answer, reason=VersionReason.SUBMITTED, actor=actor)
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
    keep_version(answer, reason=VersionReason.APPROVED, actor=actor)
    record_event(answer.incident, EventVerb.ANSWER_APPROVED, actor=actor, after={"answer": answer.pk})
    return answer


@transaction.atomic
def do_reject_answer(answer: Answer, *, actor: User | None, comment: str) -> Answer:
    """Return with comments: the answer goes back to draft; the comment is kept with the version it concerns."""
    ensure_head(actor)
    comment = (comment or "").strip()
    if not comment:
        raise DomainError(_("Say what must be corrected in the answer."), field="comment")
    answer = Answer.objects.select_for_update().get(pk=answer.pk)
    _check(answer, W.DRAFT)
    answer.status = W.DRAFT
    answer.save(update_fields=["status", "updated_at"])
    keep_version(answer, reason=VersionReason.RETURNED, actor=actor, comment=comment)
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


# --- the quality gate -------------------------------------------------------------------------------------


def acts_as_head(user: User | None) -> bool:
    """The head of the service, an admin, the acting head by a delegation, or the system itself (`None`)."""
    try:
        ensure_head(user)
    except NotAllowed:
        return False
    return True


def complaint_text(incident: Incident) -> str:
    """The citizen's posts of the incident, oldest first (the checks compare the answer with them)."""
    from otklik.intake.models import Post

    texts = Post.objects.filter(incident=incident).order_by("posted_at", "id").values_list("text", flat=True)
    return "\n\n".join(t for t in texts if t)


def attachment_count(incident: Incident) -> int:
    """Photos and acts the departments attached to their information (assignments still taking part)."""
    return Attachment.objects.filter(assignment__incident=incident, assignment__status__in=ASSIGNMENT_ACTIVE).count()


def quality_findings(answer: Answer, text: str | None = None) -> list[Finding]:
    """The checks as the gate runs them: on `text` (default: the answer's), with the incident's posts as the
    complaint and its departments' attachments counted as evidence. The editor can call it for the same verdict."""
    incident = answer.incident
    return run_checks(
        answer.text if text is None else text,
        complaint_text(incident),
        attachments=attachment_count(incident),
    )


def _error_list(errors: list[Finding]) -> str:
    return "; ".join(f.message.strip().rstrip(".") for f in errors)


def _quality_gate(answer: Answer, *, actor: User | None, reason: str) -> tuple[list[Finding], bool]:
    """Run the checks; return the findings and whether errors were overridden (raise when they block).

    1. No finding of severity `error`: pass (a reason given anyway is not recorded: there is nothing to override).
    2. Errors and no reason: refuse, listing the errors.
    3. Errors and a reason from someone who is not the head (or acting head): refuse — only the head may override.
    4. Errors and the head's reason: pass, overridden.
    """
    findings = quality_findings(answer)
    errors = [f for f in findings if f.severity == ERROR]
    if not errors:
        return findings, False
    listed = _error_list(errors)
    if not reason:
        raise DomainError(
            _(
                "The answer has quality errors: %(errors)s. Correct the text; only the head of the service can "
                "publish it as it is, giving the reason."
            )
            % {"errors": listed},
            field="quality_override_reason",
        )
    if not acts_as_head(actor):
        raise DomainError(
            _(
                "Only the head of the service can publish an answer with quality errors (%(errors)s). Correct the "
                "text, or ask the head of the service to publish it as it is."
            )
            % {"errors": listed},
            field="quality_override_reason",
        )
    return findings, True


def _approval_gate(answer: Answer, *, actor: User | None) -> tuple[list[str], bool]:
    """Return the approval reasons and whether the head's own publishing stands for the approval (raise when the
    answer needs approval, is not approved, and the actor is not the head)."""
    reasons = approval_reasons(answer)
    if not reasons or answer.status == W.APPROVED:
        return reasons, False
    if acts_as_head(actor):
        return reasons, True
    raise DomainError(
        _("This answer needs the approval of the head of the service (%(reasons)s). Send it for approval.")
        % {"reasons": "; ".join(reasons)}
    )


@transaction.atomic
def do_publish_answer(
    answer: Answer,
    *,
    actor: User | None,
    link: str = "",
    override_reason: str = "",
    quality_override_reason: str = "",
) -> Answer:
    """Publish an answer where the citizen wrote (until the channels issue: the operator pastes the link).

    1. A `final` answer needs the lead department's information accepted, unless the operator records a reason.
    2. An `intermediate` answer needs its promised date.
    3. Approval: an answer an active approval rule applies to must be approved, unless the head publishes it.
    4. The quality gate: errors block unless the head gives `quality_override_reason`; the findings, the reason
       and who gave it are kept on the answer and in the `answer_published` event.
    5. A published final or refusal makes the incident `answered`; any published answer counts as the first one.
    6. With `OTKLIK_CLOSE_AFTER_FINAL_ANSWER` (the default) it is then closed at once: answered → closed, two events.
    """
    ensure_service(actor)
    answer = Answer.objects.select_for_update().get(pk=answer.pk)
    _check(answer, W.PUBLISHED)
    incident = _lock_incident(answer.incident)
    answer.incident = incident
    override_reason = (override_reason or "").strip()
    quality_override_reason = (quality_override_reason or "").strip()
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
    # 3. and 4.
    _reasons, approved_by_publishing = _approval_gate(answer, actor=actor)
    findings, overridden = _quality_gate(answer, actor=actor, reason=quality_override_reason)
    now = timezone.now()
    answer.status = W.PUBLISHED
    answer.published_at = now
    answer.published_by = actor
    answer.link = link.strip()
    answer.override_reason = override_reason
    answer.findings = [f.as_dict() for f in findings]
    answer.quality_override_reason = quality_override_reason if overridden else ""
    answer.quality_override_by = actor if overridden else None
    update = [
        "status",
        "published_at",
        "published_by",
        "link",
        "override_reason",
        "findings",
        "quality_override_reason",
        "quality_override_by",
        "updated_at",
    ]
    if approved_by_publishing:
        answer.approved_by = actor
        update.append("approved_by")
    answer.save(update_fields=update)
    keep_version(answer, reason=VersionReason.PUBLISHED, actor=actor)
    fields: list[str] = []
    if incident.first_answered_at is None:
        incident.first_answered_at = now
        fields.append("first_answered_at")
    after: dict[str, object] = {"answer": answer.pk, "kind": answer.kind, "link": answer.link}
    # The event keeps the gate's verdict (a new verb would need a migration of Event.verb's choices).
    after["findings"] = [f.code for f in findings]
    notes = [override_reason] if override_reason else []
    if overridden:
        errors = sorted({f.code for f in findings if f.severity == ERROR})
        after["quality_errors"] = errors
        after["quality_override_reason"] = quality_override_reason
        after["quality_override_by"] = actor.pk if actor is not None else None
        notes.append(
            _("Published despite quality errors (%(codes)s): %(reason)s")
            % {"codes": ", ".join(errors), "reason": quality_override_reason}
        )
    if approved_by_publishing:
        after["approved_by_publishing"] = True
    note = "\n".join(notes)
    if concluding and incident.status != S.ANSWERED:
        incident.answered_at = now
        fields.append("answered_at")
        _set_status(
            incident,
            S.ANSWERED,
            actor=actor,
            note=note,
            extra_fields=fields,
            verb=EventVerb.ANSWER_PUBLISHED,
            after_extra=after,
        )
    else:
        if fields:
            incident.save(update_fields=[*fields, "updated_at"])
        record_event(incident, EventVerb.ANSWER_PUBLISHED, actor=actor, after=after, message=note)
    sla_hooks.answer_published(incident, kind=answer.kind, promised_date=answer.promised_date)
    from otklik.answers.outbox import do_enqueue_publications

    do_enqueue_publications(answer, actor=actor, link=answer.link)
    if concluding and incident.status == S.ANSWERED and settings.OTKLIK_CLOSE_AFTER_FINAL_ANSWER:
        # 6. Unless the service waits for the citizen's follow-up, the answer on the merits closes the incident.
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
