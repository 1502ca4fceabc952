"""How time left is told: working hours, working days of 8 hours for long spans, red when overdue."""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

import time_machine

from otklik.core.templatetags.otklik import format_duration, time_left

EKB = ZoneInfo("Asia/Yekaterinburg")


def test_short_spans_are_hours_and_minutes():
    assert format_duration(dt.timedelta(hours=2, minutes=15), 8) == "2 ч 15 мин"
    assert format_duration(dt.timedelta(minutes=40), 8) == "40 мин"
    assert format_duration(dt.timedelta(seconds=20), 8) == "меньше минуты"


def test_long_working_spans_are_working_days_of_eight_hours():
    assert format_duration(dt.timedelta(hours=176), 8) == "22 дн"
    assert format_duration(dt.timedelta(hours=19), 8) == "2 дн 3 ч"


def test_an_overdue_deadline_is_red_and_counts_working_time_only():
    # Monday 2026-11-30 10:00; the deadline was Friday 11-27 17:00: 1 h on Friday + 1 h on Monday.
    with time_machine.travel(dt.datetime(2026, 11, 30, 10, 0, tzinfo=EKB), tick=False):
        html = time_left(dt.datetime(2026, 11, 27, 17, 0, tzinfo=EKB))
    assert "overdue" in html
    assert "просрочено на 2 ч (раб.)" in html


def test_time_left_before_the_deadline():
    with time_machine.travel(dt.datetime(2026, 11, 30, 10, 0, tzinfo=EKB), tick=False):
        html = time_left(dt.datetime(2026, 11, 30, 15, 15, tzinfo=EKB))
    assert "overdue" not in html
    assert "осталось 4 ч 15 мин (раб.)" in html
