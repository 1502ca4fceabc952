"""Following the thread after an answer: the author's replies are classified; "not satisfied" reopens the incident
with a new clock and tells the operator why; others' replies and late ones are ignored."""

from __future__ import annotations

import datetime as dt

import pytest
import time_machine
from django.utils import timezone

from otklik.cases.choices import AssignmentStatus, EventVerb, IncidentStatus
from otklik.cases.models import Event
from otklik.notifications.models import Notification
from otklik.satisfaction.choices import FollowUpAction, Verdict
from otklik.satisfaction.models import FollowedThread, FollowUp
from otklik.sla.choices import ClockKind
from otklik.sla.models import Clock
from tests.satisfaction.helpers import answer, complaint, reply

pytestmark = pytest.mark.django_db


@pytest.fixture
def closed(operator, housing, executor):
    """An incident answered on the merits (closed at once, the default) in the thread of author u1."""
    incident = complaint(author_id="u1")
    answer(incident, operator, housing, executor)
    incident.refresh_from_db()
    assert incident.status == IncidentStatus.CLOSED
    return incident


def test_a_final_answer_starts_following_its_thread_for_seven_days(closed):
    (followed,) = FollowedThread.objects.filter(incident=closed)
    assert followed.author_id == "u1"
    assert followed.followed_until - followed.followed_from == dt.timedelta(days=7)


def test_a_not_satisfied_reply_reopens_the_incident_with_a_new_clock_and_tells_the_operator_why(closed, operator):
    later = timezone.now() + dt.timedelta(days=2)
    with time_machine.travel(later, tick=False):
        post = reply(closed, "Спасибо, конечно, но яма как была, так и осталась")

    closed.refresh_from_db()
    assert post.incident_id == closed.pk  # the reply joins the incident, no new one
    assert closed.status == IncidentStatus.ROUTED  # the department's accepted information goes back to work
    assert closed.assignments.get().status == AssignmentStatus.REWORK
    event = Event.objects.filter(incident=closed, verb=EventVerb.REOPENED).get()
    assert "яма как была" in event.message
    follow_up = FollowUp.objects.get(post=post)
    assert (follow_up.verdict, follow_up.acted) == (Verdict.NOT_SATISFIED, FollowUpAction.REOPENED)
    assert follow_up.incident_id == closed.pk and follow_up.answer is not None
    note = Notification.objects.get(incident_id=closed.pk, dedup_key=f"follow-up:{post.pk}")
    assert note.recipient == operator  # who published the answer (the incident has no owner)
    assert "яма как была" in note.body
    clock = Clock.objects.filter(incident=closed, kind=ClockKind.ANSWER).order_by("-pk").first()
    assert clock is not None and clock.started_at == later  # a new answer clock from the reopening
    assert closed.due_at == clock.due_at


def test_a_satisfied_reply_is_recorded_and_nothing_is_reopened(closed):
    post = reply(closed, "Спасибо большое, всё сделали!")
    closed.refresh_from_db()
    assert closed.status == IncidentStatus.CLOSED
    assert post.incident_id == closed.pk
    follow_up = FollowUp.objects.get(post=post)
    assert (follow_up.verdict, follow_up.acted) == (Verdict.SATISFIED, FollowUpAction.NONE)
    assert not Notification.objects.filter(dedup_key=f"follow-up:{post.pk}").exists()


def test_a_reply_by_someone_else_in_the_thread_is_ignored(closed):
    post = reply(closed, "Ничего не сделали, опять отписка", author_id="neighbour")
    closed.refresh_from_db()
    assert closed.status == IncidentStatus.CLOSED
    assert not FollowUp.objects.exists()
    assert post.incident_id != closed.pk  # a post of its own, as before


def test_a_reply_after_the_following_time_is_not_a_follow_up(closed):
    with time_machine.travel(timezone.now() + dt.timedelta(days=8), tick=False):
        post = reply(closed, "Проблема не решена")
    closed.refresh_from_db()
    assert closed.status == IncidentStatus.CLOSED
    assert not FollowUp.objects.exists()
    assert post.incident_id != closed.pk


