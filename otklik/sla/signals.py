from __future__ import annotations

from typing import Any

from django.db.models.signals import post_delete, post_save
from django.dispatch import receiver

from otklik.core.worktime import reset_calendar
from otklik.sla.models import CalendarDay, WorkSchedule


@receiver([post_save, post_delete], sender=CalendarDay)
@receiver([post_save, post_delete], sender=WorkSchedule)
def _calendar_changed(**kwargs: Any) -> None:
    reset_calendar()
