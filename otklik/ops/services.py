"""Writers of the ops bookkeeping: heartbeats and the purge of old task runs."""

from __future__ import annotations

import datetime as dt

from django.db import IntegrityError, transaction
from django.utils import timezone

from otklik.ops.models import Heartbeat, TaskRun

TASK_RUN_RETENTION = dt.timedelta(days=30)


def do_record_heartbeat(name: str, *, hostname: str = "", at: dt.datetime | None = None) -> bool:
    """Move the heartbeat of process `name` forward to `at` (now by default); never back.

    A conditional UPDATE (`last_seen < at`) lets a late, older message change nothing, whatever the order in which
    workers write. The first beat creates the row. Returns whether the row changed.
    """
    at = at or timezone.now()
    hostname = hostname[:255]
    for _pass in range(2):
        if Heartbeat.objects.filter(name=name, last_seen__lt=at).update(last_seen=at, hostname=hostname):
            return True
        if Heartbeat.objects.filter(name=name).exists():
            return False
        try:
            with transaction.atomic():
                Heartbeat.objects.create(name=name, hostname=hostname, last_seen=at)
        except IntegrityError:
            continue  # a concurrent first beat: compare with it
        return True
    return False


def do_purge_task_runs(*, older_than: dt.timedelta = TASK_RUN_RETENTION, batch: int = 500) -> int:
    """Delete task runs started before `now - older_than`, `batch` rows per statement; returns the count.

    The delete repeats the age condition, so a row claimed again between the select and the delete (a periodic
    task's row, a redelivered run) stays.
    """
    cutoff = timezone.now() - older_than
    total = 0
    while True:
        ids = list(TaskRun.objects.filter(started_at__lt=cutoff).order_by().values_list("pk", flat=True)[:batch])
        if not ids:
            return total
        deleted, _detail = TaskRun.objects.filter(pk__in=ids, started_at__lt=cutoff).delete()
        total += deleted
