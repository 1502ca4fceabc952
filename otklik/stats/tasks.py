from __future__ import annotations

from otklik.ops.recording import recorded_task


@recorded_task(periodic=True)
def send_weekly_reports() -> dict[str, int]:
    """Monday 08:00 city time: last week's report to its subscribers, once per week each (otklik.stats.delivery)."""
    from otklik.stats.delivery import send_weekly_reports as run

    return run()


@recorded_task(periodic=True)
def refresh_figure_snapshots() -> dict[str, int]:
    """Every 5 minutes: the dashboard's default views computed ahead (otklik.stats.snapshots); idempotent."""
    from otklik.stats.snapshots import refresh_snapshots

    return refresh_snapshots()
