"""Task recording (otklik.ops.recording): every run leaves a TaskRun; a done run is not repeated."""

from __future__ import annotations

from typing import Any

import pytest
from celery.exceptions import Retry
from django.db import OperationalError

from otklik.celery import app as celery_app
from otklik.ops import recording
from otklik.ops.models import TaskRun, TaskRunStatus
from otklik.ops.recording import RecordedTask, recorded_task, run_key

calls: list[Any] = []


@recorded_task(name="tests.ops.count")
def count(value: int, *, label: str = "") -> dict[str, Any]:
    calls.append(value)
    return {"value": value, "label": label}


@recorded_task(name="tests.ops.broken")
def broken() -> None:
    calls.append("broken")
    raise ValueError("broken on purpose")


@recorded_task(bind=True, name="tests.ops.flaky", max_retries=3, retry_backoff=5, retry_jitter=False)
def flaky(self: Any, failures: int) -> str:
    calls.append(self.request.retries)
    if self.request.retries < failures:
        raise ConnectionRefusedError("the mail server is away")
    return "finally"


@recorded_task(name="tests.ops.tick", periodic=True)
def tick() -> int:
    calls.append("tick")
    return len(calls)


@pytest.fixture(autouse=True)
def _calls():
    calls.clear()
    yield
    calls.clear()


@pytest.fixture
def as_in_a_worker():
    """Eager tasks keep their exceptions in the result, so that eager retries run as a worker's would."""
    celery_app.conf.task_eager_propagates = False
    yield
    celery_app.conf.task_eager_propagates = True


def the_run(task: Any, *args: Any, **kwargs: Any) -> TaskRun:
    return TaskRun.objects.get(key=run_key(task.name, args, kwargs))


def test_it_records_a_done_run_with_its_result(db):
    result = count.apply(args=(7,), kwargs={"label": "x"}, task_id="t-1")

    assert result.get() == {"value": 7, "label": "x"}
    run = the_run(count, 7, label="x")
    assert run.key == 'tests.ops.count(7, label="x")'
    assert run.name == "tests.ops.count"
    assert (run.status, run.attempts, run.last_task_id) == (TaskRunStatus.DONE, 1, "t-1")
    assert run.result == {"value": 7, "label": "x"}
    assert run.finished_at is not None and run.finished_at >= run.started_at
    assert run.error == ""


def test_it_does_not_act_again_when_a_done_task_is_delivered_again(db):
    count.apply(args=(7,), task_id="t-1")
    again = count.apply(args=(7,), task_id="t-1")  # the broker redelivers the same message
    resent = count.apply(args=(7,), task_id="t-2")  # the same work sent again

    assert calls == [7]
    assert again.get() == resent.get() == {"value": 7, "label": ""}
    assert the_run(count, 7).attempts == 1


def test_it_keeps_runs_with_other_arguments_apart(db):
    count.apply(args=(1,))
    count.apply(args=(2,))

    assert calls == [1, 2]
    assert TaskRun.objects.filter(name="tests.ops.count").count() == 2


def test_a_failing_task_records_the_error_and_the_attempts(db):
    with pytest.raises(ValueError, match="broken on purpose"):
        broken.apply()
    run = the_run(broken)
    assert (run.status, run.attempts) == (TaskRunStatus.FAILED, 1)
    assert "ValueError: broken on purpose" in run.error
    assert run.finished_at is not None

    with pytest.raises(ValueError):
        broken.apply()  # a failed run is not "done": it runs again

    assert calls == ["broken", "broken"]
    assert the_run(broken).attempts == 2


def test_a_transient_error_is_retried_and_the_run_ends_done(db, as_in_a_worker):
    result = flaky.apply(args=(2,))

    assert result.get() == "finally"
    assert calls == [0, 1, 2]
    run = the_run(flaky, 2)
    assert (run.status, run.attempts, run.error) == (TaskRunStatus.DONE, 3, "")


def test_a_transient_error_fails_the_run_when_the_retries_are_used_up(db, as_in_a_worker):
    result = flaky.apply(args=(10,))

    assert isinstance(result.result, ConnectionRefusedError)

    assert calls == [0, 1, 2, 3]  # the first attempt and max_retries=3 retries
    run = the_run(flaky, 10)
    assert (run.status, run.attempts) == (TaskRunStatus.FAILED, 4)
    assert "ConnectionRefusedError: the mail server is away" in run.error


def test_the_retries_back_off_exponentially(db, monkeypatch, as_in_a_worker):
    countdowns: list[int] = []
    original = RecordedTask.retry

    def spy(self: Any, *args: Any, **kwargs: Any) -> Retry:
        countdowns.append(kwargs["countdown"])
        return original(self, *args, **kwargs)

    monkeypatch.setattr(RecordedTask, "retry", spy)
    flaky.apply(args=(10,))

    assert countdowns == [5, 10, 20]


def test_a_database_away_when_the_run_is_claimed_is_retried_later(db, monkeypatch, as_in_a_worker):
    real_claim = recording._claim
    failures = iter([OperationalError("database is locked")])

    def claim(*args: Any, **kwargs: Any) -> Any:
        for error in failures:
            raise error
        return real_claim(*args, **kwargs)

    monkeypatch.setattr(recording, "_claim", claim)
    result = count.apply(args=(4,))

    assert result.get() == {"value": 4, "label": ""}
    assert calls == [4]
    assert the_run(count, 4).status == TaskRunStatus.DONE


def test_a_direct_call_is_recorded_too(db):
    assert count(3) == {"value": 3, "label": ""}
    assert count(3) == {"value": 3, "label": ""}

    assert calls == [3]
    assert the_run(count, 3).status == TaskRunStatus.DONE


def test_a_periodic_task_runs_every_time_and_keeps_one_row_for_its_latest_run(db):
    tick.apply(task_id="slot-1")
    tick.apply(task_id="slot-2")
    tick.apply(task_id="slot-2")  # even a redelivery: a sweep repeated is harmless

    assert calls == ["tick", "tick", "tick"]
    run = TaskRun.objects.get(name="tests.ops.tick")
    assert run.key == "tests.ops.tick"
    assert (run.status, run.last_task_id, run.attempts, run.result) == (TaskRunStatus.DONE, "slot-2", 2, 3)


def test_a_key_too_long_for_the_column_is_hashed():
    key = run_key("tests.ops.count", ("x" * 400,), {})

    assert len(key) <= 255
    assert key.startswith("tests.ops.count#sha256:")
    assert key != run_key("tests.ops.count", ("y" * 400,), {})
