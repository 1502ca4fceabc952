"""Working hours in the city's zone (a first calendar; the SLA issue makes it exact)."""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

from otklik.core.worktime import add_working_hours, working_time_between

EKB = ZoneInfo("Asia/Yekaterinburg")


def at(*args: int) -> dt.datetime:
    return dt.datetime(*args, tzinfo=EKB)


def test_it_skips_the_lunch_break_and_the_night():
    # Tuesday 2026-12-01, 12:00 + 2 h: one hour before lunch, one after it.
    assert add_working_hours(at(2026, 12, 1, 12, 0), 2) == at(2026, 12, 1, 15, 0)
    # 17:00 + 2 h: one hour today, one tomorrow morning.
    assert add_working_hours(at(2026, 12, 1, 17, 0), 2) == at(2026, 12, 2, 10, 0)


def test_a_count_that_ends_at_six_ends_that_day():
    assert add_working_hours(at(2026, 12, 1, 17, 0), 1) == at(2026, 12, 1, 18, 0)


def test_it_skips_weekends_and_public_holidays():
    # Friday 2026-12-04 17:00 + 2 h → Monday 10:00.
    assert add_working_hours(at(2026, 12, 4, 17, 0), 2) == at(2026, 12, 7, 10, 0)
    # 2026-11-04 (National Unity Day) is a holiday: Tuesday 11-03 17:00 + 2 h → Thursday 11-05 10:00.
    assert add_working_hours(at(2026, 11, 3, 17, 0), 2) == at(2026, 11, 5, 10, 0)


def test_working_time_between_is_the_inverse_of_adding_hours():
    start = at(2026, 12, 3, 16, 30)
    for hours in (0.5, 1, 4, 8, 9, 17.25):
        due = add_working_hours(start, hours)
        assert working_time_between(start, due) == dt.timedelta(hours=hours)


def test_working_time_between_is_negative_when_overdue():
    assert working_time_between(at(2026, 12, 1, 15, 0), at(2026, 12, 1, 11, 0)) == -dt.timedelta(hours=3)
