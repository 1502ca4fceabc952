"""POST /api/v1/answers/check: the findings of a draft; every invalid field named; service roles only."""

from __future__ import annotations

import pytest
from rest_framework.test import APIClient

pytestmark = pytest.mark.django_db

URL = "/api/v1/answers/check"
DRAFT = "Добрый день. Данный вопрос находится на контроле, ремонт выполнят в ближайшее время."


def test_it_returns_the_findings_with_spans_into_the_text(client_for, operator):
    response = client_for(operator).post(URL, {"text": DRAFT, "complaint": "Яма на Ленина"}, format="json")

    assert response.status_code == 200
    findings = response.json()["findings"]
    assert findings, findings
    assert all(set(f) == {"code", "severity", "message", "start", "end", "suggestion"} for f in findings)
    assert [f["start"] for f in findings] == sorted(f["start"] for f in findings)
    spans = {(f["code"], DRAFT[f["start"] : f["end"]]) for f in findings}
    assert ("bureaucratese", "Данный") in spans
    assert ("deadline_missing", "в ближайшее время") in spans
    assert {f["severity"] for f in findings if f["code"] == "deadline_missing"} == {"error"}


def test_a_good_answer_has_no_findings_and_attachments_count_as_evidence(client_for, head):
    text = "Здравствуйте, Анна! Ремонт подъезда в доме 60 по улице Мира выполнен 20 ноября, стены покрашены."

    response = client_for(head).post(URL, {"text": text, "attachments": 2}, format="json")

    assert response.status_code == 200
    assert response.json() == {"findings": []}


def test_the_text_is_not_trimmed_so_offsets_stay_exact(client_for, operator):
    text = "   \nДобрый день. Данный вопрос решат до 5 декабря, спасибо, что написали нам про яму."

    response = client_for(operator).post(URL, {"text": text}, format="json")

    (finding,) = [f for f in response.json()["findings"] if f["code"] == "bureaucratese"]
    assert text[finding["start"] : finding["end"]] == "Данный"


def test_a_session_of_the_ui_works_too(client, operator):
    client.force_login(operator)

    response = client.post(URL, {"text": DRAFT}, content_type="application/json")

    assert response.status_code == 200


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({}, "text"),
        ({"text": None}, "text"),
        ({"text": 5}, "text"),
        ({"text": ["a"]}, "text"),
        ({"text": "а" * 20_001}, "text"),
        ({"text": "Здравствуйте", "complaint": 7}, "complaint"),
        ({"text": "Здравствуйте", "attachments": -1}, "attachments"),
        ({"text": "Здравствуйте", "html": "<p>"}, "html"),
    ],
)
def test_it_refuses_invalid_input_naming_the_field(client_for, operator, body, field):
    response = client_for(operator).post(URL, body, format="json")

    assert response.status_code == 400
    assert list(response.json()) == [field]
    assert response.json()[field][0]


def test_the_longest_allowed_text_is_checked(client_for, operator):
    response = client_for(operator).post(URL, {"text": "Здравствуйте! " + "а" * (20_000 - 14)}, format="json")

    assert response.status_code == 200


def test_it_answers_401_without_credentials(anon):
    assert APIClient().post(URL, {"text": DRAFT}, format="json").status_code == 401
    assert anon.post(URL, {"text": DRAFT}, format="json").status_code == 401


@pytest.mark.parametrize("persona", ["director", "executor", "dept_head"])
def test_it_answers_403_to_roles_outside_the_service(client_for, request, persona):
    user = request.getfixturevalue(persona)

    response = client_for(user).post(URL, {"text": DRAFT}, format="json")

    assert response.status_code == 403


def test_it_is_in_the_openapi_schema(client_for, operator):
    schema = client_for(operator).get("/api/schema?format=json").json()

    operation = schema["paths"]["/api/v1/answers/check"]["post"]
    assert "200" in operation["responses"] and "400" in operation["responses"]
    assert "AnswerCheck" in str(operation["requestBody"])
