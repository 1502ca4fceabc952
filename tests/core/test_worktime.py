"""Working hours in the city's zone on the Russian production calendar, hand-checked cases and properties."""

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
    # 2026-11-04 (National Unity Day) is a holiday and 11-03 a shortened day (ends 17:00):
    # Tuesday 11-03 16:00 + 2 h → one hour that day, one on Thursday 11-05 → 10:00.
    assert add_working_hours(at(2026, 11, 3, 16, 0), 2) == at(2026, 11, 5, 10, 0)


def test_working_time_between_is_the_inverse_of_adding_hours():
    start = at(2026, 12, 3, 16, 30)
    for hours in (0.5, 1, 4, 8, 9, 17.25):
        due = add_working_hours(start, hours)
        assert working_time_between(start, due) == dt.timedelta(hours=hours)


def test_working_time_between_is_negative_when_overdue():
    assert working_time_between(at(2026, 12, 1, 15, 0), at(2026, 12, 1, 11, 0)) == -dt.timedelta(hours=3)


# --- The production calendar, checked against the official ones -------------------------------------------------

import pytest  # noqa: E402
from django.core.management import call_command  # noqa: E402
from hypothesis import given, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402

from otklik.core.worktime import DayKind, Schedule, WorkCalendar, default_calendar, reset_calendar  # noqa: E402


def year_days(year: int) -> list[dt.date]:
    first = dt.date(year, 1, 1)
    return [first + dt.timedelta(days=i) for i in range((dt.date(year + 1, 1, 1) - first).days)]


@pytest.mark.parametrize(("year", "days", "hours"), [(2025, 247, 1972), (2026, 247, 1972), (2027, 247, 1972)])
def test_working_days_and_the_norm_of_hours_match_the_official_calendar(year, days, hours):
    calendar = default_calendar()
    assert calendar.working_days(year_days(year)) == days
    assert sum(calendar.working_hours(day) for day in year_days(year)) == hours


def test_the_working_saturday_and_the_transferred_days_off():
    calendar = default_calendar()
    assert calendar.day(dt.date(2025, 11, 1)) == DayKind.SHORTENED  # a working Saturday before the holidays
    assert calendar.day(dt.date(2025, 11, 3)) == DayKind.OFF  # transferred from 1 November
    assert calendar.day(dt.date(2026, 1, 9)) == DayKind.OFF  # transferred from 3 January
    assert calendar.day(dt.date(2026, 12, 31)) == DayKind.OFF  # transferred from 4 January
    assert calendar.day(dt.date(2026, 3, 9)) == DayKind.OFF  # 8 March fell on a Sunday
    assert calendar.day(dt.date(2026, 5, 8)) == DayKind.SHORTENED
    assert calendar.day(dt.date(2026, 12, 30)) == DayKind.WORKING


def test_a_count_over_new_year():
    # Wednesday 2026-12-30 16:30 + 8 h: 1.5 h that day, then nothing until Monday 2027-01-11.
    assert add_working_hours(at(2026, 12, 30, 16, 30), 8) == at(2027, 1, 11, 16, 30)


def test_a_shortened_day_ends_at_five():
    # Thursday 2026-04-30 is shortened: 16:00 + 1 h → 17:00; + 2 h → Monday 2026-05-04 10:00 (May 1 is a holiday).
    assert add_working_hours(at(2026, 4, 30, 16, 0), 1) == at(2026, 4, 30, 17, 0)
    assert add_working_hours(at(2026, 4, 30, 16, 0), 2) == at(2026, 5, 4, 10, 0)


def test_a_working_saturday_counts():
    # Friday 2025-10-31 17:30 + 1 h → Saturday 2025-11-01 09:30.
    assert add_working_hours(at(2025, 10, 31, 17, 30), 1) == at(2025, 11, 1, 9, 30)


def test_starts_at_night_during_the_break_and_on_holidays():
    assert add_working_hours(at(2026, 12, 2, 3, 15), 1) == at(2026, 12, 2, 10, 0)
    assert add_working_hours(at(2026, 12, 2, 13, 20), 1) == at(2026, 12, 2, 15, 0)
    assert add_working_hours(at(2026, 12, 2, 13, 0), 1) == at(2026, 12, 2, 15, 0)
    assert add_working_hours(at(2026, 1, 5, 11, 0), 0.5) == at(2026, 1, 12, 9, 30)
    # Exactly at the end of the morning: 4 h from 09:00 ends at 13:00, not 14:00.
    assert add_working_hours(at(2026, 12, 2, 9, 0), 4) == at(2026, 12, 2, 13, 0)


def test_a_start_in_another_zone_is_converted():
    utc = dt.datetime(2026, 12, 2, 4, 0, tzinfo=dt.UTC)  # 09:00 in Yekaterinburg
    assert add_working_hours(utc, 1) == at(2026, 12, 2, 10, 0)
    naive = dt.datetime(2026, 12, 2, 9, 0)  # noqa: DTZ001  (the city's time)
    assert add_working_hours(naive, 1) == at(2026, 12, 2, 10, 0)


def test_negative_hours_are_refused():
    with pytest.raises(ValueError):
        add_working_hours(at(2026, 12, 2, 9, 0), -1)


