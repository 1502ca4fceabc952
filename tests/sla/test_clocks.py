"""Clocks: due moments in working or calendar time, pauses, met/missed, the time used, the policy chosen."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest

from otklik.cases.models import Assignment, Incident
from otklik.core.errors import IllegalTransition
from otklik.org.models import Topic, TopicGroup
from otklik.sla.choices import ClockKind, ClockState, ClockView, PolicyPriority
from otklik.sla.clocks import (
    _check,
    clock_status,
    deadlines_for,
    do_pause_clocks,
    do_resume_clocks,
    do_start_clock,
    do_stop_clocks,
    select_policy,
)
from otklik.sla.models import SlaPolicy
from tests.factories import make_department

EKB = ZoneInfo("Asia/Yekaterinburg")
pytestmark = pytest.mark.django_db


def at(*args: int) -> dt.datetime:
    return dt.datetime(*args, tzinfo=EKB)


@pytest.fixture
def incident():
    return Incident.objects.create()


@pytest.fixture
def water(db):
    group = TopicGroup.objects.create(name="ЖКХ")
    return Topic.objects.create(name="Отсутствие горячей воды", group=group, priority=True)


def test_a_clock_in_working_hours(incident):
    clock = do_start_clock(ClockKind.ANSWER, incident=incident, hours=9, start=at(2026, 12, 1, 16, 0))
    assert clock.due_at == at(2026, 12, 2, 17, 0)
    assert clock.warn_at == at(2026, 12, 2, 15, 12)  # 80 % of 9 h = 7 h 12 min
    assert clock.long_due_at == at(2026, 12, 3, 17, 0)  # 8 working hours after the due time
    assert clock_status(clock, at(2026, 12, 2, 10, 0)).view == ClockView.ON_TIME
    assert clock_status(clock, at(2026, 12, 2, 10, 0)).left == dt.timedelta(hours=6)
    assert clock_status(clock, at(2026, 12, 2, 16, 0)).view == ClockView.WARNING
    late = clock_status(clock, at(2026, 12, 3, 9, 30))
    assert late.view == ClockView.OVERDUE
    assert late.left == -dt.timedelta(hours=1, minutes=30)


def test_a_247_policy_counts_calendar_time(incident, water):
    SlaPolicy.objects.create(name="Авария", topic=water, answer_hours=Decimal("4"), calendar_time=True)
    incident.topic = water
    incident.group = water.group
    incident.save()
    clock = do_start_clock(ClockKind.ANSWER, incident=incident, hours=4, start=at(2026, 12, 5, 22, 0))  # Saturday
    assert clock.calendar_time
    assert clock.due_at == at(2026, 12, 6, 2, 0)


def test_met_and_missed_and_the_time_used_in_both_measures(incident):
    clock = do_start_clock(ClockKind.ANSWER, incident=incident, hours=4, start=at(2026, 12, 4, 16, 0))  # Friday
    [met] = do_stop_clocks(incident=incident, kinds=(ClockKind.ANSWER,), at=at(2026, 12, 7, 10, 0))
    assert met.pk == clock.pk and met.state == ClockState.MET
    assert met.elapsed_working_seconds == 3 * 3600  # 16–18 Friday, 9–10 Monday
    assert met.elapsed_calendar_seconds == (2 * 24 + 18) * 3600
    do_start_clock(ClockKind.ANSWER, incident=incident, hours=1, start=at(2026, 12, 7, 10, 0))
    [missed] = do_stop_clocks(incident=incident, kinds=(ClockKind.ANSWER,), at=at(2026, 12, 7, 12, 0))
    assert missed.state == ClockState.MISSED
    assert do_pause_clocks(incident=incident) == 0  # nothing open to pause
    with pytest.raises(IllegalTransition):
        _check(missed, ClockState.RUNNING)


def test_a_pause_moves_the_due_time_and_is_not_counted(incident):
    clock = do_start_clock(ClockKind.ANSWER, incident=incident, hours=8, start=at(2026, 12, 1, 9, 0))
    assert clock.due_at == at(2026, 12, 1, 18, 0)
    assert do_pause_clocks(incident=incident, at=at(2026, 12, 1, 11, 0)) == 1  # 2 h used, 6 h left
    clock.refresh_from_db()
    assert clock_status(clock, at(2026, 12, 9, 12, 0)).view == ClockView.PAUSED
    assert do_resume_clocks(incident=incident, at=at(2026, 12, 2, 9, 0)) == 1
    clock.refresh_from_db()
    assert clock.due_at == at(2026, 12, 2, 16, 0)
    [done] = do_stop_clocks(incident=incident, kinds=(ClockKind.ANSWER,), at=at(2026, 12, 2, 15, 0))
    assert done.state == ClockState.MET
    assert done.elapsed_working_seconds == 7 * 3600  # 2 h before the pause, 5 h after
    assert done.elapsed_calendar_seconds == 2 * 3600 + 6 * 3600


def test_a_new_clock_of_the_same_kind_stops_the_old_one(incident):
    first = do_start_clock(ClockKind.ANSWER, incident=incident, hours=9, start=at(2026, 12, 1, 9, 0))
    do_start_clock(ClockKind.ANSWER, incident=incident, hours=4, start=at(2026, 12, 1, 10, 0))
    first.refresh_from_db()
    assert first.state == ClockState.STOPPED
    assert incident.clocks.filter(state=ClockState.RUNNING).count() == 1


def test_an_assignment_clock_is_its_own(incident):
    department = make_department("Департамент ЖКХ")
    assignment = Assignment.objects.create(incident=incident, department=department)
    do_start_clock(ClockKind.ASSIGNMENT, incident=incident, assignment=assignment, hours=8, start=at(2026, 12, 1, 9))
    do_start_clock(ClockKind.ANSWER, incident=incident, hours=9, start=at(2026, 12, 1, 9))
    stopped = do_stop_clocks(
        incident=incident, kinds=(ClockKind.ASSIGNMENT,), assignment=assignment, at=at(2026, 12, 1, 12)
    )
    assert [c.kind for c in stopped] == [ClockKind.ASSIGNMENT]
    assert incident.clocks.get(kind=ClockKind.ANSWER).state == ClockState.RUNNING


def test_the_most_specific_policy_wins(water):
    general = SlaPolicy.objects.create(name="Все")
    group = SlaPolicy.objects.create(name="ЖКХ", group=water.group)
    topic = SlaPolicy.objects.create(name="Горячая вода", topic=water, answer_hours=Decimal("4"))
    vk = SlaPolicy.objects.create(name="ЖКХ из VK", group=water.group, channel="vk")
    urgent = SlaPolicy.objects.create(name="Срочные", priority=PolicyPriority.HIGH)
    assert select_policy(group_id=None, topic_id=None, priority=False) == general
    assert select_policy(group_id=None, topic_id=None, priority=True) == urgent
    assert select_policy(group_id=water.group_id, topic_id=None, priority=False) == group
    assert select_policy(group_id=water.group_id, topic_id=None, priority=False, channel="vk") == vk
    assert select_policy(group_id=water.group_id, topic_id=water.pk, priority=True) == topic
    topic.is_active = False
    topic.save()
    assert select_policy(group_id=water.group_id, topic_id=water.pk, priority=True, channel="vk") == vk


def test_without_a_policy_the_settings_give_the_deadlines(incident, water, settings):
    settings.OTKLIK_ANSWER_HOURS = 9
    settings.OTKLIK_ANSWER_HOURS_PRIORITY = 4
    assert deadlines_for(incident).answer_hours == Decimal("9")
    incident.topic = water
    incident.group = water.group
    incident.save()
    assert deadlines_for(incident).answer_hours == Decimal("4")
    assert deadlines_for(incident).policy is None
