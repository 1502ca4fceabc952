from __future__ import annotations

from otklik.ops.recording import recorded_task


@recorded_task(periodic=True)
def send_weekly_reports() -> dict[str, int]:
    """Monday 08:00 city time: last week's report to its subscribers, once per week each (otklik.stats.delivery)."""
    from otklik.stats.delivery import send_weekly_reports as run

    return run()
