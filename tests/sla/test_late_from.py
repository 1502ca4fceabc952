"""`Incident.late_from` and `Incident.deadline_met` follow the incident's own answer clocks through its whole life,
and the inbox's «late» / «on time» filters read them exactly as the rule computed from the clocks (docs/STATS.md,
rule 2)."""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

import pytest
import time_machine

from otklik.answers.choices import AnswerKind
from otklik.answers.services import do_draft_answer, do_publish_answer
from otklik.cases.models import Incident
from otklik.cases.services import (
    create_incident,
    do_classify,
    do_mark_no_answer,
    do_merge,
    do_reopen,
    do_route,
    do_stop_waiting,
    do_wait_for_citizen,
)
from otklik.org.models import Topic, TopicGroup
from otklik.sla.choices import ClockKind, ClockState
from otklik.sla.models import Clock
from otklik.sla.services import do_decide_extension, do_request_extension
from otklik.stats.selectors import filter_on_time
from tests.factories import ingest

EKB = ZoneInfo("Asia/Yekaterinburg")
OWN = (ClockKind.FIRST_ANSWER, ClockKind.ANSWER, ClockKind.FINAL_ANSWER)
pytestmark = pytest.mark.django_db


def at(*args: int) -> dt.datetime:
    return dt.datetime(*args, tzinfo=EKB)


def by_hand(incident: Incident) -> dt.datetime | None:
    """The earliest due time of the incident's own clocks that run or were missed, from the clocks themselves."""
    dues = [
        c.due_at
        for c in Clock.objects.filter(incident=incident, assignment=None)
        if c.kind in OWN and c.state in (ClockState.RUNNING, ClockState.MISSED)
    ]
    return min(dues) if dues else None


def judged_by_hand(incident: Incident, now: dt.datetime) -> str | None:
    own = [c for c in Clock.objects.filter(incident=incident, assignment=None) if c.kind in OWN]
    if any(c.state == ClockState.MISSED or (c.state == ClockState.RUNNING and c.due_at < now) for c in own):
        return "late"
    return "on_time" if any(c.state == ClockState.MET for c in own) else None


def check(incident: Incident, *moments: dt.datetime) -> dt.datetime | None:
    """`late_from` as stored equals the clocks' own value, and the filters agree with the rule at each moment."""
    stored, met = Incident.objects.values_list("late_from", "deadline_met").get(pk=incident.pk)
    assert stored == by_hand(incident)
    assert met == Clock.objects.filter(incident=incident, assignment=None, kind__in=OWN, state=ClockState.MET).exists()
    one = Incident.objects.filter(pk=incident.pk)
    for now in moments:
        expected = judged_by_hand(incident, now)
        assert filter_on_time(one, on_time=False, now=now).exists() == (expected == "late"), now
        assert filter_on_time(one, on_time=True, now=now).exists() == (expected == "on_time"), now
    return stored


@pytest.fixture
def water(db):
    group = TopicGroup.objects.create(name="ЖКХ")
    return Topic.objects.create(name="Отсутствие горячей воды", group=group, priority=True)


