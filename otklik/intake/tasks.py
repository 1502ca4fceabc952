from __future__ import annotations

from otklik.ops.recording import recorded_task


@recorded_task(bind=True, max_retries=5)
def analyze_post(self, post_id: int) -> str:  # type: ignore[no-untyped-def]
    """Classify the post's incident and route it (idempotent: an analysed post is skipped)."""
    from otklik.nlp.pipeline import analyze_post as run

    return run(post_id)


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
