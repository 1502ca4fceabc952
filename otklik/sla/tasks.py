from __future__ import annotations

from otklik.ops.recording import recorded_task


@recorded_task(periodic=True)
def sla_sweep() -> dict[str, int]:
    """Escalate due clocks (warning, overdue, long overdue); each level fires once per clock (otklik.sla.escalation)."""
    from otklik.sla.escalation import sweep

    return sweep()
