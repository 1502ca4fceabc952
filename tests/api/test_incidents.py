"""GET /api/v1/incidents/{id} and /api/v1/incidents: the contract's shape, visibility, filters and pages."""

from __future__ import annotations

import datetime as dt
import os

import pytest
import time_machine
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from otklik.answers.services import do_draft_answer
from otklik.cases.services import (
    do_accept_information,
    do_classify,
    do_mark_no_answer,
    do_route,
    do_submit_information,
    do_take,
    do_update_incident,
)
from otklik.intake.models import Post
from tests.factories import ingest

pytestmark = pytest.mark.django_db

INCIDENT_KEYS = [
    "id",
    "status",
    "topic",
    "group",
    "priority",
    "address",
    "lead_department",
    "owner",
    "due_at",
    "created_at",
    "merged_into",
    "posts",
    "assignments",
    "answers",
]
ASSIGNMENT_KEYS = [
    "id",
    "department",
    "role",
    "status",
    "assignee",
    "due_at",
    "information",
    "submitted_at",
    "accepted_at",
    "decline_reason",
    "attachments",
]
ANSWER_KEYS = ["id", "kind", "status", "text", "promised_date", "published_at", "link"]
POST_KEYS = ["id", "source", "external_id", "text", "author", "url", "posted_at"]


def parse(value: str) -> dt.datetime:
    return dt.datetime.fromisoformat(value)


@pytest.fixture
def worked(operator, housing, roads, executor, topics):
    """An incident with two posts, classified ★, routed to housing (+ roads), information with a file accepted,
    and an answer drafted."""
    incident = ingest(
        "Нет горячей воды, Ленина 5", external_id="p1", author_id="u1", posted_at=timezone.now() - dt.timedelta(hours=2)
    )
    ingest(
        "До сих пор нет воды",
        channel="vk",
        external_id="p2",
        thread_id="p1",
        author_id="u1",
        posted_at=timezone.now() - dt.timedelta(hours=1),
    )
    do_classify(incident, topic=topics["hot_water"], actor=operator)
    do_take(incident, actor=operator)
    do_update_incident(incident, actor=operator, address="ул. Ленина, 5")
    do_route(incident, actor=operator, lead=housing, co_executors=[roads])
    lead = incident.assignments.get(department=housing)
    do_submit_information(
        lead,
        actor=executor,
        text="Авария на сетях, подача воды до 18:00",
        files=[SimpleUploadedFile("акт.pdf", b"%PDF-1.4 test", content_type="application/pdf")],
    )
    do_accept_information(lead, actor=operator)
    do_draft_answer(incident, actor=operator, kind="primary", text="Здравствуйте! Передали в ЖКХ.")
    incident.refresh_from_db()
    return incident


def test_it_shows_an_incident_with_exactly_the_keys_of_the_contract(client_for, operator, worked, housing, roads):
    response = client_for(operator).get(f"/api/v1/incidents/{worked.pk}")

    assert response.status_code == 200
    body = response.json()
    assert list(body) == INCIDENT_KEYS
    assert body["id"] == worked.pk
    assert body["status"] == "routed"
    assert body["topic"] == "Отсутствие горячей воды"
    assert body["group"] == "ЖКХ"
    assert body["priority"] is True
    assert body["address"] == "ул. Ленина, 5"
    assert body["lead_department"] == {"id": housing.pk, "name": housing.name}
    assert body["owner"] == "operator"
    assert parse(body["due_at"]) == worked.due_at
    assert parse(body["created_at"]) == worked.created_at
    assert body["merged_into"] is None

    assert [list(p) for p in body["posts"]] == [POST_KEYS, POST_KEYS]
    assert [p["external_id"] for p in body["posts"]] == ["p1", "p2"]
    assert body["posts"][0]["source"] == "vk"
    assert body["posts"][0]["text"] == "Нет горячей воды, Ленина 5"

    assignments = {a["department"]["id"]: a for a in body["assignments"]}
    assert set(assignments) == {housing.pk, roads.pk}
    lead = assignments[housing.pk]
    assert list(lead) == ASSIGNMENT_KEYS
    assert lead["department"] == {"id": housing.pk, "name": housing.name}
    assert (lead["role"], lead["status"]) == ("lead", "accepted")
    assert lead["information"] == "Авария на сетях, подача воды до 18:00"
    assert lead["submitted_at"] and lead["accepted_at"]
    assert lead["decline_reason"] == ""
    [attachment] = lead["attachments"]
    assert list(attachment) == ["id", "name", "url", "size"]
    assert attachment["name"] == "акт.pdf"
    assert attachment["size"] == len(b"%PDF-1.4 test")
    assert attachment["url"].startswith("http://testserver/api/v1/attachments/")
    assert (assignments[roads.pk]["role"], assignments[roads.pk]["status"]) == ("co", "sent")

    [answer] = body["answers"]
    assert list(answer) == ANSWER_KEYS
    assert (answer["kind"], answer["status"], answer["published_at"], answer["link"]) == (
        "primary",
        "draft",
        None,
        "",
    )


