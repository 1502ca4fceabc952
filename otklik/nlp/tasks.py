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


@recorded_task(periodic=True, max_retries=5)
def analyze_stale_posts(post_ids: list[int]) -> dict[str, int]:
    """The sweep's batch: analyse these posts if still pending (otklik.nlp.pipeline.analyze_posts).

    Recorded under its name alone (not deduplicated by its arguments): the same stale posts sent again by a later
    sweep are looked at again. Idempotent: each post is claimed `pending` → `done` with its work.
    """
    from collections import Counter

    from otklik.nlp.pipeline import analyze_posts

    outcomes = analyze_posts(post_ids)
    record_analysis_runs(outcomes)
    return dict(Counter(outcomes.values()))


ANALYZE_POST_TASK = "otklik.intake.tasks.analyze_post"


def record_analysis_runs(outcomes: dict[int, str]) -> None:
    """Record posts analysed in another post's batch as done runs of their own `analyze_post` message.

    Their messages may still be queued: the run record (otklik.ops.recording) then answers them without running
    the body. A run row already there and not done (a run killed mid-batch) gets one more attempt and the result;
    one already done is left as it is. Posts "skipped" here (analysed or being analysed elsewhere) are not recorded.
    """
    from django.db.models import F
    from django.utils import timezone

    from otklik.ops.models import TaskRun, TaskRunStatus
    from otklik.ops.recording import run_key

    keys = {run_key(ANALYZE_POST_TASK, (pk,), {}): outcome for pk, outcome in outcomes.items() if outcome != "skipped"}
    if not keys:
        return
    now = timezone.now()
    existing = dict(TaskRun.objects.filter(key__in=list(keys)).values_list("key", "status"))
    by_outcome: dict[str, list[str]] = {}
    for key, status in existing.items():
        if status != TaskRunStatus.DONE:
            by_outcome.setdefault(keys[key], []).append(key)
    for outcome, group in by_outcome.items():
        TaskRun.objects.filter(key__in=group).exclude(status=TaskRunStatus.DONE).update(
            status=TaskRunStatus.DONE, attempts=F("attempts") + 1, result=outcome, error="", finished_at=now
        )
    missing = [
        TaskRun(
            name=ANALYZE_POST_TASK,
            key=key,
            status=TaskRunStatus.DONE,
            attempts=1,
            started_at=now,
            finished_at=now,
            result=outcome,
        )
        for key, outcome in keys.items()
        if key not in existing
    ]
    if missing:
        TaskRun.objects.bulk_create(missing, ignore_conflicts=True)  # a concurrent run's own row wins
