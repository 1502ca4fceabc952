"""Satisfied %, reopened %, no reaction % per incident, department, topic and period, on a small dataset."""

from __future__ import annotations

import datetime as dt

import pytest
import time_machine
from django.template import Context, Template
from django.utils import timezone

from otklik.cases.services import do_classify
from otklik.org.models import Topic, TopicGroup
from otklik.satisfaction.models import Survey
from otklik.satisfaction.services import record_survey_answer
from otklik.satisfaction.stats import incident_satisfaction, satisfaction_stats
from otklik.satisfaction.surveys import sweep_surveys
from tests.satisfaction.helpers import answer, complaint, reply

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def channels(settings):
    settings.OTKLIK_CHANNEL_ADAPTERS = {"vk": "tests.satisfaction.helpers.ReplyChannel"}


@pytest.fixture
def dataset(operator, housing, roads, executor, executor_other):
    """Five incidents answered on the merits: two satisfied (a reply; the survey), one reopened, two silent (one
    of them only said «+»); plus one answered with a refusal (not counted) and one of the roads department."""
    group = TopicGroup.objects.create(name="Дороги")
    pits = Topic.objects.create(name="Ямы", group=group)
    made = {}
    for name, dept, worker in [
        ("thanks", housing, executor),
        ("survey", housing, executor),
        ("angry", housing, executor),
        ("plus", housing, executor),
        ("silent", roads, executor_other),
    ]:
        incident = complaint(author_id=f"author-{name}")
        do_classify(incident, topic=pits if name in {"angry", "silent"} else None, actor=operator)
        answer(incident, operator, dept, worker)
        made[name] = incident
    refused = complaint(author_id="author-refused")
    answer(refused, operator, housing, executor, kind="refusal")
    made["refused"] = refused

    reply(made["thanks"], "Спасибо, всё сделали!", author_id="author-thanks")
    reply(made["angry"], "Ничего не сделали, опять отписка", author_id="author-angry")
    reply(made["plus"], "+", author_id="author-plus")
    with time_machine.travel(timezone.now() + dt.timedelta(days=3, hours=1), tick=False):
        sweep_surveys()
        survey = Survey.objects.get(incident=made["survey"])
        record_survey_answer(survey.key, solved=True)
    return made


def window():
    now = timezone.now()
    return now - dt.timedelta(days=1), now + dt.timedelta(days=1)


def test_the_totals_split_the_incidents_answered_on_the_merits(dataset):
    (row,) = satisfaction_stats(*window())
    assert (row.total, row.satisfied, row.reopened, row.no_reaction) == (5, 2, 1, 2)
    assert (row.satisfied_pct, row.reopened_pct, row.no_reaction_pct) == (40.0, 20.0, 40.0)


def test_per_department_topic_and_incident(dataset, housing, roads):
    by_dept = {row.key: row for row in satisfaction_stats(*window(), by="department")}
    assert (by_dept[housing.pk].total, by_dept[housing.pk].satisfied_pct, by_dept[housing.pk].reopened_pct) == (
        4,
        50.0,
        25.0,
    )
    assert (by_dept[roads.pk].total, by_dept[roads.pk].no_reaction_pct) == (1, 100.0)

    by_topic = {row.label: row for row in satisfaction_stats(*window(), by="topic")}
    assert (by_topic["Ямы"].total, by_topic["Ямы"].reopened, by_topic["Ямы"].no_reaction) == (2, 1, 1)
    assert by_topic[""].total == 3 and by_topic[""].satisfied == 2

    by_incident = {row.key: row for row in satisfaction_stats(*window(), by="incident")}
    assert dataset["refused"].pk not in by_incident
    assert by_incident[dataset["angry"].pk].reopened == 1
    assert by_incident[dataset["survey"].pk].satisfied == 1


def test_per_period_and_outside_the_period(dataset):
    (month,) = satisfaction_stats(*window(), by="period", period="month")
    assert month.total == 5 and month.label == timezone.localdate().replace(day=1).isoformat()
    later = timezone.now() + dt.timedelta(days=30)
    (empty,) = satisfaction_stats(later, later + dt.timedelta(days=1))
    assert empty.total == 0 and empty.satisfied_pct is None


def test_the_card_block_shows_the_verdicts(dataset):
    state = incident_satisfaction(dataset["angry"])
    assert state.state == "reopened"
    assert [f.verdict for f in state.follow_ups] == ["not_satisfied"]
    html = Template("{% load satisfaction %}{% satisfaction_card incident %}").render(
        Context({"incident": dataset["angry"]})
    )
    assert 'id="satisfaction"' in html and 'data-state="reopened"' in html
    assert "опять отписка" in html
    nothing = complaint(author_id="nobody")
    assert (
        Template("{% load satisfaction %}{% satisfaction_card incident %}")
        .render(Context({"incident": nothing}))
        .strip()
        == ""
    )