def test_it_shows_a_new_incident_with_empty_references(client_for, operator):
    incident = ingest()

    body = client_for(operator).get(f"/api/v1/incidents/{incident.pk}/").json()

    assert (body["topic"], body["group"], body["priority"], body["lead_department"], body["owner"]) == (
        None,
        None,
        False,
        None,
        None,
    )
    assert (body["assignments"], body["answers"]) == ([], [])


def test_it_lets_the_attachment_be_downloaded_by_those_who_see_it(client_for, worked, executor, executor_other):
    url = client_for(executor).get(f"/api/v1/incidents/{worked.pk}").json()["assignments"][0]["attachments"][0]["url"]

    allowed = client_for(executor).get(url)
    other = client_for(executor_other).get(url)

    assert allowed.status_code == 200
    assert b"".join(allowed.streaming_content) == b"%PDF-1.4 test"
    # The roads department is a co-executor: it sees the incident, but not the housing department's assignment.
    assert other.status_code == 404


def test_it_answers_404_for_an_unknown_incident(client_for, operator):
    assert client_for(operator).get("/api/v1/incidents/999999").status_code == 404
    assert client_for(operator).get("/api/v1/incidents/abc").status_code == 404


# --- visibility -------------------------------------------------------------------------------------------


def test_it_hides_an_incident_from_an_executor_of_another_department(client_for, operator, housing, executor_other):
    incident = ingest()
    do_route(incident, actor=operator, lead=housing)

    response = client_for(executor_other).get(f"/api/v1/incidents/{incident.pk}")

    assert response.status_code == 404
    assert "detail" in response.json()


def test_it_shows_an_executor_the_incidents_of_his_department(client_for, operator, housing, executor, dept_head):
    incident = ingest()
    do_route(incident, actor=operator, lead=housing)

    assert client_for(executor).get(f"/api/v1/incidents/{incident.pk}").status_code == 200
    assert client_for(dept_head).get(f"/api/v1/incidents/{incident.pk}").status_code == 200


def test_it_shows_an_executor_only_his_departments_assignments(client_for, worked, executor_other, roads):
    body = client_for(executor_other).get(f"/api/v1/incidents/{worked.pk}").json()

    assert [a["department"]["id"] for a in body["assignments"]] == [roads.pk]


def test_it_hides_the_incident_once_the_departments_assignment_is_cancelled(
    client_for, operator, housing, roads, executor_other
):
    incident = ingest()
    do_route(incident, actor=operator, lead=roads)
    assert client_for(executor_other).get(f"/api/v1/incidents/{incident.pk}").status_code == 200

    do_route(incident, actor=operator, lead=housing)

    assert client_for(executor_other).get(f"/api/v1/incidents/{incident.pk}").status_code == 404


def test_it_lists_for_an_executor_only_his_departments_incidents(client_for, operator, housing, roads, executor_other):
    mine = ingest()
    do_route(mine, actor=operator, lead=roads)
    not_mine = ingest()
    do_route(not_mine, actor=operator, lead=housing)
    ingest()  # not routed at all

    body = client_for(executor_other).get("/api/v1/incidents").json()

    assert body["count"] == 1
    assert [i["id"] for i in body["results"]] == [mine.pk]


def test_it_shows_the_director_every_incident(client_for, operator, housing, director):
    routed = ingest()
    do_route(routed, actor=operator, lead=housing)
    fresh = ingest()

    body = client_for(director).get("/api/v1/incidents").json()

    assert {i["id"] for i in body["results"]} == {routed.pk, fresh.pk}