def test_late_from_through_an_incidents_life(operator, head, housing, water):
    with time_machine.travel(at(2026, 12, 1, 9, 0), tick=False):
        incident = create_incident()
        assert check(incident, at(2026, 12, 1, 10, 0), at(2026, 12, 3, 10, 0)) == at(2026, 12, 2, 10, 0)
        do_classify(incident, topic=water, actor=operator)  # ★: the answer clock restarted, 4 hours
        assert check(incident, at(2026, 12, 1, 12, 0), at(2026, 12, 1, 14, 0)) == at(2026, 12, 1, 13, 0)
        do_route(incident, actor=operator, lead=housing, due_hours=2)  # a department's clock: not the incident's
        assert check(incident) == at(2026, 12, 1, 13, 0)
    with time_machine.travel(at(2026, 12, 1, 10, 0), tick=False):
        answer_clock = incident.clocks.get(kind=ClockKind.ANSWER, state=ClockState.RUNNING)
        request = do_request_extension(answer_clock, actor=operator, hours="2", reason="Ждём ответа подрядчика")
        do_decide_extension(request, actor=head, approve=True)
        incident.refresh_from_db()
        assert incident.due_at == at(2026, 12, 1, 16, 0)  # the lunch hour is not working time
        assert check(incident, at(2026, 12, 1, 15, 0), at(2026, 12, 1, 17, 0)) == at(2026, 12, 1, 16, 0)
    with time_machine.travel(at(2026, 12, 1, 11, 0), tick=False):
        do_wait_for_citizen(incident, actor=operator, note="Уточнили номер дома")  # paused: not late meanwhile
        assert check(incident, at(2026, 12, 5, 10, 0)) is None
    with time_machine.travel(at(2026, 12, 2, 9, 0), tick=False):
        do_stop_waiting(incident, actor=operator)  # 4 working hours were left
        assert check(incident, at(2026, 12, 2, 12, 0), at(2026, 12, 2, 15, 0)) == at(2026, 12, 2, 13, 0)
    with time_machine.travel(at(2026, 12, 2, 16, 0), tick=False):  # three hours late
        intermediate = do_draft_answer(
            incident,
            kind=AnswerKind.INTERMEDIATE,
            text="Здравствуйте! Задвижку заменят 3 декабря.",
            promised_date=dt.date(2026, 12, 3),
            actor=operator,
        )
        do_publish_answer(intermediate, actor=operator, link="https://vk.com/wall-1_1")
        # The missed answer clock keeps the incident late; the final-answer clock runs.
        assert check(incident, at(2026, 12, 2, 17, 0), at(2026, 12, 4, 10, 0)) == at(2026, 12, 2, 13, 0)
    with time_machine.travel(at(2026, 12, 3, 11, 0), tick=False):
        final = do_draft_answer(
            incident,
            kind=AnswerKind.FINAL,
            text="Здравствуйте! Задвижку заменили, вода есть. Фото работ прилагаем.",
            actor=operator,
        )
        do_publish_answer(final, actor=operator, link="https://vk.com/wall-1_2", override_reason="Проверено звонком")
        assert check(incident, at(2026, 12, 3, 12, 0)) == at(2026, 12, 2, 13, 0)
    with time_machine.travel(at(2026, 12, 4, 10, 0), tick=False):
        do_reopen(incident, actor=operator, reason="Воды снова нет", to="answering")
        assert check(incident, at(2026, 12, 4, 11, 0)) == at(2026, 12, 2, 13, 0)
    with time_machine.travel(at(2026, 12, 4, 12, 0), tick=False):
        # Ended: the running clock stops; the missed one keeps it late, the met ones stay met (judged from the
        # clocks the stop reads, saved with the status).
        do_mark_no_answer(incident, actor=operator, reason="abusive")
        assert check(incident, at(2026, 12, 4, 13, 0)) == at(2026, 12, 2, 13, 0)
        assert Incident.objects.get(pk=incident.pk).deadline_met


def test_met_in_time_then_closed_and_a_merge(operator, housing):
    with time_machine.travel(at(2026, 12, 1, 9, 0), tick=False):
        answered = create_incident()
        do_route(answered, actor=operator, lead=housing)
    with time_machine.travel(at(2026, 12, 1, 11, 0), tick=False):
        final = do_draft_answer(
            answered, kind=AnswerKind.FINAL, text="Здравствуйте! Воду дали в 10:40, проверено.", actor=operator
        )
        do_publish_answer(final, actor=operator, link="https://vk.com/wall-1_9", override_reason="Проверено звонком")
        assert check(answered, at(2026, 12, 1, 12, 0), at(2026, 12, 9, 12, 0)) is None  # met: on time for good

    with time_machine.travel(at(2026, 12, 1, 9, 0), tick=False):
        closed = create_incident()
    with time_machine.travel(at(2026, 12, 3, 9, 0), tick=False):  # past its due time, still running
        assert check(closed, at(2026, 12, 3, 9, 0)) == at(2026, 12, 2, 10, 0)
        do_mark_no_answer(closed, actor=operator, reason="abusive")  # stopped: neither met nor missed
        assert check(closed, at(2026, 12, 3, 10, 0)) is None

    with time_machine.travel(at(2026, 12, 1, 9, 0), tick=False):
        first = ingest("Нет воды в доме 5", external_id="m-1")
        second = ingest("Совсем другая беда: яма на дороге", external_id="m-2")
    assert first.pk != second.pk
    with time_machine.travel(at(2026, 12, 1, 10, 0), tick=False):
        do_merge(second, into=first, actor=operator)
        assert check(second, at(2026, 12, 5, 10, 0)) is None  # its clocks stopped with the merge
        assert check(first, at(2026, 12, 5, 10, 0)) == at(2026, 12, 2, 10, 0)
