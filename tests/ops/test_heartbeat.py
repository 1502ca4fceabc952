"""Heartbeats of the worker and beat, and the purge of old task runs."""

from __future__ import annotations

import datetime as dt
import socket

import pytest
from celery.signals import worker_ready
from django.utils import timezone
from kombu import Connection

from otklik.celery import app as celery_app
from otklik.ops.models import Heartbeat, Process, TaskRun, TaskRunStatus
from otklik.ops.services import do_purge_task_runs, do_record_heartbeat
from otklik.ops.tasks import BEAT_HOST_HEADER, BEAT_SENT_AT_HEADER, heartbeat, purge_task_runs


def beat_of(name: str) -> Heartbeat:
    return Heartbeat.objects.get(name=name)


def test_it_records_the_worker_that_ran_the_heartbeat(db):
    before = timezone.now()
    heartbeat.apply()

    worker = beat_of(Process.WORKER)
    assert worker.hostname == socket.gethostname()
    assert before <= worker.last_seen <= timezone.now()
    assert not Heartbeat.objects.filter(name=Process.BEAT).exists()  # not sent by beat: says nothing of beat
    assert TaskRun.objects.get(key="otklik.ops.tasks.heartbeat").status == TaskRunStatus.DONE


def test_it_records_beat_at_the_time_beat_sent_the_heartbeat(db):
    sent = timezone.now() - dt.timedelta(seconds=20)
    heartbeat.apply(
        headers={"celery_beat_task": True, BEAT_SENT_AT_HEADER: sent.isoformat(), BEAT_HOST_HEADER: "scheduler-1"}
    )

    beat = beat_of(Process.BEAT)
    assert (beat.last_seen, beat.hostname) == (sent, "scheduler-1")
    assert beat_of(Process.WORKER).last_seen > sent


def test_a_beat_message_without_a_send_time_counts_as_sent_now(db):
    before = timezone.now()
    heartbeat.apply(headers={"celery_beat_task": True})

    assert beat_of(Process.BEAT).last_seen >= before


@pytest.fixture
def memory_broker():
    """Publishing for real, into the in-memory transport, instead of running eagerly."""
    celery_app.conf.task_always_eager = False
    with Connection("memory://") as conn:
        yield conn
    celery_app.conf.task_always_eager = True


def published_headers(conn: Connection) -> dict:
    with conn.SimpleQueue("celery") as queue:
        message = queue.get(timeout=2)
        message.ack()
        return dict(message.headers)


def test_beat_stamps_its_send_time_and_host_into_the_heartbeat_message(memory_broker):
    # celery beat publishes a scheduled entry with the header `celery_beat_task`.
    before = timezone.now()
    heartbeat.apply_async(headers={"celery_beat_task": True}, connection=memory_broker, expires=30)

    headers = published_headers(memory_broker)
    assert dt.datetime.fromisoformat(headers[BEAT_SENT_AT_HEADER]) >= before
    assert headers[BEAT_HOST_HEADER] == socket.gethostname()


def test_a_heartbeat_sent_by_anyone_else_is_not_stamped(memory_broker):
    heartbeat.apply_async(connection=memory_broker)

    assert BEAT_SENT_AT_HEADER not in published_headers(memory_broker)


class Consumer:
    """What celery passes as the sender of `worker_ready`."""

    hostname = "celery@worker-7"


def test_a_worker_records_itself_when_it_is_ready(db):
    worker_ready.send(sender=Consumer())

    assert beat_of(Process.WORKER).hostname == "celery@worker-7"


def test_a_late_heartbeat_does_not_move_last_seen_back(db):
    now = timezone.now()
    assert do_record_heartbeat(Process.WORKER, hostname="new", at=now)
    assert not do_record_heartbeat(Process.WORKER, hostname="old", at=now - dt.timedelta(minutes=1))

    assert (beat_of(Process.WORKER).last_seen, beat_of(Process.WORKER).hostname) == (now, "new")


def make_run(key: str, days_ago: float) -> TaskRun:
    return TaskRun.objects.create(
        name="t", key=key, status=TaskRunStatus.DONE, started_at=timezone.now() - dt.timedelta(days=days_ago)
    )


def test_it_purges_task_runs_older_than_thirty_days_in_batches(db):
    for i in range(5):
        make_run(f"old-{i}", days_ago=31 + i)
    make_run("recent", days_ago=29)

    assert do_purge_task_runs(batch=2) == 5
    assert list(TaskRun.objects.values_list("key", flat=True)) == ["recent"]


def test_the_purge_task_reports_what_it_deleted(db):
    make_run("old", days_ago=40)

    assert purge_task_runs.apply().get() == 1
    assert set(TaskRun.objects.values_list("key", flat=True)) == {"otklik.ops.tasks.purge_task_runs"}
