"""E-mail of notifications, from the worker. The in-app notification exists before these run."""

from __future__ import annotations

import datetime as dt
import logging
from typing import Any

from django.conf import settings
from django.db import InterfaceError, OperationalError

from otklik.notifications.email import TRANSIENT_MAIL_ERRORS, DeliveryBusy, deliver, deliver_many, unsent_ids
from otklik.ops.recording import recorded_task

log = logging.getLogger(__name__)

#: A notification whose e-mail was never attempted this long after its creation lost its message.
UNSENT_AFTER = dt.timedelta(minutes=10)


@recorded_task(
    bind=True,
    transient=(*TRANSIENT_MAIL_ERRORS, OperationalError, InterfaceError, DeliveryBusy),
    max_retries=8,
    retry_backoff=30,
    retry_backoff_max=1800,
    # None by default: a worker holds rate-limited messages in its prefetch slots, which would slow the analysis
    # of posts queued behind them; set OTKLIK_EMAIL_RATE_LIMIT (e.g. "60/m") when the mail server needs it.
    rate_limit=settings.OTKLIK_EMAIL_RATE_LIMIT,
)
def send_notification_email(self: Any, notification_id: int) -> str:
    """Send one notification's e-mail (at least once; see otklik.notifications.email). Retried with back-off."""
    return deliver(notification_id, final_attempt=self.is_last_attempt())


@recorded_task(periodic=True)
def sweep_unsent_emails() -> int:
    """Send again the e-mails whose task never ran (the broker was down at commit, a message was lost)."""
    ids = unsent_ids(older_than=UNSENT_AFTER)
    for pk in ids:
        send_notification_email.delay(pk)
    from django.utils import timezone

    from otklik.notifications.models import StaffMessage

    staff = list(
        StaffMessage.objects.filter(
            status="pending", created_at__lt=timezone.now() - UNSENT_AFTER, attempts=0
        ).values_list("pk", flat=True)[:100]
    )
    for pk in staff:
        send_staff_message.delay(pk)
    return len(ids) + len(staff)


@recorded_task(transient=(OperationalError, InterfaceError), max_retries=5, retry_backoff=30)
def send_notification_emails(notification_ids: list[int]) -> int:
    """Send the e-mails of many notifications (one message for a batch instead of one per notification).

    `deliver_many` claims them all at once, so a redelivered batch sends nothing twice; an e-mail that fails for a
    passing reason (or is held by another delivery) gets a task of its own, with that task's retries and back-off.
    """
    sent, again = deliver_many(notification_ids)
    for pk in again:
        send_notification_email.delay(pk)
    return sent


@recorded_task(bind=True, max_retries=8, rate_limit="20/m")
def send_staff_message(self: Any, message_id: int) -> str:
    """Send one message to the staff Telegram chat; 429/5xx/network errors retried with back-off."""
    from otklik.notifications.telegram import TelegramRetry, deliver

    try:
        return deliver(message_id)
    except TelegramRetry as exc:
        countdown = exc.after if exc.after is not None else min(1800, 30 * 2**self.request.retries)
        raise self.retry(exc=exc, countdown=countdown) from exc
