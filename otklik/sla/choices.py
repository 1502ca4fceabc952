from __future__ import annotations

from django.db import models
from django.utils.translation import gettext_lazy as _


class ClockKind(models.TextChoices):
    FIRST_ANSWER = "first_answer", _("First (primary) answer")
    ANSWER = "answer", _("Answer")
    ASSIGNMENT = "assignment", _("Department's information")
    REWORK = "rework", _("Rework of the information")
    FINAL_ANSWER = "final_answer", _("Final answer after an intermediate one")


class ClockState(models.TextChoices):
    RUNNING = "running", _("Running")
    PAUSED = "paused", _("Paused")
    MET = "met", _("Met")
    MISSED = "missed", _("Missed")
    STOPPED = "stopped", _("Stopped")


C = ClockState

# from-state → states it may go to (otklik.sla.clocks enforces it).
CLOCK_TRANSITIONS: dict[str, frozenset[str]] = {
    C.RUNNING: frozenset({C.PAUSED, C.MET, C.MISSED, C.STOPPED}),
    C.PAUSED: frozenset({C.RUNNING, C.STOPPED}),
    C.MET: frozenset(),
    C.MISSED: frozenset(),
    C.STOPPED: frozenset(),
}
OPEN_STATES = (C.RUNNING, C.PAUSED)


class ClockView(models.TextChoices):
    """How a clock looks to a person at a moment (not stored)."""

    ON_TIME = "on_time", _("On time")
    WARNING = "warning", _("Due soon")
    OVERDUE = "overdue", _("Overdue")
    PAUSED = "paused", _("Paused")
    MET = "met", _("Met")
    MISSED = "missed", _("Missed")
    STOPPED = "stopped", _("Stopped")


class EscalationLevel(models.TextChoices):
    # xgettext:no-python-format
    WARNING = "warning", _("Warning (80 % of the time used)")
    OVERDUE = "overdue", _("Overdue")
    LONG_OVERDUE = "long_overdue", _("Long overdue")


class PolicyPriority(models.TextChoices):
    ANY = "any", _("Any")
    HIGH = "high", _("Priority (★) topics")
    NORMAL = "normal", _("Ordinary topics")


class ExtensionStatus(models.TextChoices):
    PENDING = "pending", _("Waiting for a decision")
    APPROVED = "approved", _("Approved")
    REFUSED = "refused", _("Refused")


EXTENSION_TRANSITIONS: dict[str, frozenset[str]] = {
    ExtensionStatus.PENDING: frozenset({ExtensionStatus.APPROVED, ExtensionStatus.REFUSED}),
    ExtensionStatus.APPROVED: frozenset(),
    ExtensionStatus.REFUSED: frozenset(),
}
