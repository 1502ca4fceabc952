"""The services start and stop the clocks: an incident's life from creation to the final answer."""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

import pytest
import time_machine

from otklik.answers.choices import AnswerKind
from otklik.answers.services import do_draft_answer, do_publish_answer
from otklik.cases.services import (
    create_incident,
    do_accept_information,
    do_classify,
    do_mark_no_answer,
    do_reopen,
    do_return_for_rework,
    do_route,
    do_submit_information,
)
from otklik.org.models import Topic, TopicGroup
from otklik.sla.choices import ClockKind, ClockState

EKB = ZoneInfo("Asia/Yekaterinburg")
pytestmark = pytest.mark.django_db


def at(*args: int) -> dt.datetime:
    return dt.datetime(*args, tzinfo=EKB)


def clocks(incident) -> list[tuple[str, str]]:
    return [(c.kind, c.state) for c in incident.clocks.order_by("pk")]


@pytest.fixture
def water(db):
    group = TopicGroup.objects.create(name="ЖКХ")
    return Topic.objects.create(name="Отсутствие горячей воды", group=group, priority=True)


def test_from_creation_to_the_final_answer(operator, executor, housing, water, settings):
    settings.OTKLIK_CLOSE_AFTER_FINAL_ANSWER = True
    with time_machine.travel(at(2026, 12, 1, 9, 0), tick=False):
        incident = create_incident()
        assert clocks(incident) == [(ClockKind.ANSWER, ClockState.RUNNING)]
        assert incident.due_at == at(2026, 12, 2, 10, 0)  # 9 working hours
        do_classify(incident, topic=water, actor=operator)  # ★: 4 hours from creation
        incident.refresh_from_db()
        assert incident.due_at == at(2026, 12, 1, 13, 0)
        assert clocks(incident) == [
            (ClockKind.ANSWER, ClockState.STOPPED),
            (ClockKind.ANSWER, ClockState.RUNNING),
        ]
        [assignment] = do_route(incident, actor=operator, lead=housing, due_hours=2)
    assignment_clock = assignment.clocks.get()
    assert assignment_clock.due_at == at(2026, 12, 1, 11, 0) == assignment.due_at

    with time_machine.travel(at(2026, 12, 1, 12, 0), tick=False):  # an hour late
        do_submit_information(assignment, actor=executor, text="Заменим задвижку до 3 декабря")
    assignment_clock.refresh_from_db()
    assert assignment_clock.state == ClockState.MISSED
    assert assignment_clock.elapsed_working_seconds == 3 * 3600

    with time_machine.travel(at(2026, 12, 1, 12, 10), tick=False):
        do_return_for_rework(assignment, actor=operator, comment="Нет конкретной даты")
    assignment.refresh_from_db()
    rework = assignment.clocks.get(kind=ClockKind.REWORK)
    assert rework.state == ClockState.RUNNING
    assert assignment.due_at == rework.due_at == at(2026, 12, 2, 12, 10)  # 8 working hours

    with time_machine.travel(at(2026, 12, 1, 16, 0), tick=False):
        do_submit_information(assignment, actor=executor, text="Заменим задвижку 3 декабря до 12:00")
        do_accept_information(assignment, actor=operator)
        intermediate = do_draft_answer(
            incident,
            kind=AnswerKind.INTERMEDIATE,
            text="Здравствуйте! Задвижку заменят 3 декабря.",
            promised_date=dt.date(2026, 12, 3),
            actor=operator,
        )
        do_publish_answer(intermediate, actor=operator, link="https://vk.com/wall-1_1")
    rework.refresh_from_db()
    assert rework.state == ClockState.MET
    incident.refresh_from_db()
    final_clock = incident.clocks.get(kind=ClockKind.FINAL_ANSWER)
    assert final_clock.due_at == at(2026, 12, 3, 18, 0) == incident.due_at
    assert incident.clocks.filter(kind=ClockKind.ANSWER, state=ClockState.MISSED).count() == 1  # 13:00 passed

    with time_machine.travel(at(2026, 12, 3, 11, 0), tick=False):
        final = do_draft_answer(
            incident,
            kind=AnswerKind.FINAL,
            text="Здравствуйте! Задвижку заменили, вода есть. Фото работ прилагаем.",
            actor=operator,
        )
        do_publish_answer(final, actor=operator, link="https://vk.com/wall-1_2")
    final_clock.refresh_from_db()
    assert final_clock.state == ClockState.MET
    assert not incident.clocks.filter(state__in=[ClockState.RUNNING, ClockState.PAUSED]).exists()

    with time_machine.travel(at(2026, 12, 4, 10, 0), tick=False):
        do_reopen(incident, actor=operator, reason="Воды снова нет", to="answering")
    incident.refresh_from_db()
    reopened = incident.clocks.filter(state=ClockState.RUNNING).get()
    assert reopened.kind == ClockKind.ANSWER and incident.due_at == reopened.due_at == at(2026, 12, 4, 15, 0)
    with time_machine.travel(at(2026, 12, 4, 11, 0), tick=False):
        again = do_draft_answer(
            incident, kind=AnswerKind.FINAL, text="Здравствуйте! Воду дали в 10:40.", actor=operator
        )
        do_publish_answer(again, actor=operator, link="https://vk.com/wall-1_3", override_reason="Проверено звонком")
    reopened.refresh_from_db()
    assert reopened.state == ClockState.MET


def test_an_incident_without_an_answer_stops_its_clocks(operator, housing):
    incident = create_incident()
    [assignment] = do_route(incident, actor=operator, lead=housing)
    do_mark_no_answer(incident, actor=operator, reason="abusive")
    assert set(incident.clocks.values_list("state", flat=True)) == {ClockState.STOPPED}
    assert assignment.clocks.get().state == ClockState.STOPPED
