"""Notices deferred to the end of a block (otklik.notifications.services.deferring_notices): the worker's analysis
of a batch of posts notifies the departments of all its routings in one INSERT."""

from __future__ import annotations

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from otklik.notifications.choices import NotificationKind
from otklik.notifications.models import Notification
from otklik.notifications.services import BulkNotice, coalescing_emails, deferring_notices, do_notify_bulk

pytestmark = pytest.mark.django_db


def _notice(user_id: int, key: str) -> BulkNotice:
    return BulkNotice(recipient_ids=[user_id], kind=NotificationKind.GENERIC, title=f"Тема {key}", dedup_key=key)


def _inserts(queries: CaptureQueriesContext) -> int:
    return sum(1 for q in queries.captured_queries if q["sql"].startswith('INSERT INTO "notifications_notification"'))


def test_the_notices_of_a_block_are_inserted_once_at_its_end_and_e_mailed(executor, monkeypatch):
    enqueued: list[list[int]] = []
    monkeypatch.setattr("otklik.notifications.services.enqueue_emails", lambda ids: enqueued.append(list(ids)))
    with CaptureQueriesContext(connection) as queries, deferring_notices():
        assert do_notify_bulk([_notice(executor.pk, "a")]) == []  # no id yet
        assert do_notify_bulk([_notice(executor.pk, "b"), _notice(executor.pk, "a")]) == []
        assert not Notification.objects.exists()
    assert _inserts(queries) == 1
    created = list(Notification.objects.order_by("pk").values_list("dedup_key", flat=True))
    assert created == ["a", "b"]  # the repeated key once, as one call by one would leave it
    assert enqueued == [list(Notification.objects.order_by("pk").values_list("pk", flat=True))]


def test_an_error_drops_the_blocks_notices_and_an_enclosing_block_takes_a_finished_ones(executor):
    with deferring_notices():
        with pytest.raises(RuntimeError), deferring_notices():
            do_notify_bulk([_notice(executor.pk, "dropped")])
            raise RuntimeError("boom")
        with deferring_notices():
            do_notify_bulk([_notice(executor.pk, "kept")])
        assert not Notification.objects.exists()  # handed to the enclosing block
    assert list(Notification.objects.values_list("dedup_key", flat=True)) == ["kept"]


def test_inside_a_coalescing_block_the_deferred_notices_e_mails_are_one_task(
    executor, django_capture_on_commit_callbacks
):
    from otklik.notifications.tasks import send_notification_emails

    with django_capture_on_commit_callbacks() as callbacks, coalescing_emails(), deferring_notices():
        do_notify_bulk([_notice(executor.pk, "x")])
        do_notify_bulk([_notice(executor.pk, "y")])
    batches = [c.args[0] for c in callbacks if getattr(c, "func", None) == send_notification_emails.delay]
    assert [sorted(ids) for ids in batches] == [sorted(Notification.objects.values_list("pk", flat=True))]
