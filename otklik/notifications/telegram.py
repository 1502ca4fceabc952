"""The staff Telegram chat: escalations posted by a bot (Bot API `sendMessage` over HTTPS with httpx).

`do_post_to_staff_chat(text, dedup_key)` stores a StaffMessage in the caller's transaction and sends it from a task
after commit. Sending claims the row (`pending` → `sending`, conditional UPDATE), so a redelivered task sends nothing
twice; Telegram's 429 (`retry_after`) and 5xx or network errors are retried with back-off, other errors fail the
message with the reason. Off when OTKLIK_TELEGRAM_BOT_TOKEN or OTKLIK_TELEGRAM_STAFF_CHAT_ID is empty.
"""

from __future__ import annotations

import datetime as dt
from functools import partial

import httpx
from django.conf import settings
from django.db import IntegrityError, transaction
from django.db.models import Q
from django.utils import timezone

from otklik.notifications.choices import DeliveryStatus
from otklik.notifications.models import StaffMessage

LEASE = dt.timedelta(minutes=5)
TIMEOUT = httpx.Timeout(10.0, connect=5.0)


class TelegramRetry(Exception):
    """A passing failure (429, 5xx, network): try again later; `after` seconds when Telegram says."""

    def __init__(self, message: str, after: float | None = None) -> None:
        super().__init__(message)
        self.after = after


def enabled() -> bool:
    return bool(settings.OTKLIK_TELEGRAM_BOT_TOKEN and settings.OTKLIK_TELEGRAM_STAFF_CHAT_ID)


def do_post_to_staff_chat(text: str, *, dedup_key: str) -> StaffMessage | None:
    """Store a message for the staff chat and send it after commit; None when the chat is off or it was stored
    before (same dedup_key)."""
    from otklik.notifications.tasks import send_staff_message

    if not enabled():
        return None
    try:
        with transaction.atomic():
            message = StaffMessage.objects.create(dedup_key=dedup_key[:255], text=text[:4096])
    except IntegrityError:
        return None
    # Robust: a broker away at commit leaves the message pending; sweep_unsent_emails enqueues it again.
    transaction.on_commit(partial(send_staff_message.delay, message.pk), robust=True)
    return message


def deliver(message_id: int) -> str:
    """Send one stored message; returns its status. Raises TelegramRetry on a passing failure."""
    now = timezone.now()
    claimable = Q(status__in=[DeliveryStatus.PENDING, DeliveryStatus.FAILED]) | Q(
        status=DeliveryStatus.SENDING, sent_at__lt=now - LEASE
    )
    # During the claim `sent_at` holds the claim's time (a lease): a worker killed mid-send is taken over later.
    if not StaffMessage.objects.filter(claimable, pk=message_id).update(status=DeliveryStatus.SENDING, sent_at=now):
        status = StaffMessage.objects.filter(pk=message_id).values_list("status", flat=True).first()
        return status or "missing"
    message = StaffMessage.objects.get(pk=message_id)
    url = f"{settings.OTKLIK_TELEGRAM_API_URL.rstrip('/')}/bot{settings.OTKLIK_TELEGRAM_BOT_TOKEN}/sendMessage"
    payload = {
        "chat_id": settings.OTKLIK_TELEGRAM_STAFF_CHAT_ID,
        "text": message.text,
        "disable_web_page_preview": True,
    }
    try:
        response = httpx.post(url, json=payload, timeout=TIMEOUT)
        data = response.json() if response.content else {}
    except (httpx.HTTPError, ValueError) as exc:
        _back(message, f"{type(exc).__name__}: {exc}", DeliveryStatus.PENDING)
        raise TelegramRetry(str(exc)) from exc
    if response.status_code == 200 and data.get("ok"):
        StaffMessage.objects.filter(pk=message.pk).update(
            status=DeliveryStatus.SENT,
            message_id=(data.get("result") or {}).get("message_id"),
            sent_at=timezone.now(),
            attempts=message.attempts + 1,
            error="",
        )
        return DeliveryStatus.SENT
    description = str(data.get("description") or response.text[:300])
    if response.status_code == 429 or response.status_code >= 500:
        after = (data.get("parameters") or {}).get("retry_after")
        _back(message, f"{response.status_code}: {description}", DeliveryStatus.PENDING)
        raise TelegramRetry(description, after=float(after) if after else None)
    _back(message, f"{response.status_code}: {description}", DeliveryStatus.FAILED)
    return DeliveryStatus.FAILED


def _back(message: StaffMessage, error: str, status: str) -> None:
    StaffMessage.objects.filter(pk=message.pk).update(
        status=status, error=error[:2000], attempts=message.attempts + 1, sent_at=None
    )
