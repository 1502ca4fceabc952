"""Verdicts on a citizen's reply, what was done about it, and the statuses of a survey (with its transitions)."""

from __future__ import annotations

from django.db import models
from django.utils.translation import gettext_lazy as _


class Verdict(models.TextChoices):
    SATISFIED = "satisfied", _("Satisfied")
    NOT_SATISFIED = "not_satisfied", _("Not satisfied")
    NEW_QUESTION = "new_question", _("New question")
    NEUTRAL = "neutral", _("Neutral")


class FollowUpAction(models.TextChoices):
    NONE = "none", _("Nothing to do")
    REOPENED = "reopened", _("Incident reopened")
    NOTIFIED = "notified", _("Operator notified")
    NEW_INCIDENT = "new_incident", _("A new incident")


class SurveyStatus(models.TextChoices):
    SCHEDULED = "scheduled", _("Scheduled")
    SENT = "sent", _("Asked")
    ANSWERED = "answered", _("Answered")
    SKIPPED = "skipped", _("Skipped")
    EXPIRED = "expired", _("No answer")


class SurveyResult(models.TextChoices):
    SOLVED = "solved", _("Solved")
    NOT_SOLVED = "not_solved", _("Not solved")


V = SurveyStatus

# from-status → statuses it may go to (claims are conditional UPDATEs on the from-status).
SURVEY_TRANSITIONS: dict[str, frozenset[str]] = {
    V.SCHEDULED: frozenset({V.SENT, V.SKIPPED}),
    # A temporary channel error puts the question back to `scheduled` for a later sweep.
    V.SENT: frozenset({V.ANSWERED, V.EXPIRED, V.SCHEDULED, V.SKIPPED}),
    V.ANSWERED: frozenset(),
    V.SKIPPED: frozenset(),
    V.EXPIRED: frozenset(),
}
