"""Recorded Celery tasks: every run leaves a `TaskRun` row, and a redelivered run that already finished does nothing.

Use `@recorded_task(...)` where you would use `@shared_task(...)`. It adds to a task:

- **A record.** A `TaskRun` row keyed by the task name and its arguments (`otklik.intake.tasks.analyze_post(42)`)
  holds the status (running, retrying, done, failed), the attempts, the last error and the result.
- **An idempotency backstop.** A delivery of a key whose run is already `done` returns the stored result at once,
  without running the body (a broker redelivering an acknowledged-late message, a sweep re-sending the same work).
  It is a backstop only: the tasks are idempotent themselves (conditional updates, claims). Two deliveries of the
  same key at the same moment both run; the second finds the work done by the first through the task's own checks.
- **Retries with back-off.** Transient errors (`TRANSIENT_ERRORS`, or the task's `transient=`) are retried after
  an exponential back-off with jitter (`retry_backoff` seconds, doubling, at most `retry_backoff_max`), up to
  `max_retries`; then the run is `failed`. Any other exception fails the run at once. Errors are stored.

Periodic tasks (`periodic=True`): not deduplicated. Each is keyed by its name alone, so it has one row showing its
latest run. Keying them by time slot was considered and rejected: every periodic job here is a sweep or a
heartbeat, harmless when repeated, while skipping one would hide a missed sweep or make a heartbeat lie; and the
heartbeat alone would add thousands of rows a day.
"""

from __future__ import annotations

import hashlib
import json
import logging
import traceback
from collections.abc import Callable
from typing import Any

from celery import shared_task
from celery._state import _task_stack  # type: ignore[attr-defined]
from celery.contrib.django.task import DjangoTask
from celery.exceptions import Retry
from celery.utils.time import get_exponential_backoff_interval
from django.db import IntegrityError, InterfaceError, OperationalError, transaction
from django.db.models import Case, F, JSONNull, Value, When
from django.utils import timezone

from otklik.ops.models import TaskRun, TaskRunStatus

logger = logging.getLogger(__name__)

#: Errors worth another attempt later: network and mail servers (OSError covers smtplib and sockets) and a
#: database that is momentarily locked or unreachable.
TRANSIENT_ERRORS: tuple[type[Exception], ...] = (OSError, OperationalError, InterfaceError)

_KEY_MAX = 255
_ERROR_MAX = 10_000


def _encode(value: Any) -> str:
    return json.dumps(value, sort_keys=True, default=str, ensure_ascii=False)


def run_key(name: str, args: tuple[Any, ...] | list[Any], kwargs: dict[str, Any]) -> str:
    """`name(arg, …, key=value)` with JSON-encoded values; a hash of the arguments when that is too long."""
    parts = [_encode(a) for a in args] + [f"{k}={_encode(v)}" for k, v in sorted(kwargs.items())]
    key = f"{name}({', '.join(parts)})"
    if len(key) <= _KEY_MAX:
        return key
    digest = hashlib.sha256(key.encode()).hexdigest()
    return f"{name[: _KEY_MAX - 72]}#sha256:{digest}"


def _jsonable(value: Any) -> Any:
    try:
        json.dumps(value)
    except (TypeError, ValueError):
        return repr(value)
    return value


def _describe(exc: BaseException) -> str:
    text = "".join(traceback.format_exception(exc)).strip()
    return text[-_ERROR_MAX:]


