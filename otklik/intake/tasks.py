from __future__ import annotations

from typing import Any

from django.db import InterfaceError, OperationalError

from otklik.ops.recording import RecordedTask, recorded_task, run_key


@recorded_task(bind=True, max_retries=5)
def analyze_post(self, post_id: int) -> str:  # type: ignore[no-untyped-def]
    """Classify the post's incident and route it (idempotent: an analysed post is skipped).

    With it, the pending posts that arrived after it are analysed in the same batch (otklik.nlp.pipeline.
    analyze_batch; settings.OTKLIK_ANALYSIS_BATCH) and recorded as done runs of their own messages.
    """
    from otklik.nlp.pipeline import analyze_batch
    from otklik.nlp.tasks import record_analysis_runs

    outcomes = analyze_batch(post_id)
    record_analysis_runs({pk: outcome for pk, outcome in outcomes.items() if pk != post_id})
    return outcomes.get(post_id, "skipped")


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
