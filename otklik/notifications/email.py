"""E-mail delivery of notifications: one claim per row, so a redelivered task does not send twice.

Delivery is at least once, not exactly once. The row is claimed (`pending` → `sending`) before the mail goes to
the server and marked `sent` after; if the worker dies between the two, the claim's lease runs out and a
redelivery sends again. We accept a rare duplicate rather than risk a department never hearing of an assignment.
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Iterable, Sequence
from typing import Any

from django.conf import settings
from django.core.mail import EmailMultiAlternatives, mailers, send_mail
from django.db import transaction
from django.db.models import Q
from django.template.loader import render_to_string
from django.utils import timezone

from otklik.notifications.choices import DeliveryStatus
from otklik.notifications.models import Notification

#: Errors of the mail server or the network, worth another attempt (smtplib's errors are OSErrors).
TRANSIENT_MAIL_ERRORS: tuple[type[Exception], ...] = (OSError,)
#: How long a claim protects a delivery in progress. Far above any SMTP timeout: a claim this old belongs to a
#: delivery that died.
SENDING_LEASE = dt.timedelta(minutes=10)
_ERROR_MAX = 2000

log = logging.getLogger(__name__)


class DeliveryBusy(Exception):
    """Another delivery holds a fresh claim on this notification; try again after the lease."""


def _claimable(now: dt.datetime) -> Q:
    stale_claim = Q(email_status=DeliveryStatus.SENDING) & (
        Q(emailed_at__lt=now - SENDING_LEASE) | Q(emailed_at__isnull=True)
    )
    return Q(email_status__in=[DeliveryStatus.PENDING, DeliveryStatus.FAILED]) | stale_claim


def deliver(notification_id: int, *, final_attempt: bool = True) -> str:
    """Send the notification's e-mail; returns the resulting e-mail status (or `missing`).

    1. A missing, sent or skipped notification: nothing to do. A recipient without an address or no longer
       active: `skipped`.
    2. Claim the row with a conditional UPDATE to `sending` (from `pending`, `failed`, or a `sending` whose lease
       ran out). A fresh claim held by another delivery raises `DeliveryBusy`.
    3. Send, then mark `sent` (`emailed_at` = the time of sending; during a claim it holds the claim's time).
    4. On an error: store it; the row goes back to `pending` when the error is transient and another attempt
       will follow (`final_attempt=False`), else to `failed`; re-raise.
    """
    notification = (
        Notification.objects.select_related("recipient", "assignment__department").filter(pk=notification_id).first()
    )
    if notification is None:
        return "missing"
    if notification.email_status in {DeliveryStatus.SENT, DeliveryStatus.SKIPPED}:
        return notification.email_status
    now = timezone.now()
    rows = Notification.objects.filter(_claimable(now), pk=notification_id)
    recipient = notification.recipient
    if not recipient.email or not recipient.is_active:
        rows.update(email_status=DeliveryStatus.SKIPPED)
        return DeliveryStatus.SKIPPED
    if not rows.update(email_status=DeliveryStatus.SENDING, emailed_at=now):
        status = Notification.objects.filter(pk=notification_id).values_list("email_status", flat=True).first()
        if status == DeliveryStatus.SENDING:
            raise DeliveryBusy(f"notification {notification_id} is being sent by another delivery")
        return status or "missing"

    claimed = Notification.objects.filter(pk=notification_id, email_status=DeliveryStatus.SENDING)
    subject, body, html = _content(notification)
    try:
        send_mail(subject, body, settings.DEFAULT_FROM_EMAIL, [recipient.email], html_message=html)
    except Exception as exc:
        _store_error(claimed, exc, retry=isinstance(exc, TRANSIENT_MAIL_ERRORS) and not final_attempt)
        raise
    claimed.update(email_status=DeliveryStatus.SENT, emailed_at=timezone.now(), email_error="")
    return DeliveryStatus.SENT


def _content(notification: Notification) -> tuple[str, str, str]:
    """The e-mail's subject, text and HTML."""
    link = f"{settings.SITE_URL}{notification.url}" if notification.url else ""
    body = "\n\n".join(part for part in (notification.body, link) if part)
    subject = " ".join(notification.title.split())  # a line break in a subject is refused by Django
    html = render_to_string("notifications/email.html", {"notification": notification, "link": link})
    return subject, body, html


def _store_error(claimed: Any, exc: Exception, *, retry: bool) -> None:
    """The claimed row(s) back to `pending` (another attempt follows) or to `failed`, with the error."""
    claimed.update(
        email_status=DeliveryStatus.PENDING if retry else DeliveryStatus.FAILED,
        email_error=f"{type(exc).__name__}: {exc}"[:_ERROR_MAX],
    )


def _send_message(mailer: Any, message: EmailMultiAlternatives) -> None:
    mailer.send_messages([message])


def deliver_many(notification_ids: Sequence[int]) -> tuple[int, list[int]]:
    """Send the e-mails of many notifications as `deliver` sends one, with the database work done for all of them
    at once and one connection to the mail server; → (how many were sent, the ids to try again one by one).

    1. One query reads them; the sent, skipped and missing ones are left alone; those whose recipient has no
       address or is no longer active go to `skipped` (one UPDATE).
    2. The claim: the claimable ones (as `deliver` claims one) are locked and go to `sending` in one transaction
       (two statements). One held by another delivery's fresh claim is to be tried again alone (it would raise
       `DeliveryBusy`).
    3. Each claimed e-mail is sent over the batch's connection (opened again after a passing error). A passing
       error (`TRANSIENT_MAIL_ERRORS`) puts the row back to `pending` with its error and asks for a try alone, with
       that task's retries and back-off; any other error marks it `failed` with its error.
    4. The sent ones are marked `sent` together, when the batch ends (one UPDATE; `emailed_at` is that moment).
       A worker that dies before this leaves them `sending`: their lease runs out and they are sent again — at
       least once, as with `deliver`, but for up to a batch of e-mails instead of one.
    """
    notifications = {
        notification.pk: notification
        for notification in Notification.objects.select_related("recipient", "assignment__department").filter(
            pk__in=list(notification_ids)
        )
    }
    done = {DeliveryStatus.SENT, DeliveryStatus.SKIPPED}
    in_order = [notifications[pk] for pk in dict.fromkeys(notification_ids) if pk in notifications]
    todo = [n for n in in_order if n.email_status not in done]
    now = timezone.now()
    no_address = {n.pk for n in todo if not n.recipient.email or not n.recipient.is_active}
    if no_address:
        Notification.objects.filter(_claimable(now), pk__in=no_address).update(email_status=DeliveryStatus.SKIPPED)
    wanted = [n.pk for n in todo if n.pk not in no_address]
    if not wanted:
        return 0, []
    with transaction.atomic():
        claimed = set(
            Notification.objects.select_for_update().filter(_claimable(now), pk__in=wanted).values_list("pk", flat=True)
        )
        if claimed:
            Notification.objects.filter(pk__in=claimed).update(email_status=DeliveryStatus.SENDING, emailed_at=now)
    again: list[int] = []
    if len(claimed) < len(wanted):  # claimed meanwhile: sent by another delivery, or still being sent
        again += Notification.objects.filter(
            pk__in=[pk for pk in wanted if pk not in claimed], email_status=DeliveryStatus.SENDING
        ).values_list("pk", flat=True)
    sent: list[int] = []
    connection = mailers.default
    opened = False
    try:
        for pk in (pk for pk in wanted if pk in claimed):
            notification = notifications[pk]
            subject, body, html = _content(notification)
            message = EmailMultiAlternatives(subject, body, settings.DEFAULT_FROM_EMAIL, [notification.recipient.email])
            message.attach_alternative(html, "text/html")
            rows = Notification.objects.filter(pk=pk, email_status=DeliveryStatus.SENDING)
            try:
                if not opened:
                    connection.open()
                    opened = True
                _send_message(connection, message)
            except TRANSIENT_MAIL_ERRORS as exc:
                _store_error(rows, exc, retry=True)
                again.append(pk)
                connection.close()  # a dropped connection is opened again for the next e-mail
                opened = False
            except Exception as exc:
                log.exception("e-mail of notification %s failed", pk)
                _store_error(rows, exc, retry=False)
            else:
                sent.append(pk)
    finally:
        if opened:
            connection.close()
        if sent:
            Notification.objects.filter(pk__in=sent, email_status=DeliveryStatus.SENDING).update(
                email_status=DeliveryStatus.SENT, emailed_at=timezone.now(), email_error=""
            )
    return len(sent), again


def do_resend_failed(notification_ids: Iterable[int]) -> int:
    """Put failed e-mails back to `pending` and send them again (the admin's action); returns how many."""
    from otklik.notifications.tasks import send_notification_email

    ids = list(
        Notification.objects.filter(pk__in=list(notification_ids), email_status=DeliveryStatus.FAILED).values_list(
            "pk", flat=True
        )
    )
    count = 0
    for pk in ids:
        if Notification.objects.filter(pk=pk, email_status=DeliveryStatus.FAILED).update(
            email_status=DeliveryStatus.PENDING
        ):
            send_notification_email.delay_on_commit(pk)
            count += 1
    return count


def do_skip_unsent(notification_ids: Iterable[int], *, reason: str) -> int:
    """Never e-mail these notifications: their moment has passed (a history written after the fact, such as the
    demo's). Only e-mails not attempted yet change, `pending` → `skipped` with the reason in `email_error`, so the
    sweep leaves them alone and a delivery already under way is not disturbed. Returns how many changed."""
    return Notification.objects.filter(
        pk__in=list(notification_ids), email_status=DeliveryStatus.PENDING, emailed_at__isnull=True
    ).update(email_status=DeliveryStatus.SKIPPED, email_error=reason[:_ERROR_MAX])


def unsent_ids(*, older_than: dt.timedelta, limit: int = 500) -> list[int]:
    """Notifications whose e-mail was never attempted although created `older_than` ago (a lost message)."""
    cutoff = timezone.now() - older_than
    return list(
        Notification.objects.filter(email_status=DeliveryStatus.PENDING, emailed_at__isnull=True, created_at__lt=cutoff)
        .order_by("created_at")
        .values_list("pk", flat=True)[:limit]
    )
