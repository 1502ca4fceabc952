"""The inbox's «reopened» filter reads `Incident.reopened_at` (set by `do_reopen`, backfilled from the `reopened`
events by migration cases 0008), and the saved views' counters under a filter are counted in one pass over the open
incidents (issue 9, docs/BENCHMARKS.md): both must give exactly what the events and the rows say."""

from __future__ import annotations

import datetime as dt
import importlib
import re

import pytest
import time_machine
from django.apps import apps
from django.test import Client
from django.utils import timezone

from otklik.answers.services import do_draft_answer, do_publish_answer
from otklik.cases.choices import OPEN_STATUSES, EventVerb, IncidentStatus
from otklik.cases.models import Event, Incident
from otklik.cases.services import do_close, do_reopen, do_route, do_send_to_triage, do_take
from otklik.cases.views.inbox import view_conditions
from otklik.core.errors import IllegalTransition
from otklik.org.models import TopicGroup
from tests.factories import ingest

pytestmark = pytest.mark.django_db

S = IncidentStatus
START = dt.datetime(2026, 12, 1, 9, 0, tzinfo=dt.UTC)


def counters(html: str) -> dict[str, str]:
    return dict(re.findall(r'data-count="(\w+)">([^<]*)<', html))


def row_ids(html: str) -> list[int]:
    return [int(n) for n in re.findall(r'<tr class="inbox-row[^"]*" data-href="/incidents/\d+/" data-id="(\d+)"', html)]


@pytest.fixture
def operator_client(client: Client, operator) -> Client:
    client.force_login(operator)
    return client


@pytest.fixture(autouse=True)
def _answered_stays_answered(settings):
    settings.OTKLIK_CLOSE_AFTER_FINAL_ANSWER = False


def answered(operator, lead, text: str = "Нет воды", channel: str = "vk") -> Incident:
    """A new incident routed to `lead` and answered by a refusal (status `answered`)."""
    incident = ingest(text, channel=channel, author_id=text)
    do_route(incident, actor=operator, lead=lead)
    answer = do_draft_answer(incident, actor=operator, kind="refusal", text="Вопрос не относится к городу.")
    do_publish_answer(answer, actor=operator)
    incident.refresh_from_db()
    assert incident.status == S.ANSWERED
    return incident


def test_reopening_sets_reopened_at_and_a_second_reopening_moves_it(operator, housing):
    incident = answered(operator, housing)
    assert incident.reopened_at is None
    with time_machine.travel(START, tick=False):
        do_reopen(incident, actor=operator, reason="Воды всё ещё нет", to=S.ANSWERING)
    incident.refresh_from_db()
    assert incident.reopened_at == START
    answer = do_draft_answer(incident, actor=operator, kind="refusal", text="Вопрос не относится к городу.")
    do_publish_answer(answer, actor=operator)
    do_close(incident, actor=operator)
    later = START + dt.timedelta(days=2)
    with time_machine.travel(later, tick=False):
        do_reopen(incident, actor=operator, reason="Снова нет воды", to=S.ANSWERING)
    incident.refresh_from_db()
    assert incident.reopened_at == later
    assert Event.objects.filter(incident=incident, verb=EventVerb.REOPENED).count() == 2


def test_a_refused_reopening_leaves_reopened_at_unset(operator, housing):
    incident = ingest()
    do_route(incident, actor=operator, lead=housing)
    with pytest.raises(IllegalTransition):
        do_reopen(incident, actor=operator, reason="Нет")
    incident.refresh_from_db()
    assert incident.reopened_at is None


def test_the_backfill_sets_the_last_reopening_from_the_events(operator, housing):
    backfill = importlib.import_module("otklik.cases.migrations.0008_incident_reopened_at_open_index")
    twice, once = answered(operator, housing, "Нет воды"), answered(operator, housing, "Яма")
    never = answered(operator, housing, "Мусор")
    for incident, days in ((twice, 0), (twice, 3), (once, 1)):
        incident.refresh_from_db()
        if incident.status != S.ANSWERED:
            answer = do_draft_answer(incident, actor=operator, kind="refusal", text="Вопрос не относится к городу.")
            do_publish_answer(answer, actor=operator)
        with time_machine.travel(START + dt.timedelta(days=days), tick=False):
            do_reopen(incident, actor=operator, reason="Проблема осталась", to=S.ANSWERING)
    # As before the field existed: the events only.
    Incident.objects.update(reopened_at=None)
    backfill.backfill_reopened_at(apps, None)
    values = dict(Incident.objects.values_list("pk", "reopened_at"))
    assert values[twice.pk] == START + dt.timedelta(days=3)
    assert values[once.pk] == START + dt.timedelta(days=1)
    assert values[never.pk] is None


