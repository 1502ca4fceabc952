"""The city's working calendar as the admin edits it: extra days off, working days, shortened days; the schedule."""

from __future__ import annotations

import datetime as dt

from django.core.exceptions import ValidationError
from django.db import models
from django.utils.translation import gettext_lazy as _

from otklik.core.worktime import DayKind, Schedule


class CalendarDayKind(models.TextChoices):
    OFF = DayKind.OFF, _("Day off")
    WORKING = DayKind.WORKING, _("Working day")
    SHORTENED = DayKind.SHORTENED, _("Shortened working day")


class CalendarDay(models.Model):
    """One day whose kind the city sets itself, over the production calendar (e.g. a local holiday)."""

    date = models.DateField(_("date"), unique=True)
    kind = models.CharField(_("kind"), max_length=16, choices=CalendarDayKind.choices)
    note = models.CharField(_("note"), max_length=255, blank=True)
    updated_at = models.DateTimeField(_("updated"), auto_now=True)

    class Meta:
        ordering = ["date"]
        verbose_name = _("calendar day")
        verbose_name_plural = _("calendar days")

    def __str__(self) -> str:
        return f"{self.date:%d.%m.%Y}: {self.get_kind_display()}"


class WorkSchedule(models.Model):
    """The working hours of an ordinary day (one row; without it the default 09:00–18:00, break 13:00–14:00)."""

    start = models.TimeField(_("working day starts"), default=dt.time(9, 0))
    end = models.TimeField(_("working day ends"), default=dt.time(18, 0))
    break_start = models.TimeField(_("break starts"), null=True, blank=True, default=dt.time(13, 0))
    break_end = models.TimeField(_("break ends"), null=True, blank=True, default=dt.time(14, 0))
    shortened_by_minutes = models.PositiveSmallIntegerField(_("a pre-holiday day is shorter by, minutes"), default=60)
    updated_at = models.DateTimeField(_("updated"), auto_now=True)

    class Meta:
        verbose_name = _("working schedule")
        verbose_name_plural = _("working schedule")

    def __str__(self) -> str:
        return f"{self.start:%H:%M}–{self.end:%H:%M}"

    def clean(self) -> None:
        if self.start >= self.end:
            raise ValidationError(_("The working day must end after it starts."))
        if (self.break_start is None) != (self.break_end is None):
            raise ValidationError(_("Give both the start and the end of the break, or neither."))
        if self.break_start and self.break_end and not (self.start < self.break_start < self.break_end < self.end):
            raise ValidationError(_("The break must lie inside the working day."))

    def as_schedule(self) -> Schedule:
        return Schedule(
            start=self.start,
            end=self.end,
            break_start=self.break_start,
            break_end=self.break_end,
            shortened_by=dt.timedelta(minutes=self.shortened_by_minutes),
        )

    @classmethod
    def current(cls) -> Schedule:
        row = cls.objects.order_by("pk").first()
        return row.as_schedule() if row else Schedule()
