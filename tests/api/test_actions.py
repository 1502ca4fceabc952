"""The lifecycle through the API: each action calls its service; errors are 400/403/404/409, never a 500."""

from __future__ import annotations

import datetime as dt

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.utils import timezone

from otklik.answers.models import Answer
from otklik.answers.services import do_draft_answer
from otklik.cases.models import Assignment, Incident
from otklik.cases.services import do_accept_information, do_route, do_submit_information
from otklik.intake.models import Post
from tests.factories import ingest

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _wait_for_follow_up(settings):
    """These tests follow the `answered` state; closing right after the final answer is tested in tests/web/card."""
    settings.OTKLIK_CLOSE_AFTER_FINAL_ANSWER = False


def cyrillic(text: str) -> bool:
    return any("а" <= ch <= "я" or ch == "ё" for ch in text.lower())


@pytest.fixture
def routed(operator, housing, roads, executor, executor_other):
    incident = ingest()
    do_route(incident, actor=operator, lead=housing, co_executors=[roads])
    return incident


@pytest.fixture
def lead_assignment(routed, housing) -> Assignment:
    return routed.assignments.get(department=housing)


# --- the whole way through the API -----------------------------------------------------------------------


def test_it_runs_an_incident_from_post_to_closing_through_the_api(
    client_for, operator, head, executor, housing, roads, topics
):
    service, boss, dept = client_for(operator), client_for(head), client_for(executor)
    ids = service.post(
        "/api/v1/posts",
        {"source": "telegram", "external_id": "42", "text": "Нет горячей воды", "posted_at": "2025-03-01T10:00:00"},
        format="json",
    ).json()
    incident = f"/api/v1/incidents/{ids['incident_id']}"

    assert service.post(f"{incident}/take").json()["owner"] == "operator"
    body = service.post(f"{incident}/classify", {"topic": "★ Отсутствие горячей воды"}, format="json").json()
    assert (body["topic"], body["group"], body["priority"]) == ("Отсутствие горячей воды", "ЖКХ", True)

    due_at = (timezone.now() + dt.timedelta(days=2)).replace(microsecond=0)
    body = service.post(
        f"{incident}/route",
        {"lead": housing.pk, "co_executors": [roads.pk], "due_at": due_at.isoformat(), "request": "Когда дадут воду?"},
        format="json",
    ).json()
    assert body["status"] == "routed"
    assert body["lead_department"] == {"id": housing.pk, "name": housing.name}
    assert {(a["department"]["id"], a["role"]) for a in body["assignments"]} == {(housing.pk, "lead"), (roads.pk, "co")}
    assert all(dt.datetime.fromisoformat(a["due_at"]) == due_at for a in body["assignments"])

    mine = dept.get("/api/v1/assignments").json()["results"]
    assert [(a["incident"], a["request"]) for a in mine] == [(ids["incident_id"], "Когда дадут воду?")]
    lead_id = mine[0]["id"]
    sent = dept.post(
        f"/api/v1/assignments/{lead_id}/information",
        {
            "text": "Авария, воду дадут к 18:00",
            "files": [SimpleUploadedFile("фото.jpg", b"\xff\xd8\xff\xe0jpeg", "image/jpeg")],
        },
        format="multipart",
    )
    assert sent.status_code == 200
    assert sent.json()["status"] == "submitted"
    assert [a["name"] for a in sent.json()["attachments"]] == ["фото.jpg"]

    assert service.post(f"/api/v1/assignments/{lead_id}/accept").json()["status"] == "accepted"
    co_id = Assignment.objects.get(department=roads).pk
    assert (
        service.post(f"/api/v1/assignments/{co_id}/information", {"text": "Дорогу не раскапывали"}).status_code == 200
    )
    assert service.post(f"/api/v1/assignments/{co_id}/accept").status_code == 200
    assert service.get(incident).json()["status"] == "answering"

    drafted = service.post(f"{incident}/answers", {"kind": "final", "text": "Воду дали в 17:40."}, format="json")
    assert drafted.status_code == 201
    answer = f"/api/v1/answers/{drafted.json()['id']}"
    assert drafted.json()["incident"] == ids["incident_id"]
    assert service.post(f"{answer}/submit").json()["status"] == "approval"
    assert service.get(incident).json()["status"] == "approval"
    assert boss.post(f"{answer}/approve").json()["status"] == "approved"
    published = service.post(f"{answer}/publish", {"link": "https://t.me/c/1/43"}, format="json").json()
    assert (published["status"], published["link"]) == ("published", "https://t.me/c/1/43")
    assert published["published_at"]

    assert service.get(incident).json()["status"] == "answered"
    assert (
        service.post(f"{incident}/close", {"note": "Житель поблагодарил"}, format="json").json()["status"] == "closed"
    )
    reopened = service.post(f"{incident}/reopen", {"reason": "Воды снова нет"}, format="json").json()
    assert reopened["status"] == "routed"
    assert {a["status"] for a in reopened["assignments"]} == {"rework"}


