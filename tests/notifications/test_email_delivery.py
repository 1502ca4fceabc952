"""E-mail delivery of a notification: claimed once, retried with back-off on failure, errors kept."""

from __future__ import annotations

import datetime as dt
import smtplib
from typing import Any

import pytest
from celery.exceptions import Retry
from django.core import mail
from django.utils import timezone

from otklik.celery import app as celery_app
from otklik.notifications import email
from otklik.notifications.choices import DeliveryStatus, NotificationKind
from otklik.notifications.email import SENDING_LEASE, DeliveryBusy, deliver
from otklik.notifications.models import Notification
from otklik.notifications.services import do_notify
from otklik.notifications.tasks import UNSENT_AFTER, send_notification_email, sweep_unsent_emails
from otklik.ops.models import TaskRun, TaskRunStatus
from otklik.ops.recording import RecordedTask, run_key


@pytest.fixture
def note(executor) -> Notification:
    # Created through the service; its own e-mail task waits for a commit that never comes in this test.
    [notification] = do_notify(
        [executor], kind=NotificationKind.GENERIC, title="Проверка\nсвязи", body="Текст", url="/x/", dedup_key="t:1"
    )
    return notification


@pytest.fixture
def as_in_a_worker():
    """Eager tasks keep their exceptions in the result, so that eager retries run as a worker's would."""
    celery_app.conf.task_eager_propagates = False
    yield
    celery_app.conf.task_eager_propagates = True


class FlakyMail:
    """send_mail that fails `failures` times with a server error, then sends."""

    def __init__(self, failures: int, error: Exception | None = None) -> None:
        self.failures = failures
        self.error = error or smtplib.SMTPServerDisconnected("Connection unexpectedly closed")
        self.calls = 0

    def __call__(self, *args: Any, **kwargs: Any) -> int:
        self.calls += 1
        if self.calls <= self.failures:
            raise self.error
        return mail.send_mail(*args, **kwargs)


def refreshed(notification: Notification) -> Notification:
    notification.refresh_from_db()
    return notification


def the_run(notification: Notification) -> TaskRun:
    return TaskRun.objects.get(key=run_key(send_notification_email.name, (notification.pk,), {}))


def test_it_sends_the_title_body_and_link_and_marks_the_row_sent(note):
    assert deliver(note.pk) == DeliveryStatus.SENT

    [message] = mail.outbox
    assert (message.subject, message.to) == ("Проверка связи", ["executor@example.org"])
    assert message.body == "Текст\n\nhttp://127.0.0.1:8000/x/"
    note = refreshed(note)
    assert (note.email_status, note.email_error) == (DeliveryStatus.SENT, "")
    assert note.emailed_at is not None


def test_delivering_twice_sends_once(note):
    deliver(note.pk)
    assert deliver(note.pk) == DeliveryStatus.SENT

    assert len(mail.outbox) == 1


def test_a_fresh_claim_of_another_delivery_is_not_sent_again(note):
    Notification.objects.filter(pk=note.pk).update(email_status=DeliveryStatus.SENDING, emailed_at=timezone.now())

    with pytest.raises(DeliveryBusy):
        deliver(note.pk)
    assert mail.outbox == []


def test_a_claim_whose_lease_ran_out_is_sent_again(note):
    # The worker died between the claim and marking the row: at least once, so it goes again.
    claimed_at = timezone.now() - SENDING_LEASE - dt.timedelta(seconds=1)
    Notification.objects.filter(pk=note.pk).update(email_status=DeliveryStatus.SENDING, emailed_at=claimed_at)

    assert deliver(note.pk) == DeliveryStatus.SENT
    assert len(mail.outbox) == 1


def test_a_recipient_without_an_address_is_skipped(note, executor):
    executor.email = ""
    executor.save(update_fields=["email"])

    assert deliver(note.pk) == DeliveryStatus.SKIPPED
    assert refreshed(note).email_status == DeliveryStatus.SKIPPED
    assert mail.outbox == []


