"""The "Is the problem solved?" survey: scheduled after a final answer only, asked once by the sweep through the
channel where it can be, the answer recorded (a button or a reply), "not solved" reopens."""

from __future__ import annotations

import datetime as dt

import pytest
import time_machine
from django.utils import timezone

from otklik.answers.channels import PermanentChannelError, TemporaryChannelError
from otklik.cases.choices import EventVerb, IncidentStatus
from otklik.cases.models import Event
from otklik.notifications.models import Notification
from otklik.satisfaction.choices import SurveyResult, SurveyStatus
from otklik.satisfaction.models import Survey
from otklik.satisfaction.services import parse_callback, record_callback, record_survey_answer
from otklik.satisfaction.surveys import survey_idempotency_key, sweep_surveys
from tests.satisfaction.helpers import AskingChannel, ReplyChannel, answer, complaint, reply

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("asking_channels")]


@pytest.fixture
def answered(operator, housing, executor):
    def make(kind: str = "final", channel: str = "telegram", author_id: str = "u1"):
        incident = complaint(channel=channel, author_id=author_id)
        answer(incident, operator, housing, executor, kind=kind)
        incident.refresh_from_db()
        return incident

    return make


def days(n: float):
    return time_machine.travel(timezone.now() + dt.timedelta(days=n), tick=False)


def test_a_survey_is_scheduled_three_days_after_a_final_answer(answered):
    incident = answered()
    survey = Survey.objects.get(incident=incident)
    assert survey.status == SurveyStatus.SCHEDULED
    assert survey.channel == "telegram"
    assert survey.scheduled_at - survey.answer.published_at == dt.timedelta(days=3)


def test_no_survey_follows_a_refusal_or_an_intermediate_answer(answered):
    refused = answered(kind="refusal")
    promised = answered(kind="intermediate")
    assert not Survey.objects.filter(incident__in=[refused, promised]).exists()


def test_the_sweep_asks_a_due_survey_once_however_often_it_runs(answered):
    incident = answered()
    with days(2):
        assert sweep_surveys()["sent"] == 0  # not due yet
    with days(3.1):
        first = sweep_surveys()
        second = sweep_surveys()
    assert first["sent"] == 1 and second["sent"] == 0
    assert len(AskingChannel.asked) == 1
    thread, question, key = AskingChannel.asked[0]
    survey = Survey.objects.get(incident=incident)
    assert key == survey.key
    assert "решена" in question
    assert thread.key == survey.thread_key
    assert (survey.status, survey.external_id, survey.attempts) == (SurveyStatus.SENT, "q1", 1)


def test_a_survey_in_a_channel_without_buttons_is_a_reply_comment(answered):
    incident = answered(channel="vk")
    with days(3.1):
        sweep_surveys()
    survey = Survey.objects.get(incident=incident)
    assert survey.status == SurveyStatus.SENT
    ((text, key),) = ReplyChannel.published
    assert "«да» или «нет»" in text
    assert key == survey_idempotency_key(survey.pk)


def test_a_channel_without_an_adapter_is_skipped(answered, settings):
    incident = answered()
    settings.OTKLIK_CHANNEL_ADAPTERS = {}
    with days(3.1):
        assert sweep_surveys()["skipped"] == 1
    survey = Survey.objects.get(incident=incident)
    assert survey.status == SurveyStatus.SKIPPED
    assert survey.last_error


def test_a_citizen_who_already_replied_is_not_asked(answered):
    incident = answered()
    with days(1):
        reply(incident, "Спасибо, всё сделали!", channel="telegram")
    with days(3.1):
        sweep_surveys()
    assert Survey.objects.get(incident=incident).status == SurveyStatus.SKIPPED
    assert AskingChannel.asked == []


def test_a_temporary_error_asks_again_later_and_a_permanent_one_gives_up(answered):
    incident = answered()
    AskingChannel.fail_next = [TemporaryChannelError("timeout")]
    with days(3.1):
        assert sweep_surveys()["retry"] == 1
    survey = Survey.objects.get(incident=incident)
    assert survey.status == SurveyStatus.SCHEDULED and survey.attempts == 1
    with days(3.2):
        assert sweep_surveys()["sent"] == 1
    assert len(AskingChannel.asked) == 1

    other = answered(author_id="u2")
    AskingChannel.fail_next = [PermanentChannelError("bot blocked")]
    with days(3.1):
        sweep_surveys()
    assert Survey.objects.get(incident=other).status == SurveyStatus.SKIPPED


def test_a_yes_button_records_solved_once(answered):
    incident = answered()
    with days(3.1):
        sweep_surveys()
    survey = Survey.objects.get(incident=incident)
    with days(3.5):
        recorded = record_callback(f"solved:{survey.key}:yes", author_id="u1")
        again = record_survey_answer(survey.key, solved=False)
    assert recorded is not None and recorded.result == SurveyResult.SOLVED
    assert again is None  # answered already: the second press changes nothing
    survey.refresh_from_db()
    assert (survey.status, survey.result) == (SurveyStatus.ANSWERED, SurveyResult.SOLVED)
    incident.refresh_from_db()
    assert incident.status == IncidentStatus.CLOSED


def test_a_no_button_reopens_the_incident_and_tells_the_operator(answered, operator):
    incident = answered()
    with days(3.1):
        sweep_surveys()
    survey = Survey.objects.get(incident=incident)
    assert record_callback(f"solved:{survey.key}:no", author_id="someone-else") is None  # not the author's press
    record_callback(f"solved:{survey.key}:no", author_id="u1")
    survey.refresh_from_db()
    assert survey.result == SurveyResult.NOT_SOLVED
    incident.refresh_from_db()
    assert incident.status == IncidentStatus.ROUTED
    assert Event.objects.filter(incident=incident, verb=EventVerb.REOPENED).count() == 1
    assert Notification.objects.filter(dedup_key=f"survey-not-solved:{survey.pk}", recipient=operator).exists()


def test_a_reply_in_the_thread_answers_the_survey(answered):
    incident = answered(channel="vk")
    with days(3.1):
        sweep_surveys()
    with days(3.3):
        reply(incident, "Нет, ничего не сделали")
    survey = Survey.objects.get(incident=incident)
    assert (survey.status, survey.result) == (SurveyStatus.ANSWERED, SurveyResult.NOT_SOLVED)
    incident.refresh_from_db()
    assert incident.status == IncidentStatus.ROUTED
    assert Event.objects.filter(incident=incident, verb=EventVerb.REOPENED).count() == 1  # reopened once


def test_an_unanswered_survey_expires(answered):
    incident = answered()
    with days(3.1):
        sweep_surveys()
    with days(10.2):
        assert sweep_surveys()["expired"] == 1
    assert Survey.objects.get(incident=incident).status == SurveyStatus.EXPIRED


def test_callback_data_is_parsed_strictly():
    assert parse_callback("solved:ab12:yes") == ("ab12", True)
    assert parse_callback("solved:ab12:no") == ("ab12", False)
    assert parse_callback("solved::yes") is None
    assert parse_callback("solved:ab12:maybe") is None
    assert parse_callback("other:ab12:yes") is None
