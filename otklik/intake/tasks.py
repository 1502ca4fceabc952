from __future__ import annotations

from typing import Any

from django.db import InterfaceError, OperationalError

from otklik.ops.recording import RecordedTask, recorded_task, run_key


class _AnalysisTask(RecordedTask):
    """Recorded per message (one TaskRun row per key) but never skipped as done: an `analyze_post(p)` message stands
    for the posts from `p` on that arrived while it was queued (otklik.intake.dispatch), so a second message for the
    same `p` is new work, and a redelivered one only finds nothing left to claim."""

    def record_key(self, args: tuple[Any, ...], kwargs: dict[str, Any]) -> str:
        return run_key(self.name, args, kwargs)


@recorded_task(bind=True, base=_AnalysisTask, periodic=True, max_retries=5, ignore_result=True)
def analyze_post(self, post_id: int) -> str:  # type: ignore[no-untyped-def]
    """Analyse the pending posts from `post_id` on: classify each one's incident and route it (idempotent: a post
    is claimed `pending` → `done` with its work, so an analysed one is skipped). → what became of `post_id`.

    1. Disarm the analysis ticket (otklik.intake.dispatch): the posts committed from now on send their own message.
    2. More pending from `post_id` on than one batch takes (settings.OTKLIK_ANALYSIS_BATCH) → the continuation is
       requested now, from the first post after this batch's share, so another worker starts on it meanwhile — at
       once when a whole batch more is waiting, else after the gathering wait (otklik.intake.dispatch).
    3. The batch (otklik.nlp.pipeline.analyze_batch: `post_id` and the pending posts after it).
    4. A pending post of this message's range that the batch left (committed late, below the others; not locked by
       another worker's batch) is handed to the ticket again.
    """
    from otklik.intake.dispatch import disarm, request_analysis
    from otklik.nlp.pipeline import analyze_batch, batch_size

    disarm(post_id)
    limit = batch_size()
    following = list(_pending_from(post_id)[limit : 2 * limit])
    after = following[0] if following else None
    if after is not None:
        # Less than a batch beyond this one: the continuation waits to gather the posts arriving meanwhile.
        request_analysis([after], gather=len(following) < limit)
    outcomes = analyze_batch(post_id)
    if after is not None or len(outcomes) >= limit:
        left = _left_behind(post_id, after)
        if left is not None:
            request_analysis([left], gather=False)
    return outcomes.get(post_id, "skipped")


def _pending_from(post_id: int, before: int | None = None):  # type: ignore[no-untyped-def]
    from otklik.intake.choices import AnalysisStatus
    from otklik.intake.models import Post

    rows = Post.objects.filter(pk__gte=post_id, analysis_status=AnalysisStatus.PENDING)
    if before is not None:
        rows = rows.filter(pk__lt=before)
    return rows.order_by("pk").values_list("pk", flat=True)


def _left_behind(post_id: int, before: int | None) -> int | None:
    """The first post from `post_id` on (below `before`) still pending and not being analysed by another batch."""
    from django.db import connection, transaction

    rows = _pending_from(post_id, before)
    with transaction.atomic():
        if connection.features.has_select_for_update_skip_locked:
            rows = rows.select_for_update(skip_locked=True)
        return rows.first()


@recorded_task(periodic=True)
def sweep_unanalyzed_posts() -> int:
    """Re-enqueue posts whose analysis never ran (a lost message, a worker that was down)."""
    from otklik.nlp.pipeline import sweep_unanalyzed

    return sweep_unanalyzed()


@recorded_task(bind=True, max_retries=3)
def run_import(self, job_id: int) -> dict[str, int | str]:  # type: ignore[no-untyped-def]
    """Import the rows of an uploaded export (idempotent: a repeated run resumes and changes nothing done)."""
    from otklik.intake.services import do_run_import_job

    job = do_run_import_job(job_id)
    return {
        "status": job.status,
        "imported": job.imported,
        "updated": job.updated,
        "skipped": job.skipped,
        "rejected": job.rejected,
    }


# --- polling the networks (otklik.intake.polling) ---------------------------------------------------------


class _PollTask(RecordedTask):
    """Recorded per source (one TaskRun row each) but never skipped as done: a source is polled again and again."""

    def record_key(self, args: tuple[Any, ...], kwargs: dict[str, Any]) -> str:
        return run_key(self.name, args, kwargs)


@recorded_task(
    bind=True,
    base=_PollTask,
    periodic=True,
    acks_late=True,
    # Per worker: a burst of due sources does not hammer the networks (VK: 3 requests/s for a user token).
    rate_limit="60/m",
    max_retries=3,
    transient=(OperationalError, InterfaceError),
)
def poll_source_task(self, source_id: int) -> dict[str, Any]:  # type: ignore[no-untyped-def]
    """Poll one source (claimed first: a source already being polled or not due is skipped)."""
    from otklik.intake.polling import poll_source

    return poll_source(source_id).as_dict()


@recorded_task(periodic=True)
def poll_due_sources() -> int:
    """Beat, every 30 s: queue a poll of every due source (each poll claims its source, so a repeat is harmless)."""
    from otklik.intake.polling import due_sources

    ids = due_sources()
    for source_id in ids:
        poll_source_task.delay(source_id)
    return len(ids)
