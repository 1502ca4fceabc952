"""In a Celery task the actor is the task: records name it, and the context of the caller comes back after it."""

from __future__ import annotations

from celery import shared_task

from otklik.audit import context
from otklik.audit.services import record
from tests.audit.helpers import context_of


@shared_task(name="tests.audit.write_a_record")
def write_a_record() -> int:
    return record("view", note="from a task").pk


def test_a_task_writes_as_the_system_with_its_name_and_id(operator, new_records):
    with context_of(operator):
        result = write_a_record.apply()
        assert context.current().request is not None  # the caller's context is back
    [entry] = new_records()
    assert entry.pk == result.get()
    assert entry.origin == "task tests.audit.write_a_record" and entry.user is None and entry.username == ""
    assert entry.request_id == result.id


def test_outside_requests_and_tasks_the_origin_is_the_system(db):
    entry = record("view", note="shell")
    assert entry.origin == "system" and entry.ip == "" and entry.path == ""
