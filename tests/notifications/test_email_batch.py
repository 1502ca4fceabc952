"""E-mail of many notifications at once (otklik.notifications.email.deliver_many, the batch task): one claim for
all, one connection to the mail server, each e-mail's failure kept on its own row."""

from __future__ import annotations

import datetime as dt
import smtplib
from typing import Any

import pytest
from django.core import mail
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from otklik.notifications import email
from otklik.notifications.choices import DeliveryStatus, NotificationKind
from otklik.notifications.email import SENDING_LEASE, deliver_many
from otklik.notifications.models import Notification
from otklik.notifications.services import do_notify
from otklik.notifications.tasks import send_notification_emails

pytestmark = pytest.mark.django_db


def notes(user: Any, count: int, prefix: str = "n") -> list[Notification]:
    return [
        do_notify(
            [user],
            kind=NotificationKind.GENERIC,
            title=f"Заголовок {i}",
            body="Текст",
            url=f"/x/{i}/",
            dedup_key=f"{prefix}:{i}",
        )[0]
        for i in range(count)
    ]


def statuses(rows: list[Notification]) -> list[str]:
    by_pk = dict(Notification.objects.filter(pk__in=[n.pk for n in rows]).values_list("pk", "email_status"))
    return [by_pk[n.pk] for n in rows]


class Opens:
    """Counts the mail connections opened (the locmem backend's open does nothing)."""

    def __init__(self, monkeypatch: Any) -> None:
        from django.core.mail.backends.locmem import EmailBackend

        self.count = 0
        original = EmailBackend.open

        def open_(backend: Any) -> Any:
            self.count += 1
            return original(backend)

        monkeypatch.setattr(EmailBackend, "open", open_, raising=False)


def test_it_sends_each_e_mail_with_its_text_and_html_and_marks_them_all_sent(executor, monkeypatch):
    opens = Opens(monkeypatch)
    rows = notes(executor, 3)

    assert deliver_many([n.pk for n in rows]) == (3, [])

    assert [m.subject for m in mail.outbox] == ["Заголовок 0", "Заголовок 1", "Заголовок 2"]
    assert mail.outbox[1].body == "Текст\n\nhttp://127.0.0.1:8000/x/1/"
    assert mail.outbox[1].alternatives[0].mimetype == "text/html"
    assert "Заголовок 1" in mail.outbox[1].alternatives[0].content
    assert statuses(rows) == [DeliveryStatus.SENT] * 3
    assert all(n.emailed_at is not None for n in Notification.objects.filter(pk__in=[n.pk for n in rows]))
    assert opens.count == 1  # one connection for the batch


def test_the_database_work_does_not_grow_with_the_batch(executor):
    few, many = notes(executor, 2, "few"), notes(executor, 12, "many")

    with CaptureQueriesContext(connection) as two:
        deliver_many([n.pk for n in few])
    with CaptureQueriesContext(connection) as twelve:
        deliver_many([n.pk for n in many])

    assert len(twelve) == len(two) <= 6
    assert len(mail.outbox) == 14


def test_a_redelivered_batch_sends_nothing_twice(executor):
    rows = notes(executor, 3)
    deliver_many([n.pk for n in rows])

    assert deliver_many([n.pk for n in rows]) == (0, [])
    assert len(mail.outbox) == 3


def test_a_fresh_claim_is_left_to_its_delivery_and_a_stale_one_is_sent_again(executor):
    fresh, stale, free = notes(executor, 3)
    Notification.objects.filter(pk=fresh.pk).update(email_status=DeliveryStatus.SENDING, emailed_at=timezone.now())
    claimed_at = timezone.now() - SENDING_LEASE - dt.timedelta(seconds=1)
    Notification.objects.filter(pk=stale.pk).update(email_status=DeliveryStatus.SENDING, emailed_at=claimed_at)

    assert deliver_many([fresh.pk, stale.pk, free.pk]) == (2, [fresh.pk])

    assert statuses([fresh, stale, free]) == [DeliveryStatus.SENDING, DeliveryStatus.SENT, DeliveryStatus.SENT]
    assert len(mail.outbox) == 2


def test_recipients_without_an_address_are_skipped_and_missing_rows_ignored(executor, operator):
    operator.email = ""
    operator.save(update_fields=["email"])
    [to_executor] = notes(executor, 1, "e")
    [to_operator] = notes(operator, 1, "o")

    assert deliver_many([to_operator.pk, to_executor.pk, 10**9]) == (1, [])

    assert statuses([to_operator, to_executor]) == [DeliveryStatus.SKIPPED, DeliveryStatus.SENT]
    assert [m.to for m in mail.outbox] == [["executor@example.org"]]


def test_a_passing_error_puts_one_row_back_and_reopens_the_connection(executor, monkeypatch):
    opens = Opens(monkeypatch)
    rows = notes(executor, 3)
    calls = []

    def flaky(mailer: Any, message: Any) -> None:
        calls.append(message.subject)
        if len(calls) == 2:
            raise smtplib.SMTPServerDisconnected("Connection unexpectedly closed")
        mailer.send_messages([message])

    monkeypatch.setattr(email, "_send_message", flaky)

    assert deliver_many([n.pk for n in rows]) == (2, [rows[1].pk])

    assert statuses(rows) == [DeliveryStatus.SENT, DeliveryStatus.PENDING, DeliveryStatus.SENT]
    assert Notification.objects.get(pk=rows[1].pk).email_error == (
        "SMTPServerDisconnected: Connection unexpectedly closed"
    )
    assert opens.count == 2  # opened again for the third e-mail
    assert [m.subject for m in mail.outbox] == ["Заголовок 0", "Заголовок 2"]


def test_a_permanent_error_fails_its_row_only(executor, monkeypatch):
    rows = notes(executor, 2)

    def broken_first(mailer: Any, message: Any) -> None:
        if message.subject == "Заголовок 0":
            raise ValueError("bad address")
        mailer.send_messages([message])

    monkeypatch.setattr(email, "_send_message", broken_first)

    assert deliver_many([n.pk for n in rows]) == (1, [])
    assert statuses(rows) == [DeliveryStatus.FAILED, DeliveryStatus.SENT]
    assert "bad address" in Notification.objects.get(pk=rows[0].pk).email_error


def test_the_task_tries_a_passing_failure_again_alone(executor, monkeypatch):
    rows = notes(executor, 2)
    failed_once: list[str] = []

    def flaky(mailer: Any, message: Any) -> None:
        if message.subject == "Заголовок 1" and not failed_once:
            failed_once.append(message.subject)
            raise smtplib.SMTPServerDisconnected("Connection unexpectedly closed")
        mailer.send_messages([message])

    monkeypatch.setattr(email, "_send_message", flaky)
    alone: list[int] = []
    monkeypatch.setattr("otklik.notifications.tasks.send_notification_email.delay", alone.append)

    assert send_notification_emails.run([n.pk for n in rows]) == 1

    assert alone == [rows[1].pk]
    assert statuses(rows) == [DeliveryStatus.SENT, DeliveryStatus.PENDING]
