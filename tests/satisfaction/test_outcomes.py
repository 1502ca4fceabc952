"""The classification kept on each published final answer (otklik.satisfaction.outcomes) follows every change through
the services: a satisfied reply, a survey answered «solved» (a conditional UPDATE), a reopening by a reply (its event
inserted at the end of the worker's block) or by the survey, a second final answer, a deleted reply. After each
step the kept fields must equal the classification in Python (`classify_incidents`) and the previous final answer
read from the table."""

from __future__ import annotations

import datetime as dt
import threading
import time

import pytest
import time_machine
from django.db import connection, connections, transaction
from django.utils import timezone

from otklik.answers.choices import AnswerKind, AnswerStatus
from otklik.answers.models import Answer
from otklik.answers.services import do_draft_answer, do_publish_answer
from otklik.cases.choices import EventVerb, IncidentStatus
from otklik.cases.models import Incident
from otklik.cases.services import (
    deferring_events,
    do_accept_information,
    do_reopen,
    do_submit_information,
    record_event,
)
from otklik.intake.models import Post
from otklik.intake.services import default_source
from otklik.satisfaction.choices import Verdict
from otklik.satisfaction.models import FollowUp, Survey
from otklik.satisfaction.outcomes import refresh_all_outcomes
from otklik.satisfaction.services import record_callback
from otklik.satisfaction.stats import SATISFIED, classify_incidents
from otklik.satisfaction.surveys import sweep_surveys
from tests.satisfaction.helpers import FINAL, answer, complaint, reply

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("asking_channels")]


def later(days: float):
    return time_machine.travel(timezone.now() + dt.timedelta(days=days), tick=False)


def expected(incident_id: int) -> list[tuple[int, dt.datetime | None, bool]]:
    """(answer id, previous final answer's time, satisfied since it) of the incident's published final answers,
    worked out in Python."""
    finals = list(
        Answer.objects.filter(incident_id=incident_id, kind=AnswerKind.FINAL, status=AnswerStatus.PUBLISHED)
        .order_by("published_at", "pk")
        .values_list("pk", "published_at")
    )
    rows = []
    for index, (pk, published_at) in enumerate(finals):
        satisfied = classify_incidents({incident_id: published_at})[incident_id] == SATISFIED
        rows.append((pk, finals[index - 1][1] if index else None, satisfied))
    return rows


def kept(incident_id: int) -> list[tuple[int, dt.datetime | None, bool]]:
    return list(
        Answer.objects.filter(incident_id=incident_id, kind=AnswerKind.FINAL, status=AnswerStatus.PUBLISHED)
        .order_by("published_at", "pk")
        .values_list("pk", "previous_final_at", "satisfied_after")
    )


def satisfied_incident(operator, housing, executor):
    """An incident answered on the merits, and its author's satisfied reply a day later."""
    incident = complaint(author_id="u1")
    answer(incident, operator, housing, executor)
    with later(1):
        reply(incident, "Спасибо большое, всё сделали!")
    incident.refresh_from_db()
    return incident


def test_a_satisfied_reply_then_a_not_satisfied_one_then_a_second_answer(operator, housing, executor):
    incident = complaint(author_id="u1")
    answer(incident, operator, housing, executor)
    assert kept(incident.pk) == expected(incident.pk)
    assert [row[2] for row in kept(incident.pk)] == [False]

    with later(1):
        reply(incident, "Спасибо большое, всё сделали!")
    assert [row[2] for row in kept(incident.pk)] == [True]
    assert kept(incident.pk) == expected(incident.pk)

    with later(2):  # «not satisfied» reopens: the reopening is after the answer, so no longer satisfied
        reply(incident, "Спасибо, конечно, но яма как была, так и осталась")
    incident.refresh_from_db()
    assert incident.status != IncidentStatus.CLOSED
    assert [row[2] for row in kept(incident.pk)] == [False]
    assert kept(incident.pk) == expected(incident.pk)

    with later(3):  # a second final answer: it follows the first one
        answer_again(incident, operator, executor)
    rows = kept(incident.pk)
    assert len(rows) == 2
    assert rows == expected(incident.pk)
    first_published = Answer.objects.get(pk=rows[0][0]).published_at
    assert rows[1][1] == first_published and rows[0][1] is None

    with later(4):  # satisfied after the second answer only: the first stays reopened since
        reply(incident, "Спасибо большое, теперь всё отлично!")
    assert [row[2] for row in kept(incident.pk)] == [False, True]
    assert kept(incident.pk) == expected(incident.pk)

    FollowUp.objects.filter(incident=incident, verdict=Verdict.SATISFIED).delete()  # queryset delete: per row signals
    assert [row[2] for row in kept(incident.pk)] == [False, False]


