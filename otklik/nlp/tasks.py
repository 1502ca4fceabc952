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
