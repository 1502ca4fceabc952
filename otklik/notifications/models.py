from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from otklik.notifications.choices import DeliveryStatus, NotificationKind


class Notification(models.Model):
    """A message to one user, shown in the app and sent by e-mail by a Celery task."""

    recipient = models.ForeignKey(
        settings.AUTH_USER_MODEL, verbose_name=_("recipient"), on_delete=models.CASCADE, related_name="notifications"
    )
    kind = models.CharField(_("kind"), max_length=32, choices=NotificationKind.choices)
    title = models.CharField(_("title"), max_length=255)
    body = models.TextField(_("text"), blank=True)
    url = models.CharField(_("link"), max_length=500, blank=True)
    incident = models.ForeignKey(
        "cases.Incident", null=True, blank=True, on_delete=models.CASCADE, related_name="notifications"
    )
    assignment = models.ForeignKey(
        "cases.Assignment", null=True, blank=True, on_delete=models.CASCADE, related_name="notifications"
    )
    # Makes a notification idempotent: the same event never notifies the same person twice.
    dedup_key = models.CharField(max_length=255)
    email_status = models.CharField(
        _("e-mail"), max_length=16, choices=DeliveryStatus.choices, default=DeliveryStatus.PENDING
    )
    email_error = models.TextField(blank=True)
    emailed_at = models.DateTimeField(null=True, blank=True)
    read_at = models.DateTimeField(_("read"), null=True, blank=True)
    created_at = models.DateTimeField(_("created"), default=timezone.now, db_index=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        verbose_name = _("notification")
        verbose_name_plural = _("notifications")
        constraints = [
            models.UniqueConstraint(fields=["recipient", "dedup_key"], name="notification_recipient_dedup_uniq")
        ]

    def __str__(self) -> str:
        return self.title


class StaffMessage(models.Model):
    """A message to the staff Telegram chat, stored first and sent by a task (once: claimed like an e-mail)."""

    dedup_key = models.CharField(max_length=255, unique=True)
    text = models.TextField(_("text"))
    status = models.CharField(
        _("status"), max_length=16, choices=DeliveryStatus.choices, default=DeliveryStatus.PENDING, db_index=True
    )
    attempts = models.PositiveSmallIntegerField(_("attempts"), default=0)
    message_id = models.BigIntegerField(_("message id in the chat"), null=True, blank=True)
    error = models.TextField(_("error"), blank=True)
    created_at = models.DateTimeField(_("created"), default=timezone.now, db_index=True)
    sent_at = models.DateTimeField(_("sent"), null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]
        verbose_name = _("staff chat message")
        verbose_name_plural = _("staff chat messages")

    def __str__(self) -> str:
        return self.text[:60]
