from __future__ import annotations

from django.db import models
from django.utils.translation import gettext_lazy as _


class NotificationKind(models.TextChoices):
    ASSIGNMENT_NEW = "assignment_new", _("New assignment")
    ASSIGNMENT_REWORK = "assignment_rework", _("Information returned for rework")
    ASSIGNMENT_DECLINED = "assignment_declined", _("Department declined an assignment")
    INFO_SUBMITTED = "info_submitted", _("Department sent information")
    ANSWER_APPROVAL = "answer_approval", _("Answer waits for approval")
    DEADLINE_WARNING = "deadline_warning", _("Deadline is near")
    DEADLINE_OVERDUE = "deadline_overdue", _("Deadline missed")
    DEADLINE_LONG_OVERDUE = "deadline_long_overdue", _("Deadline long missed")
    GENERIC = "generic", _("Notice")


class DeliveryStatus(models.TextChoices):
    PENDING = "pending", _("Waiting")
    # Claimed by one delivery (otklik.notifications.email): the mail is being handed to the server.
    SENDING = "sending", _("Sending")
    SENT = "sent", _("Sent")
    FAILED = "failed", _("Failed")
    SKIPPED = "skipped", _("No address")