def test_the_following_time_is_a_setting(settings, operator, housing, executor):
    settings.OTKLIK_FOLLOW_UP_DAYS = 1
    incident = complaint()
    answer(incident, operator, housing, executor)
    with time_machine.travel(timezone.now() + dt.timedelta(days=2), tick=False):
        reply(incident, "Проблема не решена")
    incident.refresh_from_db()
    assert incident.status == IncidentStatus.CLOSED


def test_a_new_question_opens_a_new_incident(closed):
    post = reply(closed, "Спасибо. А когда отремонтируют тротуар вдоль школы?")
    closed.refresh_from_db()
    assert closed.status == IncidentStatus.CLOSED
    assert post.incident_id is not None and post.incident_id != closed.pk
    follow_up = FollowUp.objects.get(post=post)
    assert (follow_up.incident_id, follow_up.verdict, follow_up.acted) == (
        closed.pk,
        Verdict.NEW_QUESTION,
        FollowUpAction.NEW_INCIDENT,
    )


def test_a_neutral_reply_joins_the_incident_without_reopening_it(closed):
    post = reply(closed, "+")
    closed.refresh_from_db()
    assert closed.status == IncidentStatus.CLOSED
    assert post.incident_id == closed.pk
    assert FollowUp.objects.get(post=post).verdict == Verdict.NEUTRAL


def test_after_an_intermediate_answer_a_not_satisfied_reply_tells_the_operator(operator, housing, executor):
    incident = complaint()
    answer(incident, operator, housing, executor, kind="intermediate")
    incident.refresh_from_db()
    assert incident.status in {IncidentStatus.ROUTED, IncidentStatus.ANSWERING}
    status = incident.status
    post = reply(incident, "Опять пустые обещания, в прошлом году то же самое писали")
    incident.refresh_from_db()
    assert incident.status == status  # open already: nothing to reopen
    assert post.incident_id == incident.pk
    follow_up = FollowUp.objects.get(post=post)
    assert (follow_up.verdict, follow_up.acted) == (Verdict.NOT_SATISFIED, FollowUpAction.NOTIFIED)
    assert Notification.objects.filter(dedup_key=f"follow-up:{post.pk}", recipient=operator).exists()


def test_a_refusal_is_not_followed(operator, housing, executor):
    incident = complaint()
    answer(incident, operator, housing, executor, kind="refusal")
    assert not FollowedThread.objects.filter(incident=incident).exists()
    reply(incident, "Проблема не решена")
    incident.refresh_from_db()
    assert incident.status == IncidentStatus.CLOSED


def test_an_answered_incident_kept_open_for_follow_up_is_reopened_too(settings, operator, housing, executor):
    settings.OTKLIK_CLOSE_AFTER_FINAL_ANSWER = False
    incident = complaint()
    answer(incident, operator, housing, executor)
    incident.refresh_from_db()
    assert incident.status == IncidentStatus.ANSWERED
    reply(incident, "Ничего не сделали!!!")
    incident.refresh_from_db()
    assert incident.status == IncidentStatus.ROUTED


def test_the_same_reply_ingested_twice_is_followed_up_once(closed):
    from otklik.intake.services import default_source, do_ingest_post

    root = closed.posts.get()
    kwargs = {
        "source": default_source("vk"),
        "external_id": "same-reply",
        "text": "Проблема не решена",
        "posted_at": timezone.now(),
        "author_id": "u1",
        "thread_id": root.external_id,
    }
    do_ingest_post(**kwargs)
    do_ingest_post(**kwargs)
    assert FollowUp.objects.count() == 1
    assert Event.objects.filter(incident=closed, verb=EventVerb.REOPENED).count() == 1


def test_a_broken_classifier_does_not_stop_the_intake(closed, monkeypatch):
    from otklik.satisfaction import classifier

    def broken(text: str) -> tuple[str, float]:
        raise RuntimeError("model file torn")

    monkeypatch.setattr(classifier, "classify_reply", broken)
    post = reply(closed, "Проблема не решена")
    assert post.incident_id == closed.pk
    assert FollowUp.objects.get(post=post).verdict == Verdict.NEUTRAL