def test_it_accepts_every_action_path_with_a_trailing_slash_too(client_for, operator, routed):
    client = client_for(operator)

    response = client.post(f"/api/v1/incidents/{routed.pk}/take/")

    assert response.status_code == 200
    assert client.get(f"/api/v1/incidents/{routed.pk}/").status_code == 200
    assert client.get("/api/v1/incidents/").status_code == 200
    assert client.get("/api/v1/assignments/").status_code == 200


# --- errors: 400, 409 -----------------------------------------------------------------------------------------


def test_it_answers_409_with_a_russian_message_to_an_illegal_transition(client_for, operator):
    incident = ingest()

    response = client_for(operator).post(f"/api/v1/incidents/{incident.pk}/close")

    assert response.status_code == 409
    body = response.json()
    assert body["code"] == "illegal_transition"
    assert cyrillic(body["detail"]), body
    incident.refresh_from_db()
    assert incident.status == "new"


def test_it_answers_409_to_reopening_an_open_incident(client_for, operator, routed):
    response = client_for(operator).post(f"/api/v1/incidents/{routed.pk}/reopen", {"reason": "Снова"}, format="json")

    assert response.status_code == 409
    assert response.json()["code"] == "illegal_transition"


def test_it_answers_409_to_accepting_information_not_yet_sent(client_for, operator, lead_assignment):
    response = client_for(operator).post(f"/api/v1/assignments/{lead_assignment.pk}/accept")

    assert response.status_code == 409


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({}, "lead"),
        ({"lead": 999999}, "lead"),
        ({"lead": "ЖКХ"}, "lead"),
        ({"lead": 1.5}, "lead"),
        ({"lead": True}, "lead"),
        ({"lead": "housing", "co_executors": "roads"}, "co_executors"),
        ({"lead": "housing", "co_executors": [999999]}, "co_executors"),
        ({"lead": "housing", "due_hours": -1}, "due_hours"),
        ({"lead": "housing", "due_hours": "много"}, "due_hours"),
        ({"lead": "housing", "due_at": "завтра"}, "due_at"),
        ({"lead": "housing", "due_at": "2020-01-01T10:00:00+05:00"}, "due_at"),
        ({"lead": "housing", "due_hours": 8, "due_at": "2999-01-01T10:00:00"}, "due_at"),
        ({"lead": "housing", "priority": True}, "priority"),
    ],
)
def test_it_refuses_an_invalid_route_naming_the_field(client_for, operator, housing, body, field):
    incident = ingest()
    body = {k: (housing.pk if v == "housing" else v) for k, v in body.items()}

    response = client_for(operator).post(f"/api/v1/incidents/{incident.pk}/route", body, format="json")

    assert response.status_code == 400
    assert list(response.json()) == [field]
    assert not Assignment.objects.exists()


def test_it_refuses_routing_to_an_inactive_department(client_for, operator, housing):
    housing.is_active = False
    housing.save(update_fields=["is_active"])
    incident = ingest()

    response = client_for(operator).post(f"/api/v1/incidents/{incident.pk}/route", {"lead": housing.pk}, format="json")

    assert response.status_code == 400
    assert list(response.json()) == ["lead"]


