"""Celery signal handlers: beat stamps its heartbeat messages; a worker reports itself when it is ready."""

from __future__ import annotations

import logging
import socket
from typing import Any

from celery.signals import before_task_publish, worker_ready
from django.db import DatabaseError, connections
from django.utils import timezone

from otklik.ops.models import Process

logger = logging.getLogger(__name__)

HEARTBEAT_TASK = "otklik.ops.tasks.heartbeat"


@before_task_publish.connect(dispatch_uid="otklik.ops.stamp_beat_heartbeat")
def stamp_beat_heartbeat(sender: str | None = None, headers: dict[str, Any] | None = None, **kwargs: Any) -> None:
    """In celery beat: put the send time and host into the heartbeat message (beat's proof of life)."""
    from otklik.ops.tasks import BEAT_HOST_HEADER, BEAT_SENT_AT_HEADER, CELERY_BEAT_HEADER

    if sender != HEARTBEAT_TASK or headers is None or not headers.get(CELERY_BEAT_HEADER):
        return
    headers[BEAT_SENT_AT_HEADER] = timezone.now().isoformat()
    headers[BEAT_HOST_HEADER] = socket.gethostname()


@worker_ready.connect(dispatch_uid="otklik.ops.worker_ready")
def record_worker_ready(sender: Any = None, **kwargs: Any) -> None:
    """A worker that has just started is alive: /healthz need not wait for the first scheduled heartbeat."""
    from otklik.ops.services import do_record_heartbeat

    hostname = getattr(sender, "hostname", "") or socket.gethostname()
    try:
        do_record_heartbeat(Process.WORKER, hostname=hostname)
    except DatabaseError:
        logger.warning("Could not record the worker heartbeat at start", exc_info=True)
    finally:
        # The main process of a prefork worker does not run tasks: do not keep its connection open.
        for connection in connections.all(initialized_only=True):
            if not connection.in_atomic_block:
                connection.close()