# --- list filters -----------------------------------------------------------------------------------------


def ids(response) -> list[int]:
    assert response.status_code == 200, response.content
    return [item["id"] for item in response.json()["results"]]


def test_it_lists_newest_first(client_for, operator):
    now = timezone.now()
    with time_machine.travel(now - dt.timedelta(hours=3)):
        old = ingest()
    with time_machine.travel(now - dt.timedelta(hours=1)):
        new = ingest()

    assert ids(client_for(operator).get("/api/v1/incidents")) == [new.pk, old.pk]


def test_it_filters_by_status_one_or_several(client_for, operator, housing):
    fresh = ingest()
    routed = ingest()
    do_route(routed, actor=operator, lead=housing)
    spam = ingest()
    do_mark_no_answer(spam, actor=operator, reason="spam")
    client = client_for(operator)

    assert ids(client.get("/api/v1/incidents?status=routed")) == [routed.pk]
    assert set(ids(client.get("/api/v1/incidents?status=new,no_answer"))) == {fresh.pk, spam.pk}


def test_it_refuses_an_unknown_status_naming_the_parameter(client_for, operator):
    response = client_for(operator).get("/api/v1/incidents?status=open")

    assert response.status_code == 400
    assert list(response.json()) == ["status"]
    assert "open" in response.json()["status"][0]


def test_it_filters_by_group_name(client_for, operator, topics):
    water = ingest()
    do_classify(water, topic=topics["hot_water"], actor=operator)
    pothole = ingest()
    do_classify(pothole, topic=topics["potholes"], actor=operator)
    client = client_for(operator)

    assert ids(client.get("/api/v1/incidents", {"group": "ЖКХ"})) == [water.pk]
    assert ids(client.get("/api/v1/incidents", {"group": "Дороги"})) == [pothole.pk]


def test_it_refuses_an_unknown_group_naming_the_parameter(client_for, operator, topics):
    response = client_for(operator).get("/api/v1/incidents", {"group": "Космос"})

    assert response.status_code == 400
    assert list(response.json()) == ["group"]


def test_it_filters_by_department_as_lead_or_co_executor(client_for, operator, housing, roads):
    led = ingest()
    do_route(led, actor=operator, lead=roads)
    co = ingest()
    do_route(co, actor=operator, lead=housing, co_executors=[roads])
    other = ingest()
    do_route(other, actor=operator, lead=housing)
    client = client_for(operator)

    assert set(ids(client.get(f"/api/v1/incidents?department={roads.pk}"))) == {led.pk, co.pk}
    assert set(ids(client.get(f"/api/v1/incidents?department={housing.pk}"))) == {co.pk, other.pk}


@pytest.mark.parametrize("value", ["ЖКХ", "1.5", str(10**30)])
def test_it_refuses_a_department_that_is_not_an_integer_id(client_for, operator, value):
    response = client_for(operator).get(f"/api/v1/incidents?department={value}")

    assert response.status_code == 400
    assert list(response.json()) == ["department"]


def test_it_filters_overdue_as_open_and_past_due(client_for, operator):
    with time_machine.travel(timezone.now() - dt.timedelta(days=10)):
        late = ingest()
        late_but_closed = ingest()
        do_mark_no_answer(late_but_closed, actor=operator, reason="spam")
    on_time = ingest()
    client = client_for(operator)

    assert ids(client.get("/api/v1/incidents?overdue=true")) == [late.pk]
    assert set(ids(client.get("/api/v1/incidents?overdue=false"))) == {on_time.pk, late_but_closed.pk}


@pytest.mark.parametrize("value", ["yes", "1", "maybe"])
def test_it_refuses_overdue_other_than_true_or_false(client_for, operator, value):
    response = client_for(operator).get(f"/api/v1/incidents?overdue={value}")

    assert response.status_code == 400
    assert list(response.json()) == ["overdue"]


