"""Waiting for the citizen pauses the deadlines; the author's reply in the thread starts them again."""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

import pytest
import time_machine

from otklik.cases.choices import EventVerb
from otklik.cases.services import do_route, do_stop_waiting, do_wait_for_citizen
from otklik.core.errors import DomainError, IllegalTransition
from otklik.sla.choices import ClockKind, ClockState
from tests.factories import ingest

EKB = ZoneInfo("Asia/Yekaterinburg")
pytestmark = pytest.mark.django_db


def at(*args: int) -> dt.datetime:
    return dt.datetime(*args, tzinfo=EKB)


def test_the_reply_of_the_author_resumes_the_deadlines(operator, housing):
    with time_machine.travel(at(2026, 12, 1, 9, 0), tick=False):
        incident = ingest("Нет воды в доме", author_id="id1", external_id="p-1")
        [assignment] = do_route(incident, actor=operator, lead=housing, due_hours=8)
    with time_machine.travel(at(2026, 12, 1, 11, 0), tick=False):
        with pytest.raises(DomainError):
            do_wait_for_citizen(incident, actor=operator, note=" ")
        do_wait_for_citizen(incident, actor=operator, note="Уточнили номер дома")
        with pytest.raises(IllegalTransition):
            do_wait_for_citizen(incident, actor=operator, note="ещё раз")
    assert set(incident.clocks.values_list("state", flat=True)) == {ClockState.PAUSED}
    with time_machine.travel(at(2026, 12, 2, 9, 0), tick=False):
        ingest("Дом 15, второй подъезд", author_id="id1", thread_id="p-1")
    incident.refresh_from_db()
    assignment.refresh_from_db()
    assert incident.waiting_since is None
    assert incident.events.filter(verb=EventVerb.WAITING_ENDED).exists()
    clock = assignment.clocks.get(kind=ClockKind.ASSIGNMENT)
    assert clock.state == ClockState.RUNNING
    assert assignment.due_at == clock.due_at == at(2026, 12, 2, 16, 0)  # 6 h were left at 11:00


def test_another_person_in_the_thread_does_not_resume(operator):
    incident = ingest("Нет воды в доме", author_id="id1", external_id="p-2")
    do_wait_for_citizen(incident, actor=operator, note="Какой дом?")
    ingest("У нас тоже нет", author_id="id2", thread_id="p-2")
    incident.refresh_from_db()
    assert incident.waiting_since is not None
    do_stop_waiting(incident, actor=operator)
    incident.refresh_from_db()
    assert incident.waiting_since is None
    assert incident.clocks.get(kind=ClockKind.ANSWER).state == ClockState.RUNNING


def test_the_card_pauses_and_resumes(client, operator):
    incident = ingest("Нет воды", author_id="id1", thread_id="t-3")
    client.force_login(operator)
    page = client.get(f"/incidents/{incident.pk}/").content.decode()
    assert f'action="/incidents/{incident.pk}/wait/"' in page
    client.post(f"/incidents/{incident.pk}/wait/", {"note": "Уточняем адрес"})
    page = client.get(f"/incidents/{incident.pk}/").content.decode()
    assert f'action="/incidents/{incident.pk}/stop-waiting/"' in page and "text-bg-secondary" in page
    client.post(f"/incidents/{incident.pk}/stop-waiting/")
    incident.refresh_from_db()
    assert incident.waiting_since is None
