from __future__ import annotations

from otklik.ops.recording import recorded_task


@recorded_task(periodic=True)
def detect_spikes_task() -> int:
    """Look for spikes of topics and places; create and notify the new ones (idempotent: one row per spike)."""
    from otklik.nlp.spikes import detect_spikes

    return len(detect_spikes())
