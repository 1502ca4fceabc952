"""E-mail delivery of notifications: claims the row first, so a redelivered task never sends twice."""

from __future__ import annotations

from django.conf import settings
from django.core.mail import send_mail
from django.utils import timezone

from otklik.notifications.choices import DeliveryStatus
from otklik.notifications.models import Notification


def deliver(notification_id: int) -> str:
    notification = Notification.objects.select_related("recipient").filter(pk=notification_id).first()
    if notification is None:
        return "missing"
    if notification.email_status in {DeliveryStatus.SENT, DeliveryStatus.SKIPPED}:
        return notification.email_status
    address = notification.recipient.email
    if not address:
        Notification.objects.filter(pk=notification_id, email_status=DeliveryStatus.PENDING).update(
            email_status=DeliveryStatus.SKIPPED
        )
        return DeliveryStatus.SKIPPED
    link = f"{settings.SITE_URL}{notification.url}" if notification.url else ""
    body = "\n\n".join(part for part in (notification.body, link) if part)
    try:
        send_mail(notification.title, body, settings.DEFAULT_FROM_EMAIL, [address])
    except OSError as exc:
        Notification.objects.filter(pk=notification_id).update(email_status=DeliveryStatus.FAILED, email_error=str(exc))
        raise
    Notification.objects.filter(pk=notification_id).exclude(email_status=DeliveryStatus.SENT).update(
        email_status=DeliveryStatus.SENT, emailed_at=timezone.now(), email_error=""
    )
    return DeliveryStatus.SENT