def test_a_custom_schedule_and_overrides():
    schedule = Schedule(start=dt.time(8, 0), end=dt.time(17, 0), break_start=dt.time(12, 0), break_end=dt.time(13, 0))
    calendar = WorkCalendar(schedule=schedule, overrides={dt.date(2026, 12, 2): DayKind.OFF}, zone=EKB)
    assert calendar.add(at(2026, 12, 1, 16, 0), 2) == at(2026, 12, 3, 9, 0)
    assert schedule.day_hours == 8


moments = st.datetimes(min_value=dt.datetime(2025, 1, 1), max_value=dt.datetime(2027, 11, 30)).map(  # noqa: DTZ001
    lambda d: d.replace(second=0, microsecond=0, tzinfo=EKB)
)
durations = st.integers(min_value=0, max_value=60 * 60).map(lambda m: m / 60)  # up to 60 h, by minutes
positive = st.integers(min_value=1, max_value=60 * 60).map(lambda m: m / 60)


@settings(max_examples=200, deadline=None)
@given(start=moments, a=durations, b=positive)
def test_adding_a_then_b_equals_adding_a_plus_b(start, a, b):
    # b > 0: adding 0 hours to a moment at the end of a period (13:00, 18:00) moves it to the next working moment,
    # while a count that ends there ends there.
    calendar = default_calendar()
    assert calendar.add(calendar.add(start, a), b) == calendar.add(start, a + b)


@settings(max_examples=200, deadline=None)
@given(start=moments, a=durations, b=durations)
def test_due_times_are_monotonic_and_between_inverts_add(start, a, b):
    calendar = default_calendar()
    low, high = sorted((a, b))
    assert calendar.add(start, low) <= calendar.add(start, high)
    assert calendar.between(start, calendar.add(start, high)) == dt.timedelta(hours=high)


@settings(max_examples=100, deadline=None)
@given(first=moments, second=moments)
def test_later_starts_never_give_earlier_due_times(first, second):
    calendar = default_calendar()
    early, late = sorted((first, second))
    assert calendar.add(early, 3.5) <= calendar.add(late, 3.5)


# --- sla_due --------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("start", "hours", "due"),
    [
        ("2026-12-30T16:30", "8", "2027-01-11T16:30:00+05:00"),
        ("2026-11-03T16:00:00+05:00", "2", "2026-11-05T10:00:00+05:00"),
        ("2026-11-27T12:00:00Z", "1.5", "2026-11-30T09:30:00+05:00"),
        ("2026-12-01T17:00", "1", "2026-12-01T18:00:00+05:00"),
        ("2026-12-01T09:00", "0.333333", "2026-12-01T09:20:00+05:00"),
    ],
)
def test_sla_due_prints_the_due_moment(capsys, start, hours, due):
    call_command("sla_due", "--start", start, "--hours", hours)
    assert capsys.readouterr().out == due + "\n"


def test_sla_due_refuses_bad_input():
    from django.core.management.base import CommandError

    with pytest.raises(CommandError, match="ISO 8601"):
        call_command("sla_due", "--start", "вчера", "--hours", "1")
    with pytest.raises(CommandError, match="number"):
        call_command("sla_due", "--start", "2026-12-01T09:00", "--hours", "много")


# --- the admin's calendar -------------------------------------------------------------------------------------


@pytest.mark.django_db
def test_the_admins_day_off_and_schedule_are_used():
    from otklik.sla.models import CalendarDay, WorkSchedule

    reset_calendar()
    CalendarDay.objects.create(date=dt.date(2026, 12, 2), kind=DayKind.OFF, note="День города")
    assert add_working_hours(at(2026, 12, 1, 17, 0), 2) == at(2026, 12, 3, 10, 0)
    WorkSchedule.objects.create(start=dt.time(8, 0), end=dt.time(17, 0))
    assert add_working_hours(at(2026, 12, 1, 16, 0), 2) == at(2026, 12, 3, 9, 0)
    CalendarDay.objects.all().delete()
    WorkSchedule.objects.all().delete()
    assert add_working_hours(at(2026, 12, 1, 17, 0), 2) == at(2026, 12, 2, 10, 0)


def test_between_over_years_equals_the_day_by_day_sum():
    """`between` adds whole days from per-year running totals: the same as summing every period, across years,
    holidays, shortened days and the admin's overrides."""
    import random

    calendar = WorkCalendar(overrides={dt.date(2026, 3, 14): DayKind.WORKING, dt.date(2026, 3, 16): DayKind.OFF})
    zone = calendar.zone

    def day_by_day(start: dt.datetime, end: dt.datetime) -> dt.timedelta:
        total, day = dt.timedelta(0), start.date()
        while day <= end.date():
            for begin, finish in calendar.periods(day):
                lo, hi = max(start, begin), min(end, finish)
                if hi > lo:
                    total += hi - lo
            day += dt.timedelta(days=1)
        return total

    rnd = random.Random(7)
    base = dt.datetime(2025, 11, 1, tzinfo=zone)
    for _ in range(300):
        a = base + dt.timedelta(seconds=rnd.randrange(0, 86400 * 800), microseconds=rnd.randrange(10**6))
        b = a + dt.timedelta(seconds=rnd.randrange(0, 86400 * rnd.choice((1, 3, 40, 500))))
        assert calendar.between(a, b) == day_by_day(a, b)
        assert calendar.between(b, a) == -day_by_day(a, b)
