"""Working time: "N working hours from T" on the Russian production calendar.

A first version: Monday–Friday 09:00–18:00 with a break 13:00–14:00 in the city's zone, Russian public
holidays and transferred days off from the `holidays` package. The SLA issue makes it exact (working Saturdays,
shortened days, admin-edited days off) behind the same function.
"""

from __future__ import annotations

import datetime as dt
from functools import cache
from zoneinfo import ZoneInfo

import holidays
from django.conf import settings

# (start, end) of the working periods of an ordinary day, local time.
PERIODS: tuple[tuple[dt.time, dt.time], ...] = (
    (dt.time(9, 0), dt.time(13, 0)),
    (dt.time(14, 0), dt.time(18, 0)),
)


def city_zone() -> ZoneInfo:
    return ZoneInfo(settings.TIME_ZONE)


@cache
def _ru_holidays(year: int) -> holidays.HolidayBase:
    return holidays.country_holidays("RU", years=year)


def is_working_day(day: dt.date) -> bool:
    return day.weekday() < 5 and day not in _ru_holidays(day.year)


def add_working_hours(start: dt.datetime, hours: float) -> dt.datetime:
    """Return the moment when `hours` working hours counted from `start` have passed.

    1. Convert `start` to the city's zone (a naive start is taken as the city's time).
    2. Walk the working periods from that moment, day by day, consuming the remaining minutes.
    3. The due moment is the instant the count reaches zero: a count ending at 18:00 gives 18:00 that day.
    """
    zone = city_zone()
    local = start.replace(tzinfo=zone) if start.tzinfo is None else start.astimezone(zone)
    remaining = dt.timedelta(hours=hours)
    day = local.date()
    cursor = local
    for _ in range(3660):  # ten years of days: a guard, never reached with a sane calendar
        if is_working_day(day):
            for begin, end in PERIODS:
                period_start = dt.datetime.combine(day, begin, tzinfo=zone)
                period_end = dt.datetime.combine(day, end, tzinfo=zone)
                if cursor >= period_end:
                    continue
                from_ = max(cursor, period_start)
                available = period_end - from_
                if remaining <= available:
                    if remaining == dt.timedelta(0):
                        return from_
                    return from_ + remaining
                remaining -= available
                cursor = period_end
        day += dt.timedelta(days=1)
        cursor = dt.datetime.combine(day, dt.time(0, 0), tzinfo=zone)
    raise ValueError("working calendar has no working time")  # pragma: no cover


def working_time_between(start: dt.datetime, end: dt.datetime) -> dt.timedelta:
    """Working time from `start` to `end`; negative when `end` is before `start` (time overdue)."""
    if end < start:
        return -working_time_between(end, start)
    zone = city_zone()
    cursor = start.astimezone(zone)
    end = end.astimezone(zone)
    total = dt.timedelta(0)
    day = cursor.date()
    while day <= end.date():
        if is_working_day(day):
            for begin, finish in PERIODS:
                period_start = dt.datetime.combine(day, begin, tzinfo=zone)
                period_end = dt.datetime.combine(day, finish, tzinfo=zone)
                lo, hi = max(cursor, period_start), min(end, period_end)
                if hi > lo:
                    total += hi - lo
        day += dt.timedelta(days=1)
    return total
