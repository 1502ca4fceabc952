"""Periodic housekeeping: the heartbeat of the worker and beat, and the purge of old task runs."""

from __future__ import annotations

import datetime as dt
import socket
from typing import Any

from django.utils import timezone
from django.utils.dateparse import parse_datetime

from otklik.ops.models import Process
from otklik.ops.recording import recorded_task
from otklik.ops.services import do_purge_task_runs, do_record_heartbeat

#: Message headers set by `otklik.ops.signals` when celery beat publishes the heartbeat.
BEAT_SENT_AT_HEADER = "otklik_beat_sent_at"
BEAT_HOST_HEADER = "otklik_beat_host"
#: Set by celery beat itself on every message it sends.
CELERY_BEAT_HEADER = "celery_beat_task"


def _header(request: Any, name: str) -> Any:
    # A worker exposes message headers as request attributes; apply(headers=…) keeps them in request.headers.
    value = getattr(request, name, None)
    if value is None:
        value = (getattr(request, "headers", None) or {}).get(name)
    return value


def beat_sent_at(request: Any, now: dt.datetime) -> dt.datetime | None:
    """When beat sent this message: the stamped header; `now` for a beat message without it; else None."""
    raw = _header(request, BEAT_SENT_AT_HEADER)
    if raw:
        sent = parse_datetime(str(raw))
        if sent is not None and timezone.is_aware(sent):
            return min(sent, now)  # a clock ahead of ours must not keep beat "alive" in the future
    if _header(request, CELERY_BEAT_HEADER):
        return now
    return None


@recorded_task(bind=True, periodic=True, max_retries=0, ignore_result=True)
def heartbeat(self: Any) -> dict[str, str]:
    """Record that a worker is alive (it ran this) and that beat is (it sent this, at most `expires` ago).

    The beat entry is sent with `expires` = the interval, so a message that waited in the queue longer is dropped
    instead of faking a fresh heartbeat. Beat's last sign of life is the time it sent the message.
    """
    now = timezone.now()
    hostname = self.request.hostname or socket.gethostname()
    do_record_heartbeat(Process.WORKER, hostname=hostname, at=now)
    result = {"worker": now.isoformat()}
    sent = beat_sent_at(self.request, now)
    if sent is not None:
        do_record_heartbeat(Process.BEAT, hostname=str(_header(self.request, BEAT_HOST_HEADER) or ""), at=sent)
        result["beat"] = sent.isoformat()
    return result


@recorded_task(periodic=True)
def purge_task_runs() -> int:
    """Delete task runs older than 30 days (in batches)."""
    return do_purge_task_runs()
