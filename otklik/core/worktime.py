"""Working time: "N working hours from T" on the Russian production calendar.

The calendar of a day (`WorkCalendar.day`):
1. the admin's own entries (otklik.sla.models.CalendarDay: an extra day off, a working day, a shortened day) win;
2. else our tables below: working Saturdays and shortened pre-holiday days, which the `holidays` package lacks;
3. else the `holidays` package (RU): public holidays and transferred days off are days off;
4. else Monday–Friday are working days, Saturday and Sunday days off.

A working day follows the schedule (default 09:00–18:00 with a break 13:00–14:00: 8 working hours); a shortened
day ends one hour earlier (17:00). The schedule is edited by the admin (otklik.sla.models.WorkSchedule); the zone is
the city's (settings.TIME_ZONE, default Asia/Yekaterinburg).

"N working hours from T": when T is outside working time the count starts at the next working moment; only working
minutes count; the due moment is the instant the count reaches N (a count ending exactly at 18:00 gives 18:00 of
that day, not 09:00 of the next).

Checked against the official production calendars: 2025 — 247 working days, 1 972 hours (40-hour week);
2026 — 247 days, 1 972 hours; 2027 — 247 days, 1 972 hours (the decree's transfers as the `holidays` package has them;
tests/core/test_worktime.py counts them).
"""

from __future__ import annotations

import datetime as dt
import threading
import time
from collections.abc import Iterable
from dataclasses import dataclass, field
from functools import cache, lru_cache
from zoneinfo import ZoneInfo

import holidays
from django.conf import settings

# Saturdays (or Sundays) made working days by the Government's decrees on transferring days off.
WORKING_WEEKENDS: frozenset[dt.date] = frozenset(
    {
        dt.date(2025, 11, 1),  # → 2025-11-03 off
        dt.date(2027, 2, 20),  # → 2027-02-22 off
    }
)
# Working days shortened by one hour: those right before a public holiday (Labour Code art. 95), as published
# in the production calendars.
SHORTENED_DAYS: frozenset[dt.date] = frozenset(
    {
        dt.date(2025, 3, 7),
        dt.date(2025, 4, 30),
        dt.date(2025, 6, 11),
        dt.date(2025, 11, 1),
        dt.date(2026, 4, 30),
        dt.date(2026, 5, 8),
        dt.date(2026, 6, 11),
        dt.date(2026, 11, 3),
        dt.date(2027, 2, 20),
        dt.date(2027, 4, 30),
        dt.date(2027, 6, 11),
        dt.date(2027, 11, 3),
    }
)
# Years whose tables above were checked against the official calendar.
CHECKED_YEARS = (2025, 2026, 2027)


@dataclass(frozen=True)
class Schedule:
    """The working hours of an ordinary day; a shortened day ends `shortened_by` earlier."""

    start: dt.time = dt.time(9, 0)
    end: dt.time = dt.time(18, 0)
    break_start: dt.time | None = dt.time(13, 0)
    break_end: dt.time | None = dt.time(14, 0)
    shortened_by: dt.timedelta = dt.timedelta(hours=1)

    def periods(self, shortened: bool = False) -> tuple[tuple[dt.time, dt.time], ...]:
        periods: list[tuple[dt.time, dt.time]]
        if self.break_start and self.break_end and self.start < self.break_start < self.break_end < self.end:
            periods = [(self.start, self.break_start), (self.break_end, self.end)]
        else:
            periods = [(self.start, self.end)]
        if shortened:
            begin, end = periods[-1]
            cut = (dt.datetime.combine(dt.date.min, end) - self.shortened_by).time()
            periods[-1] = (begin, max(begin, cut))
        return tuple(periods)

    @property
    def day_hours(self) -> float:
        return sum(_minutes(b, e) for b, e in self.periods()) / 60


def _minutes(begin: dt.time, end: dt.time) -> int:
    return (end.hour * 60 + end.minute) - (begin.hour * 60 + begin.minute)


class DayKind:
    OFF = "off"
    WORKING = "working"
    SHORTENED = "shortened"


@cache
def _ru_holidays(year: int) -> holidays.HolidayBase:
    return holidays.country_holidays("RU", years=year)


