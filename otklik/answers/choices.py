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
