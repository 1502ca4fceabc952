"""The outbox's worker side: send one publication, and sweep for lost work (otklik.answers.outbox)."""

from __future__ import annotations

import uuid
from typing import Any

from django.db import InterfaceError, OperationalError

from otklik.ops.recording import RecordedTask, recorded_task, run_key


class PublicationTask(RecordedTask):
    """Recorded per message, not per publication: the same publication is sent again by later messages (a retry
    after a back-off, the sweep, the operator's retry), and the run-record backstop must not skip those as
    "already done". A redelivery of the same message is still skipped; the row's claim does the real work."""

    def record_key(self, args: tuple[Any, ...], kwargs: dict[str, Any]) -> str:
        message = str(self.request.id or uuid.uuid4())
        return run_key(self.name, args, {**kwargs, "message": message})


@recorded_task(
    bind=True,
    base=PublicationTask,
    acks_late=True,
    # Only the database being away is retried by Celery (before the claim); the channel's errors are the
    # outbox's business: it stores them on the row and schedules the next attempt itself.
    transient=(OperationalError, InterfaceError),
    max_retries=5,
    retry_backoff=10,
)
def send_publication(self: Any, publication_id: int) -> str:
    """Publish one answer in one thread, exactly once (otklik.answers.outbox.deliver); returns the outcome."""
    from otklik.answers.outbox import deliver

    outcome = deliver(publication_id)
    return f"{outcome.status}{' (reconciled)' if outcome.reconciled else ''}"


@recorded_task(periodic=True)
def sweep_publications() -> dict[str, int]:
    """Every minute: revive publications whose worker died (lease ran out) and re-send those whose message was
    lost (otklik.answers.outbox.sweep)."""
    from otklik.answers.outbox import sweep

    return sweep()
