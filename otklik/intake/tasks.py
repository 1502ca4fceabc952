from __future__ import annotations

from celery import shared_task


@shared_task(bind=True, acks_late=True, autoretry_for=(OSError,), retry_backoff=True, max_retries=5)
def analyze_post(self, post_id: int) -> str:  # type: ignore[no-untyped-def]
    """Classify the post's incident and route it (idempotent: an analysed post is skipped)."""
    from otklik.nlp.pipeline import analyze_post as run

    return run(post_id)


@shared_task
def sweep_unanalyzed_posts() -> int:
    """Re-enqueue posts whose analysis never ran (a lost message, a worker that was down)."""
    from otklik.nlp.pipeline import sweep_unanalyzed

    return sweep_unanalyzed()