def test_the_reopened_filter_lists_and_counts_exactly_the_incidents_with_a_reopened_event(
    operator_client, operator, housing
):
    reopened = answered(operator, housing, "Нет воды")
    do_reopen(reopened, actor=operator, reason="Воды всё ещё нет", to=S.ANSWERING)
    closed_again = answered(operator, housing, "Яма")
    do_reopen(closed_again, actor=operator, reason="Яма осталась", to=S.ANSWERING)
    answer = do_draft_answer(closed_again, actor=operator, kind="refusal", text="Вопрос не относится к городу.")
    do_publish_answer(answer, actor=operator)
    answered(operator, housing, "Мусор")
    ingest("Нет света", author_id="x")
    expected = set(Event.objects.filter(verb=EventVerb.REOPENED).values_list("incident_id", flat=True))
    assert expected == {reopened.pk, closed_again.pk}
    html = operator_client.get("/inbox/?reopened=1").content.decode()
    assert set(row_ids(html)) == expected
    shown = counters(html)
    assert shown["all"] == "2" and shown["ready"] == "1" and shown["new"] == "0"


def by_hand(operator, incidents: list[Incident]) -> dict[str, str]:
    """Each saved view's count over `incidents`, from the views' own conditions applied row by row."""
    now = timezone.now()
    ids = [i.pk for i in incidents]
    counted = {}
    for code, condition in view_conditions(operator, now).items():
        queryset = Incident.objects.filter(pk__in=ids)
        counted[code] = str((queryset.filter(condition) if condition is not None else queryset).count())
    return counted


@pytest.mark.parametrize(
    "url", ["/inbox/?group={group}", "/inbox/?department={department}", "/inbox/?channel=telegram"]
)
def test_counters_under_a_column_filter_are_exact_for_every_view(operator_client, operator, housing, roads, url):
    """The open views counted in one pass over the open incidents' index agree with the views' conditions."""
    made = [ingest(f"Обращение {n}", channel="telegram" if n % 2 else "vk", author_id=f"c{n}") for n in range(8)]
    do_route(made[0], actor=operator, lead=housing)
    do_route(made[1], actor=operator, lead=housing)
    do_take(made[1], actor=operator)
    do_route(made[2], actor=operator, lead=roads)
    do_send_to_triage(made[3], actor=operator, note="Не ясно, чья тема")
    done = answered(operator, housing, "Ответили", channel="telegram")
    Incident.objects.filter(pk=made[4].pk).update(due_at=timezone.now() - dt.timedelta(hours=1))  # overdue
    group = TopicGroup.objects.create(name="Вода")
    Incident.objects.filter(pk__in=[made[0].pk, made[3].pk, made[4].pk, made[6].pk, done.pk]).update(group=group)
    every = Incident.objects.filter(pk__in=[*(i.pk for i in made), done.pk])
    if "group" in url:
        expected_ids = list(every.filter(group=group))
    elif "department" in url:
        expected_ids = list(every.filter(lead_department=housing))
    else:
        expected_ids = list(every.filter(posts__source__channel="telegram").distinct())
    html = operator_client.get(url.format(group=group.pk, department=housing.pk)).content.decode()
    expected = by_hand(operator, expected_ids)
    assert counters(html) == {code: expected[code] for code in counters(html)}
    assert any(i.status in OPEN_STATUSES for i in expected_ids)


def test_the_overdue_view_lists_open_incidents_by_due_time_and_not_closed_ones(operator_client, operator, housing):
    first, second, third = (ingest(f"Обращение {n}", author_id=f"o{n}") for n in range(3))
    now = timezone.now()
    for incident, hours in ((first, 2), (second, 5), (third, 1)):
        Incident.objects.filter(pk=incident.pk).update(due_at=now - dt.timedelta(hours=hours))
    done = answered(operator, housing, "Ответили")
    Incident.objects.filter(pk=done.pk).update(due_at=now - dt.timedelta(hours=10))  # closed ones keep a due time
    html = operator_client.get("/inbox/?view=overdue").content.decode()
    assert row_ids(html) == [second.pk, first.pk, third.pk]
    assert counters(html)["overdue"] == "3"
