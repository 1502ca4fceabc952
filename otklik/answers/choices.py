from __future__ import annotations

from django.db import models
from django.utils.translation import gettext_lazy as _


class AnswerKind(models.TextChoices):
    PRIMARY = "primary", _("Primary")
    INTERMEDIATE = "intermediate", _("Intermediate")
    FINAL = "final", _("Final")
    REFUSAL = "refusal", _("Refusal")


class AnswerStatus(models.TextChoices):
    DRAFT = "draft", _("Draft")
    APPROVAL = "approval", _("On approval")
    APPROVED = "approved", _("Approved")
    PUBLISHED = "published", _("Published")
    WITHDRAWN = "withdrawn", _("Withdrawn")


W = AnswerStatus

ANSWER_TRANSITIONS: dict[str, frozenset[str]] = {
    W.DRAFT: frozenset({W.APPROVAL, W.PUBLISHED, W.WITHDRAWN}),
    W.APPROVAL: frozenset({W.APPROVED, W.DRAFT, W.WITHDRAWN}),
    W.APPROVED: frozenset({W.PUBLISHED, W.DRAFT, W.WITHDRAWN}),
    W.PUBLISHED: frozenset(),
    W.WITHDRAWN: frozenset(),
}

# Kinds whose publication answers the citizen on the merits: the incident becomes `answered`.
CONCLUDING_KINDS = frozenset({AnswerKind.FINAL, AnswerKind.REFUSAL})


class PublicationStatus(models.TextChoices):
    """One publication of an answer in one thread (the outbox, otklik.answers.outbox)."""

    PENDING = "pending", _("Waiting to be sent")
    SENDING = "sending", _("Being sent")
    SENT = "sent", _("Published")
    MANUAL = "manual", _("To publish by hand")
    FAILED = "failed", _("Failed")


P = PublicationStatus

PUBLICATION_TRANSITIONS: dict[str, frozenset[str]] = {
    P.PENDING: frozenset({P.SENDING, P.MANUAL, P.FAILED}),
    # A send in progress ends sent, back to pending (retry after reconciling) or failed (attempts exhausted).
    P.SENDING: frozenset({P.SENT, P.PENDING, P.FAILED, P.MANUAL}),
    P.MANUAL: frozenset({P.SENT}),
    # The operator may retry a failed publication, or publish it by hand.
    P.FAILED: frozenset({P.PENDING, P.MANUAL}),
    P.SENT: frozenset(),
}


class VersionReason(models.TextChoices):
    """Why a version of an answer's text was kept (otklik.answers.models.AnswerVersion)."""

    DRAFTED = "drafted", _("Drafted")
    EDITED = "edited", _("Edited")
    SUBMITTED = "submitted", _("Sent for approval")
    RETURNED = "returned", _("Returned with comments")
    APPROVED = "approved", _("Approved")
    PUBLISHED = "published", _("Published")