@pytest.mark.parametrize(
    ("action", "body", "field"),
    [
        ("no-answer", {}, "reason"),
        ("no-answer", {"reason": "boring"}, "reason"),
        ("no-answer", {"reason": "other"}, "note"),
        ("merge", {}, "into"),
        ("merge", {"into": 999999}, "into"),
        ("split", {"post_ids": []}, "post_ids"),
        ("split", {"post_ids": [999999]}, "post_ids"),
        ("split", {"post_ids": [10**30]}, "post_ids"),
        ("split", {"post_ids": "1"}, "post_ids"),
        ("reopen", {}, "reason"),
        ("classify", {"topic": "Нет такой темы"}, "topic"),
        ("answers", {"kind": "final"}, "text"),
        ("answers", {"kind": "letter", "text": "Текст"}, "kind"),
        ("answers", {"kind": "intermediate", "text": "Сделаем"}, "promised_date"),
        ("answers", {"kind": "intermediate", "text": "Сделаем", "promised_date": "2020-01-01"}, "promised_date"),
    ],
)
def test_it_refuses_invalid_action_input_naming_the_field(client_for, operator, topics, action, body, field):
    incident = ingest()

    response = client_for(operator).post(f"/api/v1/incidents/{incident.pk}/{action}", body, format="json")

    assert response.status_code == 400, response.content
    assert list(response.json()) == [field]


def test_it_refuses_merging_an_incident_into_itself(client_for, operator):
    incident = ingest()

    response = client_for(operator).post(f"/api/v1/incidents/{incident.pk}/merge", {"into": incident.pk}, format="json")

    assert response.status_code == 400
    assert list(response.json()) == ["into"]


def test_it_merges_and_splits(client_for, operator):
    first, second = ingest(), ingest()
    client = client_for(operator)

    merged = client.post(f"/api/v1/incidents/{second.pk}/merge", {"into": first.pk}, format="json").json()
    assert (merged["status"], merged["merged_into"], merged["posts"]) == ("merged", first.pk, [])
    post_ids = [p["id"] for p in client.get(f"/api/v1/incidents/{first.pk}").json()["posts"]]
    assert len(post_ids) == 2

    split = client.post(f"/api/v1/incidents/{first.pk}/split", {"post_ids": post_ids[1:]}, format="json")

    assert split.status_code == 201
    assert split.json()["status"] == "triage"
    assert [p["id"] for p in split.json()["posts"]] == post_ids[1:]
    assert Post.objects.get(pk=post_ids[0]).incident_id == first.pk


def test_it_marks_an_incident_as_needing_no_answer(client_for, operator, routed):
    body = (
        client_for(operator)
        .post(f"/api/v1/incidents/{routed.pk}/no-answer", {"reason": "abusive"}, format="json")
        .json()
    )

    assert body["status"] == "no_answer"
    assert {a["status"] for a in body["assignments"]} == {"cancelled"}


def test_it_refuses_to_publish_a_final_answer_without_accepted_information_unless_a_reason_is_given(
    client_for, operator, routed
):
    answer = do_draft_answer(routed, actor=operator, kind="final", text="Всё сделано.")
    client = client_for(operator)

    refused = client.post(f"/api/v1/answers/{answer.pk}/publish", {}, format="json")
    published = client.post(
        f"/api/v1/answers/{answer.pk}/publish", {"override_reason": "Ответ согласован по телефону"}, format="json"
    )

    assert refused.status_code == 400
    assert list(refused.json()) == ["override_reason"]
    assert published.status_code == 200
    assert Incident.objects.get(pk=routed.pk).status == "answered"


