"""The quality gate at publication: errors block, only the head (or the acting head) overrides with a reason."""

from __future__ import annotations

import datetime as dt

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.utils import timezone

from otklik.answers.choices import AnswerStatus
from otklik.answers.models import Answer
from otklik.answers.services import do_draft_answer, do_publish_answer, quality_findings
from otklik.cases.choices import AssignmentRole, EventVerb
from otklik.cases.models import Event
from otklik.cases.services import do_route, do_submit_information
from otklik.core.errors import DomainError
from otklik.sla.services import do_delegate
from tests.factories import ingest

pytestmark = pytest.mark.django_db

# Work promised "soon": `deadline_missing`, an error.
VAGUE = "Здравствуйте! Яму во дворе отремонтируют в ближайшее время, спасибо за обращение."
# Work reported done with nothing to show: `evidence_missing`, an error (unless a photo is attached).
DONE = "Здравствуйте! Яму во дворе на улице Ленина заделали. Спасибо, что написали!"
# No greeting and «в рамках»: warnings only.
WARNINGS_ONLY = "Передали обращение в Департамент ЖКХ в рамках проверки, ответим до 15 декабря."
GOOD = "Здравствуйте! Горячую воду дадут 12 декабря после замены задвижки на сетях, работы идут по графику."
LINK = "https://vk.com/wall-1_1"


@pytest.fixture
def routed(operator, housing, executor):
    incident = ingest("Во дворе дома Ленина 5 огромная яма, когда заделают?")
    do_route(incident, actor=operator, lead=housing, co_executors=[])
    incident.refresh_from_db()
    return incident


def published_event(incident):
    return Event.objects.filter(incident=incident, verb=EventVerb.ANSWER_PUBLISHED).get()


def test_the_gate_blocks_an_answer_with_an_error(routed, operator):
    answer = do_draft_answer(routed, actor=operator, kind="primary", text=VAGUE)
    with pytest.raises(DomainError) as err:
        do_publish_answer(answer, actor=operator, link=LINK)
    assert err.value.field == "quality_override_reason"
    deadline = next(f for f in quality_findings(answer) if f.code == "deadline_missing")
    assert deadline.message.rstrip(".") in err.value.message  # the error is listed in Russian
    answer.refresh_from_db()
    assert answer.status == AnswerStatus.DRAFT and answer.published_at is None
    assert not Event.objects.filter(incident=routed, verb=EventVerb.ANSWER_PUBLISHED).exists()


def test_an_operator_giving_a_reason_is_refused(routed, operator):
    answer = do_draft_answer(routed, actor=operator, kind="primary", text=VAGUE)
    with pytest.raises(DomainError) as without_reason:
        do_publish_answer(answer, actor=operator, link=LINK)
    with pytest.raises(DomainError) as with_reason:
        do_publish_answer(answer, actor=operator, link=LINK, quality_override_reason="Житель ждёт, публикуем так")
    assert with_reason.value.field == "quality_override_reason"
    assert with_reason.value.message != without_reason.value.message  # it says only the head can override
    answer.refresh_from_db()
    assert answer.status == AnswerStatus.DRAFT
    assert answer.quality_override_reason == "" and answer.quality_override_by is None


def test_the_head_overrides_with_a_reason_and_it_is_recorded(routed, operator, head):
    answer = do_draft_answer(routed, actor=operator, kind="primary", text=VAGUE)
    with pytest.raises(DomainError):
        do_publish_answer(answer, actor=head, link=LINK)  # the head too needs a reason
    do_publish_answer(answer, actor=head, link=LINK, quality_override_reason="  Срок назовёт подрядчик завтра  ")

    answer.refresh_from_db()
    assert answer.status == AnswerStatus.PUBLISHED
    assert answer.quality_override_reason == "Срок назовёт подрядчик завтра"
    assert answer.quality_override_by == head
    codes = {f["code"]: f for f in answer.findings}
    assert codes["deadline_missing"]["severity"] == "error"
    assert set(codes["deadline_missing"]) == {"code", "severity", "message", "start", "end", "suggestion"}
    event = published_event(routed)
    assert event.actor == head
    assert event.after["quality_errors"] == ["deadline_missing"]
    assert event.after["quality_override_reason"] == "Срок назовёт подрядчик завтра"
    assert event.after["quality_override_by"] == head.pk
    assert "deadline_missing" in event.after["findings"]
    assert "Срок назовёт подрядчик завтра" in event.message