def test_a_failed_mail_is_retried_and_then_sent(note, monkeypatch, as_in_a_worker):
    flaky = FlakyMail(failures=2)
    monkeypatch.setattr(email, "send_mail", flaky)

    result = send_notification_email.apply(args=(note.pk,))

    assert result.get() == DeliveryStatus.SENT
    assert flaky.calls == 3
    assert len(mail.outbox) == 1
    assert (refreshed(note).email_status, refreshed(note).email_error) == (DeliveryStatus.SENT, "")
    run = the_run(note)
    assert (run.status, run.attempts) == (TaskRunStatus.DONE, 3)


def test_while_retrying_the_row_waits_with_its_error(note, monkeypatch):
    monkeypatch.setattr(email, "send_mail", FlakyMail(failures=1))

    with pytest.raises(smtplib.SMTPServerDisconnected):
        deliver(note.pk, final_attempt=False)

    note = refreshed(note)
    assert note.email_status == DeliveryStatus.PENDING
    assert note.email_error == "SMTPServerDisconnected: Connection unexpectedly closed"


def test_a_mail_that_keeps_failing_ends_failed_with_its_error(note, monkeypatch, as_in_a_worker):
    flaky = FlakyMail(failures=100)
    monkeypatch.setattr(email, "send_mail", flaky)
    countdowns: list[int] = []
    original = RecordedTask.retry

    def spy(self: Any, *args: Any, **kwargs: Any) -> Retry:
        countdowns.append(kwargs["countdown"])
        return original(self, *args, **kwargs)

    monkeypatch.setattr(RecordedTask, "retry", spy)
    monkeypatch.setattr(send_notification_email, "retry_jitter", False)

    result = send_notification_email.apply(args=(note.pk,))

    assert isinstance(result.result, smtplib.SMTPServerDisconnected)
    assert flaky.calls == 9  # the first attempt and 8 retries
    assert countdowns == [30, 60, 120, 240, 480, 960, 1800, 1800]
    note = refreshed(note)
    assert note.email_status == DeliveryStatus.FAILED
    assert "Connection unexpectedly closed" in note.email_error
    run = the_run(note)
    assert (run.status, run.attempts) == (TaskRunStatus.FAILED, 9)
    assert "SMTPServerDisconnected" in run.error
    assert mail.outbox == []


def test_a_permanent_error_fails_at_once(note, monkeypatch, as_in_a_worker):
    flaky = FlakyMail(failures=100, error=ValueError("bad address"))
    monkeypatch.setattr(email, "send_mail", flaky)

    send_notification_email.apply(args=(note.pk,))

    assert flaky.calls == 1
    assert refreshed(note).email_status == DeliveryStatus.FAILED
    assert the_run(note).status == TaskRunStatus.FAILED


def test_the_sweep_sends_e_mails_whose_task_never_ran(note, executor):
    [recent] = do_notify([executor], kind=NotificationKind.GENERIC, title="Новое", dedup_key="t:2")
    Notification.objects.filter(pk=note.pk).update(created_at=timezone.now() - UNSENT_AFTER - dt.timedelta(minutes=1))

    assert sweep_unsent_emails.apply().get() == 1

    assert refreshed(note).email_status == DeliveryStatus.SENT
    assert refreshed(recent).email_status == DeliveryStatus.PENDING  # its own task is still on its way
    assert len(mail.outbox) == 1


def test_the_admin_can_send_failed_e_mails_again(admin_client, note, django_capture_on_commit_callbacks):
    Notification.objects.filter(pk=note.pk).update(email_status=DeliveryStatus.FAILED, email_error="timeout")

    with django_capture_on_commit_callbacks(execute=True):
        response = admin_client.post(
            "/admin/notifications/notification/",
            {"action": "resend_email", "_selected_action": [note.pk]},
            follow=True,
        )

    assert response.status_code == 200
    assert refreshed(note).email_status == DeliveryStatus.SENT
    assert len(mail.outbox) == 1


def test_the_admin_lists_notifications_read_only(admin_client, note):
    assert admin_client.get("/admin/notifications/notification/").status_code == 200
    assert admin_client.get(f"/admin/notifications/notification/{note.pk}/change/").status_code == 200
    assert admin_client.get("/admin/notifications/notification/add/").status_code == 403
