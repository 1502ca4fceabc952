"""Work of the documents app done by the worker."""

from __future__ import annotations

from otklik.documents.services import send_media_brief
from otklik.ops.recording import recorded_task


@recorded_task
def send_media_brief_task(dispatch_id: int, attempt: int = 0) -> str:
    """E-mail one media brief (idempotent: only a `pending` dispatch is sent). `attempt` keys the run record, so
    a failed dispatch queued again runs again."""
    return send_media_brief(dispatch_id)