def answer_again(incident, operator, executor):
    """The department's information again, then a second final answer published."""
    incident.refresh_from_db()
    assignment = incident.assignments.order_by("-pk").first()
    do_submit_information(assignment, actor=executor, text="Повторно заделали яму 20 ноября, акт приложен.")
    do_accept_information(assignment, actor=operator)
    incident.refresh_from_db()
    draft = do_draft_answer(incident, actor=operator, kind="final", text=FINAL)
    return do_publish_answer(draft, actor=operator, link="https://vk.com/wall-1_1?reply=10")


def test_a_survey_answered_solved_is_kept_though_it_is_a_conditional_update(operator, housing, executor):
    incident = complaint(channel="telegram", author_id="u1")
    answer(incident, operator, housing, executor)
    with later(3.1):
        sweep_surveys()
    survey = Survey.objects.get(incident=incident)
    with later(3.5):
        assert record_callback(f"solved:{survey.key}:yes", author_id="u1") is not None
    assert [row[2] for row in kept(incident.pk)] == [True]
    assert kept(incident.pk) == expected(incident.pk)


def test_a_reopening_recorded_in_a_deferred_block_is_kept_when_the_block_inserts_it(operator, housing, executor):
    incident = satisfied_incident(operator, housing, executor)
    assert [row[2] for row in kept(incident.pk)] == [True]
    with later(2), deferring_events():
        record_event(incident, EventVerb.REOPENED, message="reopened by the worker")
        assert [row[2] for row in kept(incident.pk)] == [True]  # not inserted yet
    assert [row[2] for row in kept(incident.pk)] == [False]
    assert kept(incident.pk) == expected(incident.pk)


def test_a_reopening_by_the_operator_is_kept(operator, housing, executor):
    incident = satisfied_incident(operator, housing, executor)
    with later(2):
        do_reopen(incident, actor=operator, reason="Житель позвонил: яма снова появилась")
    assert [row[2] for row in kept(incident.pk)] == [False]


def test_refresh_all_recomputes_what_a_bulk_load_left(operator, housing, executor):
    incident = satisfied_incident(operator, housing, executor)
    Answer.objects.update(satisfied_after=False, previous_final_at=timezone.now())  # as a bulk load leaves them
    assert refresh_all_outcomes() == Answer.objects.count()
    assert kept(incident.pk) == expected(incident.pk) == [(kept(incident.pk)[0][0], None, True)]


@pytest.mark.django_db(transaction=True)
@pytest.mark.skipif(connection.vendor != "postgresql", reason="two transactions racing need real concurrency")
def test_a_reopening_and_a_satisfied_reply_racing_leave_the_right_value():
    """A worker records a reopening and holds its transaction open; another records a satisfied reply meanwhile.
    The second refresh waits for the first transaction (the incident's lock) and then sees the reopening: not
    satisfied. (Without the lock its UPDATE waited only for the answer's row and kept what it had computed from
    before the reopening was committed: satisfied.)"""
    # Rows made directly: in a test that commits, the intake would publish its analysis task to the broker.
    incident = Incident.objects.create(status=IncidentStatus.CLOSED)
    published = timezone.now() - dt.timedelta(days=2)
    answer = Answer.objects.create(
        incident=incident, kind=AnswerKind.FINAL, status=AnswerStatus.PUBLISHED, text="…", published_at=published
    )
    reply_post = Post.objects.create(
        source=default_source("vk"), external_id="race-reply", text="Спасибо!", posted_at=timezone.now(),
        incident=incident,
    )  # fmt: skip
    reopened_held = threading.Event()
    reply_started = threading.Event()
    errors: list[BaseException] = []

    def reopen() -> None:
        try:
            with transaction.atomic():
                record_event(incident, EventVerb.REOPENED, message="reopened", at=published + dt.timedelta(days=1))
                reopened_held.set()
                reply_started.wait(10)
                time.sleep(0.5)  # the reply's refresh is now waiting (or, without the lock, computing)
        except BaseException as exc:  # noqa: BLE001 -- reported by the main thread
            errors.append(exc)
        finally:
            connections.close_all()

    def satisfied_reply() -> None:
        try:
            reopened_held.wait(10)
            reply_started.set()
            FollowUp.objects.create(
                incident=incident, answer=answer, post=reply_post, verdict=Verdict.SATISFIED, confidence=0.9
            )
        except BaseException as exc:  # noqa: BLE001 -- reported by the main thread
            errors.append(exc)
        finally:
            connections.close_all()

    threads = [threading.Thread(target=reopen), threading.Thread(target=satisfied_reply)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    assert kept(incident.pk) == expected(incident.pk) == [(answer.pk, None, False)]