@dataclass
class WorkCalendar:
    """A production calendar with the admin's overrides (`overrides`: date → DayKind) and a schedule."""

    schedule: Schedule = field(default_factory=Schedule)
    overrides: dict[dt.date, str] = field(default_factory=dict)
    zone: ZoneInfo | None = None

    def __post_init__(self) -> None:
        if self.zone is None:
            self.zone = city_zone()
        self._periods = lru_cache(maxsize=4096)(self._day_periods)
        self._totals: dict[int, list[dt.timedelta]] = {}

    def day(self, day: dt.date) -> str:
        if day in self.overrides:
            return self.overrides[day]
        if day in WORKING_WEEKENDS:
            return DayKind.SHORTENED if day in SHORTENED_DAYS else DayKind.WORKING
        if day in _ru_holidays(day.year) or day.weekday() >= 5:
            return DayKind.OFF
        return DayKind.SHORTENED if day in SHORTENED_DAYS else DayKind.WORKING

    def is_working_day(self, day: dt.date) -> bool:
        return self.day(day) != DayKind.OFF

    def _day_periods(self, day: dt.date) -> tuple[tuple[dt.datetime, dt.datetime], ...]:
        kind = self.day(day)
        if kind == DayKind.OFF:
            return ()
        return tuple(
            (dt.datetime.combine(day, begin, tzinfo=self.zone), dt.datetime.combine(day, end, tzinfo=self.zone))
            for begin, end in self.schedule.periods(shortened=kind == DayKind.SHORTENED)
            if begin < end
        )

    def periods(self, day: dt.date) -> tuple[tuple[dt.datetime, dt.datetime], ...]:
        """The working periods of a day as aware datetimes in the city's zone (empty on a day off)."""
        return self._periods(day)

    def working_hours(self, day: dt.date) -> float:
        return sum((end - begin).total_seconds() for begin, end in self.periods(day)) / 3600

    def _local(self, moment: dt.datetime) -> dt.datetime:
        return moment.replace(tzinfo=self.zone) if moment.tzinfo is None else moment.astimezone(self.zone)

    def add(self, start: dt.datetime, hours: float | dt.timedelta) -> dt.datetime:
        """The moment when `hours` working hours counted from `start` have passed (see the module's doc)."""
        remaining = hours if isinstance(hours, dt.timedelta) else dt.timedelta(hours=float(hours))
        if remaining < dt.timedelta(0):
            raise ValueError("hours must not be negative")
        cursor = self._local(start)
        day = cursor.date()
        for _ in range(3660):  # ten years of days: a guard, never reached with a sane calendar
            for begin, end in self.periods(day):
                if cursor >= end:
                    continue
                from_ = max(cursor, begin)
                available = end - from_
                if remaining <= available:
                    return from_ + remaining
                remaining -= available
                cursor = end
            day += dt.timedelta(days=1)
        raise ValueError("the working calendar has no working time")

    def between(self, start: dt.datetime, end: dt.datetime) -> dt.timedelta:
        """Working time from `start` to `end`; negative when `end` is before `start` (time overdue)."""
        if end < start:
            return -self.between(end, start)
        start, end = self._local(start), self._local(end)
        first, last = start.date(), end.date()
        total = self._part_of_day(first, start, end)
        if last > first:
            total += self._part_of_day(last, start, end)
            # The whole days in between from per-year running totals: a deadline months away (an overdue row of
            # the inbox) costs two lookups instead of comparing aware datetimes period by period.
            total += self._whole_days(first + dt.timedelta(days=1), last)
        return total

    def _year_totals(self, year: int) -> list[dt.timedelta]:
        """totals[i]: the working time of the year's first i days (cached per calendar instance)."""
        totals = self._totals.get(year)
        if totals is None:
            totals = [dt.timedelta(0)]
            day = dt.date(year, 1, 1)
            while day.year == year:
                totals.append(totals[-1] + sum((f - b for b, f in self.periods(day)), dt.timedelta(0)))
                day += dt.timedelta(days=1)
            self._totals[year] = totals
        return totals

    def _whole_days(self, first: dt.date, stop: dt.date) -> dt.timedelta:
        """The working time of the days from `first` up to, not including, `stop`."""
        if stop <= first:
            return dt.timedelta(0)
        start_index, stop_index = first.timetuple().tm_yday - 1, stop.timetuple().tm_yday - 1
        if first.year == stop.year:
            totals = self._year_totals(first.year)
            return totals[stop_index] - totals[start_index]
        head = self._year_totals(first.year)
        total = head[-1] - head[start_index]
        for year in range(first.year + 1, stop.year):
            total += self._year_totals(year)[-1]
        return total + self._year_totals(stop.year)[stop_index]

    def _part_of_day(self, day: dt.date, start: dt.datetime, end: dt.datetime) -> dt.timedelta:
        total = dt.timedelta(0)
        for begin, finish in self.periods(day):
            lo, hi = max(start, begin), min(end, finish)
            if hi > lo:
                total += hi - lo
        return total

    def working_days(self, days: Iterable[dt.date]) -> int:
        return sum(1 for day in days if self.is_working_day(day))


def city_zone() -> ZoneInfo:
    return ZoneInfo(settings.TIME_ZONE)


def default_calendar() -> WorkCalendar:
    """The built-in calendar: our tables and the `holidays` package, the default schedule, no admin overrides."""
    return _default_calendar(settings.TIME_ZONE)


@cache
def _default_calendar(zone: str) -> WorkCalendar:
    return WorkCalendar(zone=ZoneInfo(zone))


# The calendar with the admin's entries, rebuilt at most every CALENDAR_TTL seconds in each process (and at once in
# the process that saved an entry: otklik.sla.signals calls reset_calendar).
CALENDAR_TTL = 60.0
_lock = threading.Lock()
_cached: tuple[float, WorkCalendar] | None = None


def get_calendar() -> WorkCalendar:
    global _cached
    now = time.monotonic()
    cached = _cached
    if cached is not None and now - cached[0] < CALENDAR_TTL:
        return cached[1]
    with _lock:
        calendar = _load_calendar()
        _cached = (now, calendar)
        return calendar


def reset_calendar() -> None:
    global _cached
    _cached = None


def _load_calendar() -> WorkCalendar:
    from django.db import DatabaseError

    try:
        from otklik.sla.models import CalendarDay, WorkSchedule

        overrides = dict(CalendarDay.objects.values_list("date", "kind"))
        schedule = WorkSchedule.current()
    except DatabaseError:  # no tables yet (before migrate): the built-in calendar
        return default_calendar()
    return WorkCalendar(schedule=schedule, overrides=overrides, zone=city_zone())


def add_working_hours(start: dt.datetime, hours: float, calendar: WorkCalendar | None = None) -> dt.datetime:
    """The moment when `hours` working hours counted from `start` have passed, on the city's calendar."""
    return (calendar or get_calendar()).add(start, hours)


def working_time_between(start: dt.datetime, end: dt.datetime, calendar: WorkCalendar | None = None) -> dt.timedelta:
    """Working time from `start` to `end`; negative when `end` is before `start` (time overdue)."""
    return (calendar or get_calendar()).between(start, end)


def is_working_day(day: dt.date, calendar: WorkCalendar | None = None) -> bool:
    return (calendar or get_calendar()).is_working_day(day)