def test_the_acting_head_can_override(routed, operator, operator2, head):
    now = timezone.now()
    do_delegate(
        head=head,
        acting=operator2,
        starts_at=now - dt.timedelta(hours=1),
        ends_at=now + dt.timedelta(days=3),
        actor=head,
    )
    answer = do_draft_answer(routed, actor=operator, kind="primary", text=VAGUE)
    do_publish_answer(answer, actor=operator2, link=LINK, quality_override_reason="Согласовано с подрядчиком")
    answer.refresh_from_db()
    assert (answer.status, answer.quality_override_by) == (AnswerStatus.PUBLISHED, operator2)


def test_warnings_do_not_block_and_are_kept(routed, operator):
    answer = do_draft_answer(routed, actor=operator, kind="primary", text=WARNINGS_ONLY)
    do_publish_answer(answer, actor=operator, link=LINK)
    answer.refresh_from_db()
    assert answer.status == AnswerStatus.PUBLISHED
    severities = {f["code"]: f["severity"] for f in answer.findings}
    assert severities["greeting_missing"] == "warning" and severities["bureaucratese"] == "warning"
    assert "error" not in severities.values()
    assert answer.quality_override_reason == "" and answer.quality_override_by is None
    event = published_event(routed)
    assert "quality_override_reason" not in event.after
    assert set(event.after["findings"]) >= {"greeting_missing", "bureaucratese"}


def test_a_reason_given_for_a_clean_answer_is_not_recorded(routed, head):
    answer = do_draft_answer(routed, actor=head, kind="primary", text=GOOD)
    do_publish_answer(answer, actor=head, link=LINK, quality_override_reason="На всякий случай")
    answer.refresh_from_db()
    assert answer.findings == []
    assert answer.quality_override_reason == "" and answer.quality_override_by is None


def test_a_photo_attached_by_the_department_is_the_evidence(routed, operator, executor):
    answer = do_draft_answer(routed, actor=operator, kind="primary", text=DONE)
    with pytest.raises(DomainError):
        do_publish_answer(answer, actor=operator, link=LINK)

    lead = routed.assignments.get(role=AssignmentRole.LEAD)
    photo = SimpleUploadedFile("yama.jpg", b"\xff\xd8\xff\xe0 jpeg", content_type="image/jpeg")
    do_submit_information(lead, actor=executor, text="Яму заделали, фото прилагаем.", files=[photo])
    do_publish_answer(Answer.objects.get(pk=answer.pk), actor=operator, link=LINK)
    answer.refresh_from_db()
    assert answer.status == AnswerStatus.PUBLISHED
    assert "evidence_missing" not in {f["code"] for f in answer.findings}


def test_the_gate_runs_on_every_kind_of_answer(routed, operator, executor):
    lead = routed.assignments.get(role=AssignmentRole.LEAD)
    do_submit_information(lead, actor=executor, text="Отремонтируем в ближайшее время.")
    answer = do_draft_answer(routed, actor=operator, kind="refusal", text=VAGUE)
    with pytest.raises(DomainError) as err:
        do_publish_answer(answer, actor=operator, link=LINK)
    assert err.value.field == "quality_override_reason"


def api_client(user):
    from knox.models import AuthToken
    from rest_framework.test import APIClient

    _instance, key = AuthToken.objects.create(user=user)
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {key}")
    return client


def test_the_api_passes_the_quality_override(routed, operator, head):
    answer = do_draft_answer(routed, actor=operator, kind="primary", text=VAGUE)
    url = f"/api/v1/answers/{answer.pk}/publish"

    blocked = api_client(operator).post(url, {"link": LINK}, format="json")
    refused = api_client(operator).post(url, {"quality_override_reason": "Публикуем так"}, format="json")
    published = api_client(head).post(url, {"quality_override_reason": "Публикуем так"}, format="json")

    assert (blocked.status_code, list(blocked.json())) == (400, ["quality_override_reason"])
    assert (refused.status_code, list(refused.json())) == (400, ["quality_override_reason"])
    assert published.status_code == 200 and published.json()["status"] == "published"
    answer.refresh_from_db()
    assert (answer.quality_override_reason, answer.quality_override_by) == ("Публикуем так", head)