class RecordedTask(DjangoTask):
    """Base class of recorded tasks; see the module docstring. Configure through `recorded_task` options."""

    periodic: bool = False
    transient_errors: tuple[type[Exception], ...] = TRANSIENT_ERRORS
    max_retries = 5
    retry_backoff: int = 2
    retry_backoff_max: int = 600
    retry_jitter: bool = True

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        if not self.request.called_directly:
            # A worker or apply(): the request (id, retries, hostname, headers) is already pushed.
            return self._run_recorded(args, kwargs)
        # A plain function call: give it a request as Task.__call__ does, and record it all the same.
        _task_stack.push(self)
        self.push_request(args=args, kwargs=kwargs)
        try:
            return self._run_recorded(args, kwargs)
        finally:
            self.pop_request()
            _task_stack.pop()

    def is_last_attempt(self) -> bool:
        """True when a failure now would not be retried (a direct call, or the retries are used up)."""
        request = self.request
        if request.called_directly:
            return True
        return self.max_retries is not None and (request.retries or 0) >= self.max_retries

    def backoff(self) -> int:
        """Seconds before the next attempt: `retry_backoff` doubled per retry, at most `retry_backoff_max`."""
        return get_exponential_backoff_interval(
            factor=self.retry_backoff,
            retries=self.request.retries or 0,
            maximum=self.retry_backoff_max,
            full_jitter=self.retry_jitter,
        )

    def record_key(self, args: tuple[Any, ...], kwargs: dict[str, Any]) -> str:
        return self.name if self.periodic else run_key(self.name, args, kwargs)

    def _run_recorded(self, args: tuple[Any, ...], kwargs: dict[str, Any]) -> Any:
        """1. Claim the key (skip if done). 2. Run the body. 3. Record done / retrying / failed."""
        key = self.record_key(args, kwargs)
        task_id = str(self.request.id or "")[:64]
        try:
            proceed, stored = _claim(self.name, key, task_id, dedupe=not self.periodic)
        except self.transient_errors as exc:  # the database is away: nothing recorded, nothing done; later
            if self.is_last_attempt():
                raise
            raise self.retry(exc=exc, countdown=self.backoff()) from exc
        if not proceed:
            logger.info("%s: already done, not run again (task %s)", key, task_id)
            return stored
        try:
            result = self.run(*args, **kwargs)
        except Retry as exc:  # an explicit self.retry() in the body, or Celery's autoretry_for
            _finish(key, TaskRunStatus.RETRYING, error=_describe(exc.exc) if exc.exc else str(exc))
            raise
        except self.transient_errors as exc:
            if self.is_last_attempt():
                _finish(key, TaskRunStatus.FAILED, error=_describe(exc))
                raise
            countdown = self.backoff()
            _finish(key, TaskRunStatus.RETRYING, error=_describe(exc))
            logger.warning("%s: %s; retry in %s s", key, exc, countdown)
            raise self.retry(exc=exc, countdown=countdown) from exc
        except Exception as exc:
            _finish(key, TaskRunStatus.FAILED, error=_describe(exc))
            raise
        _finish(key, TaskRunStatus.DONE, result=_jsonable(result), error="")
        return result


def _claim(name: str, key: str, task_id: str, *, dedupe: bool) -> tuple[bool, Any]:
    """Mark the key's run `running` → (True, None); or (False, stored result) when it is done and `dedupe`.

    A conditional UPDATE claims an existing row; the first run creates it, and a concurrent creator loses on the
    unique key and claims the row on the next pass.
    """
    for _pass in range(3):
        now = timezone.now()
        rows = TaskRun.objects.filter(key=key)
        if dedupe:
            rows = rows.exclude(status=TaskRunStatus.DONE)
            attempts: Any = F("attempts") + 1
        else:
            # A periodic row counts the attempts of its latest run only: a new message starts again at one.
            attempts = Case(When(last_task_id=task_id, then=F("attempts") + 1), default=Value(1))
        claimed = rows.update(
            status=TaskRunStatus.RUNNING, attempts=attempts, last_task_id=task_id, started_at=now, finished_at=None
        )
        if claimed:
            return True, None
        existing = TaskRun.objects.filter(key=key).values("status", "result").first()
        if existing is not None:
            if existing["status"] == TaskRunStatus.DONE:
                return False, existing["result"]
            continue  # changed between the two queries: look again
        try:
            with transaction.atomic():
                TaskRun.objects.create(
                    name=name[:255],
                    key=key,
                    status=TaskRunStatus.RUNNING,
                    attempts=1,
                    last_task_id=task_id,
                    started_at=now,
                )
        except IntegrityError:
            continue  # created by a concurrent delivery
        return True, None
    raise RuntimeError(f"Could not claim the task run {key!r}")


def _finish(key: str, status: str, *, result: Any = ..., error: str | None = None) -> None:
    fields: dict[str, Any] = {"status": status}
    if status in (TaskRunStatus.DONE, TaskRunStatus.FAILED):
        fields["finished_at"] = timezone.now()
    if result is not ...:
        fields["result"] = JSONNull() if result is None else result
    if error is not None:
        fields["error"] = error
    TaskRun.objects.filter(key=key).update(**fields)


def recorded_task(
    *args: Any,
    periodic: bool = False,
    transient: tuple[type[Exception], ...] | None = None,
    **options: Any,
) -> Any:
    """`shared_task` with `RecordedTask` as the base: `@recorded_task` or `@recorded_task(bind=True, …)`.

    `periodic=True`: recorded under the task name, never skipped (see the module docstring). `transient`: the
    exceptions retried with back-off (default `TRANSIENT_ERRORS`). Other options go to `shared_task`
    (`max_retries`, `retry_backoff`, `retry_backoff_max`, `rate_limit`, …).
    """
    options.setdefault("base", RecordedTask)
    options["periodic"] = periodic
    if transient is not None:
        options["transient_errors"] = tuple(transient)
    if len(args) == 1 and callable(args[0]) and not options.get("name"):
        fun: Callable[..., Any] = args[0]
        return shared_task(**options)(fun)
    return shared_task(*args, **options)