def test_it_searches_the_posts_text_the_address_and_the_id(client_for, operator):
    water = ingest("Нет горячей воды третий день")
    pothole = ingest("Огромная яма у школы")
    do_update_incident(pothole, actor=operator, address="ул. Мира, 12")
    client = client_for(operator)

    assert ids(client.get("/api/v1/incidents", {"q": "горячей воды"})) == [water.pk]
    assert ids(client.get("/api/v1/incidents", {"q": "Мира"})) == [pothole.pk]
    assert ids(client.get("/api/v1/incidents", {"q": f"#{water.pk}"})) == [water.pk]
    assert ids(client.get("/api/v1/incidents", {"q": "самолёт"})) == []


@pytest.mark.postgres
@pytest.mark.skipif(os.environ.get("OTKLIK_DB") != "postgres", reason="Russian full-text search is PostgreSQL's")
def test_it_finds_other_word_forms_on_postgresql(client_for, operator):
    pothole = ingest("Огромная яма у школы")
    ingest("Нет горячей воды")

    assert ids(client_for(operator).get("/api/v1/incidents", {"q": "ямами"})) == [pothole.pk]


def test_it_combines_filters(client_for, operator, housing, topics):
    match = ingest("Нет горячей воды")
    do_classify(match, topic=topics["hot_water"], actor=operator)
    do_route(match, actor=operator, lead=housing)
    wrong_status = ingest("Нет горячей воды")
    do_classify(wrong_status, topic=topics["hot_water"], actor=operator)

    response = client_for(operator).get(
        "/api/v1/incidents", {"status": "routed", "group": "ЖКХ", "department": housing.pk, "q": "воды"}
    )

    assert ids(response) == [match.pk]


# --- pages ------------------------------------------------------------------------------------------------


def test_it_pages_the_list(client_for, operator):
    made = [ingest() for _ in range(5)]
    client = client_for(operator)

    first = client.get("/api/v1/incidents?page_size=2").json()
    last = client.get("/api/v1/incidents?page_size=2&page=3").json()

    assert list(first) == ["count", "next", "previous", "results"]
    assert first["count"] == 5
    assert [i["id"] for i in first["results"]] == [made[4].pk, made[3].pk]
    assert first["previous"] is None
    assert "page=2" in first["next"]
    assert [i["id"] for i in last["results"]] == [made[0].pk]
    assert last["next"] is None
    assert client.get("/api/v1/incidents?page_size=2&page=4").status_code == 404


def test_it_clamps_the_page_size_to_200(client_for, operator):
    for _ in range(201):
        ingest()

    body = client_for(operator).get("/api/v1/incidents?page_size=1000").json()

    assert body["count"] == 201
    assert len(body["results"]) == 200


@pytest.mark.parametrize(("param", "value"), [("page_size", "abc"), ("page_size", "0"), ("page", "-1"), ("page", "x")])
def test_it_refuses_a_page_parameter_that_is_not_a_positive_integer(client_for, operator, param, value):
    ingest()

    response = client_for(operator).get(f"/api/v1/incidents?{param}={value}")

    assert response.status_code == 400
    assert list(response.json()) == [param]


def test_it_lists_without_queries_per_incident(
    client_for, operator, housing, roads, executor, topics, django_assert_max_num_queries
):
    def make_worked_incident(n: int) -> None:
        incident = ingest(f"Нет воды, дом {n}", author_id=f"u{n}")
        ingest("Ещё пост", thread_id=Post.objects.get(incident=incident).external_id, author_id=f"u{n}")
        do_classify(incident, topic=topics["hot_water"], actor=operator)
        do_take(incident, actor=operator)
        do_route(incident, actor=operator, lead=housing, co_executors=[roads])
        assignment = incident.assignments.get(department=housing)
        do_submit_information(assignment, actor=executor, text="Инфо", files=[SimpleUploadedFile(f"{n}.txt", b"x")])
        do_draft_answer(incident, actor=operator, kind="primary", text="Здравствуйте!")

    client = client_for(operator)
    make_worked_incident(1)
    with CaptureQueriesContext(connection) as one:
        client.get("/api/v1/incidents")
    for n in range(2, 8):
        make_worked_incident(n)

    with django_assert_max_num_queries(len(one)):
        body = client.get("/api/v1/incidents").json()

    assert body["count"] == 7
    assert all(len(i["assignments"]) == 2 and i["answers"] and i["posts"] for i in body["results"])
    assert len(one) <= 12