def test_it_lets_the_head_return_an_answer_with_a_comment(client_for, operator, head, routed, lead_assignment):
    answer = do_draft_answer(routed, actor=operator, kind="final", text="Сделано.")
    client_for(operator).post(f"/api/v1/answers/{answer.pk}/submit")
    boss = client_for(head)

    missing = boss.post(f"/api/v1/answers/{answer.pk}/reject", {}, format="json")
    rejected = boss.post(f"/api/v1/answers/{answer.pk}/reject", {"comment": "Нет сроков"}, format="json")

    assert missing.status_code == 400
    assert list(missing.json()) == ["comment"]
    assert rejected.json()["status"] == "draft"
    assert Incident.objects.get(pk=routed.pk).status == "answering"


def test_it_returns_information_for_rework_with_a_comment(client_for, operator, executor, lead_assignment):
    do_submit_information(lead_assignment, actor=executor, text="Разберёмся")
    client = client_for(operator)

    missing = client.post(f"/api/v1/assignments/{lead_assignment.pk}/rework", {"comment": " "}, format="json")
    returned = client.post(
        f"/api/v1/assignments/{lead_assignment.pk}/rework", {"comment": "Нужны сроки"}, format="json"
    )

    assert missing.status_code == 400
    assert list(missing.json()) == ["comment"]
    assert returned.json()["status"] == "rework"


def test_it_lets_the_department_decline_with_a_reason(client_for, executor, routed, lead_assignment):
    client = client_for(executor)

    missing = client.post(f"/api/v1/assignments/{lead_assignment.pk}/decline", {}, format="json")
    declined = client.post(
        f"/api/v1/assignments/{lead_assignment.pk}/decline", {"reason": "Это вопрос УК"}, format="json"
    )

    assert missing.status_code == 400
    assert list(missing.json()) == ["reason"]
    assert (declined.json()["status"], declined.json()["decline_reason"]) == ("declined", "Это вопрос УК")
    assert Incident.objects.get(pk=routed.pk).status == "triage"


def test_it_refuses_information_without_text_naming_the_field(client_for, executor, lead_assignment):
    response = client_for(executor).post(
        f"/api/v1/assignments/{lead_assignment.pk}/information", {"text": "   "}, format="json"
    )

    assert response.status_code == 400
    assert list(response.json()) == ["text"]


# --- permissions: 403 and 404 --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("action", "body"),
    [
        ("take", {}),
        ("route", {"lead": 1}),
        ("no-answer", {"reason": "spam"}),
        ("close", {}),
        ("classify", {"topic": "Уборка дворов"}),
        ("answers", {"kind": "primary", "text": "Здравствуйте"}),
    ],
)
def test_it_hides_incidents_of_another_department_from_actions(
    client_for, executor_other, operator, housing, action, body
):
    incident = ingest()
    do_route(incident, actor=operator, lead=housing)

    response = client_for(executor_other).post(f"/api/v1/incidents/{incident.pk}/{action}", body, format="json")

    assert response.status_code == 404
    assert Incident.objects.get(pk=incident.pk).owner is None


def test_it_forbids_an_executor_the_services_actions_on_his_own_incident(client_for, executor, routed):
    response = client_for(executor).post(f"/api/v1/incidents/{routed.pk}/take")

    assert response.status_code == 403
    assert response.json()["code"] == "not_allowed"
    assert Incident.objects.get(pk=routed.pk).owner is None


def test_it_forbids_an_executor_to_accept_his_own_information(client_for, executor, lead_assignment):
    do_submit_information(lead_assignment, actor=executor, text="Разберёмся")

    response = client_for(executor).post(f"/api/v1/assignments/{lead_assignment.pk}/accept")

    assert response.status_code == 403
    assert Assignment.objects.get(pk=lead_assignment.pk).status == "submitted"


def test_it_hides_another_departments_assignment_from_an_executor(client_for, executor_other, lead_assignment):
    client = client_for(executor_other)

    sent = client.post(f"/api/v1/assignments/{lead_assignment.pk}/information", {"text": "Не наше"}, format="json")
    declined = client.post(f"/api/v1/assignments/{lead_assignment.pk}/decline", {"reason": "Не наше"}, format="json")

    assert (sent.status_code, declined.status_code) == (404, 404)
    assert client.get(f"/api/v1/assignments/{lead_assignment.pk}").status_code == 404
    assert Assignment.objects.get(pk=lead_assignment.pk).status == "sent"


