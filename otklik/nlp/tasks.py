from __future__ import annotations

from otklik.ops.recording import recorded_task


@recorded_task(periodic=True)
def detect_spikes_task() -> int:
    """Look for spikes of topics and places; create and notify the new ones (idempotent: one row per spike)."""
    from otklik.nlp.spikes import detect_spikes

    return len(detect_spikes())


@recorded_task(periodic=True)
def retrain_topic_model(trained_by: str = "beat", force: bool = False) -> dict[str, object]:
    """Retrain the topic model on corpus + operators' labels; promote only if not worse (otklik.nlp.training).

    Idempotent: a run with nothing new is skipped, and a second run while one trains gets "busy".
    """
    from otklik.nlp.training import do_retrain

    return do_retrain(trained_by=trained_by, force=force).as_dict()


@recorded_task(periodic=True, max_retries=5, ignore_result=True)
def analyze_stale_posts(post_ids: list[int]) -> dict[str, int]:
    """The sweep's batch: analyse these posts if still pending (otklik.nlp.pipeline.analyze_posts).

    Recorded under its name alone (not deduplicated by its arguments): the same stale posts sent again by a later
    sweep are looked at again. Idempotent: each post is claimed `pending` → `done` with its work.
    """
    from collections import Counter

    from otklik.nlp.pipeline import analyze_posts

    return dict(Counter(analyze_posts(post_ids).values()))
