"""Choices of the documents app: letter kinds, media dispatch statuses (one transitions table)."""

from __future__ import annotations

from django.db import models
from django.utils.translation import gettext_lazy as _


class LetterKind(models.TextChoices):
    INFO_REQUEST = "info_request", _("Request for information to a department")
    OVERDUE_NOTICE = "overdue_notice", _("Notice of an overdue assignment")
    SUMMARY_DEPUTY = "summary_deputy", _("Summary to the deputy head of the city")


class DispatchStatus(models.TextChoices):
    PENDING = "pending", _("Waiting to be sent")
    SENDING = "sending", _("Being sent")
    SENT = "sent", _("Sent")
    FAILED = "failed", _("Failed")


D = DispatchStatus

DISPATCH_TRANSITIONS: dict[str, frozenset[str]] = {
    D.PENDING: frozenset({D.SENDING}),
    D.SENDING: frozenset({D.SENT, D.FAILED}),
    D.FAILED: frozenset({D.PENDING}),
    D.SENT: frozenset(),
}