def test_it_forbids_an_operator_to_approve_an_answer(client_for, operator, routed):
    answer = do_draft_answer(routed, actor=operator, kind="final", text="Сделано.")
    client_for(operator).post(f"/api/v1/answers/{answer.pk}/submit")

    response = client_for(operator).post(f"/api/v1/answers/{answer.pk}/approve")

    assert response.status_code == 403
    assert Answer.objects.get(pk=answer.pk).status == "approval"


@pytest.mark.parametrize(
    "path",
    [
        "/api/v1/incidents/{incident}/take",
        "/api/v1/incidents/{incident}/close",
        "/api/v1/assignments/{assignment}/accept",
        "/api/v1/assignments/{assignment}/information",
        "/api/v1/answers/{answer}/submit",
        "/api/v1/posts",
    ],
)
def test_it_gives_the_director_read_only_access(client_for, director, operator, routed, lead_assignment, path):
    answer = do_draft_answer(routed, actor=operator, kind="primary", text="Здравствуйте!")
    client = client_for(director)
    url = path.format(incident=routed.pk, assignment=lead_assignment.pk, answer=answer.pk)

    response = client.post(url, {"text": "x"}, format="json")

    assert response.status_code == 403
    assert client.get(f"/api/v1/incidents/{routed.pk}").status_code == 200
    assert client.get(f"/api/v1/assignments/{lead_assignment.pk}").status_code == 200
    assert Incident.objects.get(pk=routed.pk).owner is None


# --- the assignments list --------------------------------------------------------------------------------------


def test_it_lists_assignments_by_visibility_and_filters(
    client_for, operator, executor, executor_other, housing, roads, routed, lead_assignment
):
    other = ingest()
    do_route(other, actor=operator, lead=roads)
    do_submit_information(lead_assignment, actor=executor, text="Готово")
    do_accept_information(lead_assignment, actor=operator)
    service = client_for(operator)

    def listed(client, query: str = "") -> set[tuple[int, int]]:
        response = client.get(f"/api/v1/assignments{query}")
        assert response.status_code == 200, response.content
        return {(a["incident"], a["department"]["id"]) for a in response.json()["results"]}

    assert listed(service) == {(routed.pk, housing.pk), (routed.pk, roads.pk), (other.pk, roads.pk)}
    assert listed(client_for(executor)) == {(routed.pk, housing.pk)}
    assert listed(client_for(executor_other)) == {(routed.pk, roads.pk), (other.pk, roads.pk)}
    assert listed(service, "?status=accepted") == {(routed.pk, housing.pk)}
    assert listed(service, f"?department={roads.pk}&status=sent,rework") == {
        (routed.pk, roads.pk),
        (other.pk, roads.pk),
    }


@pytest.mark.parametrize(
    ("query", "param"),
    [("?status=done", "status"), ("?department=x", "department"), (f"?department={10**30}", "department")],
)
def test_it_refuses_invalid_assignment_filters_naming_them(client_for, operator, query, param):
    response = client_for(operator).get(f"/api/v1/assignments{query}")

    assert response.status_code == 400
    assert list(response.json()) == [param]


def test_rework_takes_the_criteria_and_refuses_unknown_ones(client_for, operator, executor, lead_assignment):
    do_submit_information(lead_assignment, actor=executor, text="Сделаем")
    client = client_for(operator)
    url = f"/api/v1/assignments/{lead_assignment.pk}/rework"
    bad = client.post(url, {"comment": "Нет сроков", "criteria": ["no_date", "lazy"]}, format="json")
    assert bad.status_code == 400 and "criteria" in bad.json()
    ok = client.post(url, {"comment": "Нет сроков", "criteria": ["no_date"]}, format="json")
    assert ok.status_code == 200
    lead_assignment.refresh_from_db()
    assert lead_assignment.rework_comments.get().criteria == ["no_date"]
