from __future__ import annotations

from otklik.ops.recording import recorded_task


@recorded_task(periodic=True)
def sweep_surveys() -> dict[str, int]:
    """Ask the due "Is the problem solved?" surveys and expire unanswered ones (otklik.satisfaction.surveys)."""
    from otklik.satisfaction.surveys import sweep_surveys as run

    return run()
