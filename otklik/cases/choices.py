"""Statuses of incidents and assignments, with the one table of legal transitions for each."""

from __future__ import annotations

from django.db import models
from django.utils.translation import gettext_lazy as _


class IncidentStatus(models.TextChoices):
    NEW = "new", _("New")
    TRIAGE = "triage", _("Needs triage")
    ROUTED = "routed", _("Waiting for departments")
    ANSWERING = "answering", _("Answer being prepared")
    APPROVAL = "approval", _("On approval")
    ANSWERED = "answered", _("Answered")
    CLOSED = "closed", _("Closed")
    NO_ANSWER = "no_answer", _("No answer needed")
    MERGED = "merged", _("Merged")


S = IncidentStatus

# from-status → statuses it may go to. Anything else raises IllegalTransition.
INCIDENT_TRANSITIONS: dict[str, frozenset[str]] = {
    S.NEW: frozenset({S.TRIAGE, S.ROUTED, S.ANSWERING, S.NO_ANSWER, S.MERGED}),
    S.TRIAGE: frozenset({S.ROUTED, S.ANSWERING, S.NO_ANSWER, S.MERGED}),
    S.ROUTED: frozenset({S.TRIAGE, S.ROUTED, S.ANSWERING, S.APPROVAL, S.ANSWERED, S.NO_ANSWER, S.MERGED}),
    S.ANSWERING: frozenset({S.ROUTED, S.APPROVAL, S.ANSWERED, S.NO_ANSWER, S.MERGED}),
    S.APPROVAL: frozenset({S.ANSWERING, S.ANSWERED}),
    S.ANSWERED: frozenset({S.CLOSED, S.ROUTED, S.ANSWERING}),
    S.CLOSED: frozenset({S.ROUTED, S.ANSWERING}),
    S.NO_ANSWER: frozenset({S.TRIAGE}),
    S.MERGED: frozenset({S.TRIAGE}),
}

# Statuses in which the service still owes the citizen something.
OPEN_STATUSES = frozenset({S.NEW, S.TRIAGE, S.ROUTED, S.ANSWERING, S.APPROVAL})
# Statuses from which an incident can be reopened.
REOPENABLE_STATUSES = frozenset({S.ANSWERED, S.CLOSED})


class NoAnswerReason(models.TextChoices):
    ABUSIVE = "abusive", _("Insults or profanity")
    SPAM = "spam", _("Spam or off-topic")
    CLOSED_PROFILE = "closed_profile", _("Closed profile or comments blocked")
    NOT_MUNICIPAL = "not_municipal", _("Not a municipal question")
    OTHER = "other", _("Other")


class AssignmentRole(models.TextChoices):
    LEAD = "lead", _("Lead executor")
    CO = "co", _("Co-executor")


class ReworkCriterion(models.TextChoices):
    """Why the service returns a department's information (DOMAIN.md: what a good answer is)."""

    FORMAL = "formal", _("Formal, a brush-off, not on the merits")
    NO_DATE = "no_date", _("No concrete date or period for the work")
    NO_EVIDENCE = "no_evidence", _("Work reported done without evidence (photo, act)")
    CONTRADICTORY = "contradictory", _("Contradicts itself or the facts")
    OTHER = "other", _("Other")


class AssignmentStatus(models.TextChoices):
    SENT = "sent", _("Waiting for information")
    SUBMITTED = "submitted", _("Information submitted")
    REWORK = "rework", _("Returned for rework")
    ACCEPTED = "accepted", _("Information accepted")
    DECLINED = "declined", _("Not our competence")
    CANCELLED = "cancelled", _("Cancelled")


A = AssignmentStatus

ASSIGNMENT_TRANSITIONS: dict[str, frozenset[str]] = {
    A.SENT: frozenset({A.SUBMITTED, A.DECLINED, A.CANCELLED}),
    A.SUBMITTED: frozenset({A.ACCEPTED, A.REWORK, A.CANCELLED}),
    A.REWORK: frozenset({A.SUBMITTED, A.DECLINED, A.CANCELLED}),
    A.ACCEPTED: frozenset({A.REWORK, A.CANCELLED}),
    A.DECLINED: frozenset(),
    A.CANCELLED: frozenset(),
}

# Assignments the department still has to work on.
ASSIGNMENT_OPEN = frozenset({A.SENT, A.REWORK})
# Assignments that still take part in the incident (not declined or cancelled).
ASSIGNMENT_ACTIVE = frozenset({A.SENT, A.SUBMITTED, A.REWORK, A.ACCEPTED})


class EventVerb(models.TextChoices):
    CREATED = "created", _("Incident created")
    POST_ADDED = "post_added", _("Post added")
    CLASSIFIED = "classified", _("Classified")
    UPDATED = "updated", _("Details changed")
    STATUS = "status", _("Status changed")
    TAKEN = "taken", _("Taken by an operator")
    ROUTED = "routed", _("Routed to departments")
    ASSIGNMENT_CANCELLED = "assignment_cancelled", _("Assignment cancelled")
    REASSIGNED = "reassigned", _("Assignment given to an executor")
    INFO_SUBMITTED = "info_submitted", _("Department sent information")
    INFO_ACCEPTED = "info_accepted", _("Information accepted")
    INFO_REWORK = "info_rework", _("Information returned for rework")
    DECLINED = "declined", _("Department declined: not its competence")
    ANSWER_DRAFTED = "answer_drafted", _("Answer drafted")
    ANSWER_SUBMITTED = "answer_submitted", _("Answer sent for approval")
    ANSWER_APPROVED = "answer_approved", _("Answer approved")
    ANSWER_REJECTED = "answer_rejected", _("Answer returned for rework")
    ANSWER_PUBLISHED = "answer_published", _("Answer published")
    NO_ANSWER = "no_answer", _("Marked as needing no answer")
    MERGED = "merged", _("Merged into another incident")
    ABSORBED = "absorbed", _("Another incident merged into this one")
    SPLIT = "split", _("Split off")
    CLOSED = "closed", _("Closed")
    REOPENED = "reopened", _("Reopened")
    RESTORED = "restored", _("Returned to work")
    WAITING = "waiting", _("Waiting for the citizen")
    WAITING_ENDED = "waiting_ended", _("The citizen replied: the deadlines run again")
