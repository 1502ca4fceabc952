"""A small city made through the services, whose figures are worked out by hand (docs/STATS.md).

Period 1–3 December 2026 (Tue–Thu), now = 3 December 12:00; working day 09–18, break 13–14; answer clock 9 working
hours.

| incident | created        | channel  | group  | what happens                                                        |
|----------|----------------|----------|--------|---------------------------------------------------------------------|
| a1       | 1 Dec 09:00    | vk       | ЖКХ    | housing informs on time; final answer 11:00; reopened 2 Dec 10:00;  |
|          |                |          |        | final answer again 2 Dec 11:00                                      |
| a2       | 1 Dec 10:00    | vk       | ЖКХ    | housing informs late, rework, informs; intermediate 16:30; final    |
|          |                |          |        | answer 3 Dec 11:00                                                  |
| a3       | 1 Dec 11:00    | telegram | Дороги | roads declines at 12:00; nobody answers (overdue since 2 Dec 12:00) |
| a4       | 2 Dec 09:00    | vk       | Дороги | roads never informs; nobody answers (overdue since 3 Dec 10:00)     |
| a5       | 2 Dec 10:00    | vk       | —      | spam: no answer needed                                              |
| a6       | 2 Dec 11:00    | vk       | ЖКХ    | merged into a1 (left out of the incidents; its post is counted)     |
| old      | 20 Nov 10:00   | vk       | —      | outside the period; still open: overdue now                         |
| old2     | 21 Nov 10:00   | vk       | —      | outside the period; no answer needed                                |

Negativity of the posts: a1 0.8, a2 0.2, a3 0.9, a4 none, a5 0.4, a6 0.1; old 0.9, old2 none.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from zoneinfo import ZoneInfo

import pytest
import time_machine

from otklik.answers.choices import AnswerKind
from otklik.answers.services import do_draft_answer, do_publish_answer
from otklik.cases.models import Incident
from otklik.cases.services import (
    do_accept_information,
    do_classify,
    do_decline,
    do_mark_no_answer,
    do_merge,
    do_reopen,
    do_return_for_rework,
    do_route,
    do_submit_information,
    do_update_incident,
)
from otklik.intake.models import Post
from otklik.org.models import Department, Territory, Topic, TopicGroup
from tests.factories import ingest

EKB = ZoneInfo("Asia/Yekaterinburg")
START, END = dt.date(2026, 12, 1), dt.date(2026, 12, 3)


def at(*args: int) -> dt.datetime:
    return dt.datetime(*args, tzinfo=EKB)


NOW = at(2026, 12, 3, 12, 0)


@dataclass
class City:
    housing_group: TopicGroup
    roads_group: TopicGroup
    housing: Department
    roads: Department
    centre: Territory
    incidents: dict[str, Incident]


def _post(name: str, when: dt.datetime, *, channel: str = "vk", negative: float | None = None) -> Incident:
    with time_machine.travel(when, tick=False):
        incident = ingest(f"Сообщение {name}: яма и нет воды", channel=channel, external_id=name, posted_at=when)
    Post.objects.filter(incident=incident).update(negative=negative)
    return incident


def _publish(incident: Incident, operator, kind: str, text: str, **extra) -> None:
    answer = do_draft_answer(incident, kind=kind, text=text, actor=operator, **extra)
    do_publish_answer(answer, actor=operator, link="https://vk.com/wall-1_1")


@pytest.fixture
def city(db, operator, executor, executor_other, housing, roads, settings) -> City:
    settings.OTKLIK_CLOSE_AFTER_FINAL_ANSWER = True
    housing_group = TopicGroup.objects.create(name="ЖКХ")
    roads_group = TopicGroup.objects.create(name="Дороги")
    yard = Topic.objects.create(name="Уборка дворов", group=housing_group)
    potholes = Topic.objects.create(name="Ямы на дорогах", group=roads_group)
    centre = Territory.objects.create(name="Центральный")
    found: dict[str, Incident] = {}

    found["old"] = _post("old", at(2026, 11, 20, 10, 0), negative=0.9)
    found["old2"] = _post("old2", at(2026, 11, 21, 10, 0))
    with time_machine.travel(at(2026, 11, 21, 10, 5), tick=False):
        do_mark_no_answer(found["old2"], actor=operator, reason="spam")

    # a1: on time, answered, reopened, answered again.
    a1 = found["a1"] = _post("a1", at(2026, 12, 1, 9, 0), negative=0.8)
    with time_machine.travel(at(2026, 12, 1, 9, 5), tick=False):
        do_classify(a1, topic=yard, actor=operator)
        do_update_incident(a1, actor=operator, address="ул. Ленина, 5", territory=centre)
        [assignment] = do_route(a1, actor=operator, lead=housing, due_hours=2)
    with time_machine.travel(at(2026, 12, 1, 10, 0), tick=False):
        do_submit_information(assignment, actor=executor, text="Двор уберут 1 декабря до 11:00")
        do_accept_information(assignment, actor=operator)
    with time_machine.travel(at(2026, 12, 1, 11, 0), tick=False):
        _publish(a1, operator, AnswerKind.FINAL, "Здравствуйте! Двор убрали 1 декабря, фото работ приложены к ответу.")
    with time_machine.travel(at(2026, 12, 2, 10, 0), tick=False):
        do_reopen(a1, actor=operator, reason="Снова грязно", to="answering")
    with time_machine.travel(at(2026, 12, 2, 11, 0), tick=False):
        _publish(a1, operator, AnswerKind.FINAL, "Здравствуйте! Двор убрали повторно 2 декабря, фото приложены.")

    # a2: housing late, returned for rework; an intermediate answer, then the final one.
    a2 = found["a2"] = _post("a2", at(2026, 12, 1, 10, 0), negative=0.2)
    with time_machine.travel(at(2026, 12, 1, 10, 5), tick=False):
        do_classify(a2, topic=yard, actor=operator)
        do_update_incident(a2, actor=operator, address="ул. Ленина, 5", territory=centre)
        [assignment2] = do_route(a2, actor=operator, lead=housing, due_hours=2)
    with time_machine.travel(at(2026, 12, 1, 15, 0), tick=False):
        do_submit_information(assignment2, actor=executor, text="Уберём")
    with time_machine.travel(at(2026, 12, 1, 15, 10), tick=False):
        do_return_for_rework(assignment2, actor=operator, comment="Нет срока")
    with time_machine.travel(at(2026, 12, 1, 16, 0), tick=False):
        do_submit_information(assignment2, actor=executor, text="Уберём 3 декабря до 10:00")
        do_accept_information(assignment2, actor=operator)
    with time_machine.travel(at(2026, 12, 1, 16, 30), tick=False):
        _publish(
            a2,
            operator,
            AnswerKind.INTERMEDIATE,
            "Здравствуйте! Двор уберут 3 декабря.",
            promised_date=dt.date(2026, 12, 3),
        )
    with time_machine.travel(at(2026, 12, 3, 11, 0), tick=False):
        _publish(a2, operator, AnswerKind.FINAL, "Здравствуйте! Двор убрали 3 декабря в 10:00, фото приложены.")

    # a3: roads declines; nobody answers.
    a3 = found["a3"] = _post("a3", at(2026, 12, 1, 11, 0), channel="telegram", negative=0.9)
    with time_machine.travel(at(2026, 12, 1, 11, 5), tick=False):
        do_classify(a3, topic=potholes, actor=operator)
        do_update_incident(a3, actor=operator, address="ул. Мира, 1")
        [assignment3] = do_route(a3, actor=operator, lead=roads, due_hours=2)
    with time_machine.travel(at(2026, 12, 1, 12, 0), tick=False):
        do_decline(assignment3, actor=executor_other, reason="Это дворовая территория")

    # a4: roads never informs.
    a4 = found["a4"] = _post("a4", at(2026, 12, 2, 9, 0))
    with time_machine.travel(at(2026, 12, 2, 9, 0), tick=False):
        do_classify(a4, topic=potholes, actor=operator)
        do_route(a4, actor=operator, lead=roads, due_hours=4)

    # a5: spam; a6: a duplicate of a1.
    a5 = found["a5"] = _post("a5", at(2026, 12, 2, 10, 0), negative=0.4)
    with time_machine.travel(at(2026, 12, 2, 10, 5), tick=False):
        do_mark_no_answer(a5, actor=operator, reason="spam")
    a6 = found["a6"] = _post("a6", at(2026, 12, 2, 11, 0), negative=0.1)
    with time_machine.travel(at(2026, 12, 2, 11, 5), tick=False):
        do_classify(a6, topic=yard, actor=operator)
        do_merge(a6, into=a1, actor=operator)

    for incident in found.values():
        incident.refresh_from_db()
    return City(housing_group, roads_group, housing, roads, centre, found)
