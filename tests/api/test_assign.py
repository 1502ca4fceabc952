"""POST /api/v1/assignments/{id}/assign: the department head gives an assignment to one of its executors."""

from __future__ import annotations

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from otklik.cases.models import Assignment
from otklik.cases.services import (
    do_accept_information,
    do_assign_executor,
    do_cancel_assignment,
    do_route,
    do_submit_information,
)
from otklik.notifications.models import Notification
from tests.factories import ingest, make_user

pytestmark = pytest.mark.django_db


@pytest.fixture
def assignment(operator, housing, roads, executor, dept_head, executor_other) -> Assignment:
    incident = ingest("Третий день нет горячей воды на улице Ленина 5")
    do_route(incident, actor=operator, lead=housing, co_executors=[roads])
    return incident.assignments.get(department=housing)


def assign_url(assignment: Assignment) -> str:
    return f"/api/v1/assignments/{assignment.pk}/assign"


def assignee_of(assignment: Assignment) -> str | None:
    assignment.refresh_from_db()
    return assignment.assignee.username if assignment.assignee else None


# --- it works -----------------------------------------------------------------------------------------------


def test_the_department_head_gives_the_assignment_to_an_executor(client_for, dept_head, assignment):
    response = client_for(dept_head).post(assign_url(assignment), {"assignee": "executor"}, format="json")

    assert response.status_code == 200
    body = response.json()
    assert (body["id"], body["incident"], body["assignee"]) == (assignment.pk, assignment.incident_id, "executor")
    assert assignee_of(assignment) == "executor"


def test_it_shows_the_assignee_in_the_assignment_and_in_its_incident(client_for, operator, dept_head, assignment):
    do_assign_executor(assignment, actor=dept_head, assignee=assignment.department.users.get(username="executor"))
    client = client_for(operator)

    standalone = client.get(f"/api/v1/assignments/{assignment.pk}").json()
    nested = client.get(f"/api/v1/incidents/{assignment.incident_id}").json()["assignments"]

    assert standalone["assignee"] == "executor"
    assert {a["id"]: a["assignee"] for a in nested} == {
        assignment.pk: "executor",
        assignment.incident.assignments.exclude(pk=assignment.pk).get().pk: None,
    }


def test_a_new_assignment_has_no_assignee(client_for, executor, assignment):
    assert client_for(executor).get(f"/api/v1/assignments/{assignment.pk}").json()["assignee"] is None


def test_null_gives_the_assignment_back_to_the_whole_department(client_for, dept_head, assignment):
    client = client_for(dept_head)
    client.post(assign_url(assignment), {"assignee": "executor"}, format="json")

    response = client.post(f"{assign_url(assignment)}/", {"assignee": None}, format="json")

    assert response.status_code == 200
    assert response.json()["assignee"] is None
    assert assignee_of(assignment) is None


def test_an_empty_username_is_read_as_null_like_an_empty_choice_of_a_form(client_for, dept_head, assignment):
    client = client_for(dept_head)
    client.post(assign_url(assignment), {"assignee": "executor"}, format="json")

    response = client.post(assign_url(assignment), {"assignee": ""}, format="json")

    assert response.status_code == 200
    assert assignee_of(assignment) is None


def test_the_service_may_assign_too(client_for, operator, assignment):
    response = client_for(operator).post(assign_url(assignment), {"assignee": "dept_head"}, format="json")

    assert response.status_code == 200
    assert response.json()["assignee"] == "dept_head"


def test_the_executor_hears_of_it_in_the_app(client_for, dept_head, executor, assignment):
    client_for(dept_head).post(assign_url(assignment), {"assignee": "executor"}, format="json")

    titles = [n["title"] for n in client_for(executor).get("/api/v1/notifications").json()["results"]]

    assert len(titles) == 2  # the department's new assignment, then his own
    assert str(assignment.incident_id) in titles[0]
    assert Notification.objects.filter(recipient=executor).count() == 2


# --- who may not --------------------------------------------------------------------------------------------


def test_an_executor_cannot_assign(client_for, executor, assignment):
    response = client_for(executor).post(assign_url(assignment), {"assignee": "executor"}, format="json")

    assert response.status_code == 403
    assert response.json()["code"] == "not_allowed"
    assert assignee_of(assignment) is None


def test_an_executor_is_refused_before_his_input_is_read(client_for, executor, assignment):
    response = client_for(executor).post(assign_url(assignment), {"assignee": "nobody"}, format="json")

    assert response.status_code == 403


def test_the_director_cannot_assign(client_for, director, assignment):
    response = client_for(director).post(assign_url(assignment), {"assignee": "executor"}, format="json")

    assert response.status_code == 403
    assert assignee_of(assignment) is None


def test_another_department_does_not_see_the_assignment(client_for, executor_other, roads, assignment):
    roads_head = make_user("roads_head", role="dept_head", department=roads)

    for user in (executor_other, roads_head):
        response = client_for(user).post(assign_url(assignment), {"assignee": user.username}, format="json")
        assert response.status_code == 404
    assert assignee_of(assignment) is None


def test_a_head_of_the_co_executor_department_cannot_assign_the_lead_assignment(client_for, roads, assignment):
    """The roads head sees the incident (roads is a co-executor) but only his own department's assignment."""
    roads_head = make_user("roads_head", role="dept_head", department=roads)

    response = client_for(roads_head).post(assign_url(assignment), {"assignee": "executor"}, format="json")

    assert response.status_code == 404


# --- invalid input ------------------------------------------------------------------------------------------


def test_an_executor_of_another_department_cannot_be_the_assignee(client_for, dept_head, executor_other, assignment):
    response = client_for(dept_head).post(assign_url(assignment), {"assignee": "executor_roads"}, format="json")

    assert response.status_code == 400
    assert list(response.json()) == ["assignee"]
    assert assignee_of(assignment) is None


def test_a_user_outside_the_departments_cannot_be_the_assignee(client_for, dept_head, operator, assignment):
    response = client_for(dept_head).post(assign_url(assignment), {"assignee": "operator"}, format="json")

    assert response.status_code == 400
    assert list(response.json()) == ["assignee"]


@pytest.mark.parametrize("body", [{"assignee": "nobody"}, {"assignee": 5}, {"assignee": ["executor"]}, {}])
def test_it_answers_400_naming_the_field_to_an_unknown_or_missing_username(client_for, dept_head, assignment, body):
    response = client_for(dept_head).post(assign_url(assignment), body, format="json")

    assert response.status_code == 400
    assert list(response.json()) == ["assignee"]
    assert assignee_of(assignment) is None


def test_an_unknown_username_is_named_in_the_message(client_for, dept_head, assignment):
    response = client_for(dept_head).post(assign_url(assignment), {"assignee": "nobody"}, format="json")

    assert "nobody" in response.json()["assignee"][0]


def test_a_deactivated_executor_cannot_be_the_assignee(client_for, dept_head, housing, assignment):
    make_user("gone", role="executor", department=housing, is_active=False)

    response = client_for(dept_head).post(assign_url(assignment), {"assignee": "gone"}, format="json")

    assert response.status_code == 400
    assert list(response.json()) == ["assignee"]


def test_it_refuses_an_unknown_field_naming_it(client_for, dept_head, assignment):
    response = client_for(dept_head).post(assign_url(assignment), {"assignee": "executor", "who": 1}, format="json")

    assert response.status_code == 400
    assert list(response.json()) == ["who"]


def test_an_accepted_assignment_may_still_be_reassigned(client_for, operator, dept_head, executor, assignment):
    do_submit_information(assignment, actor=executor, text="Воду дали")
    do_accept_information(assignment, actor=operator)

    response = client_for(dept_head).post(assign_url(assignment), {"assignee": "executor"}, format="json")

    assert response.status_code == 200
    assert (response.json()["status"], response.json()["assignee"]) == ("accepted", "executor")


def test_a_cancelled_assignment_cannot_be_reassigned(client_for, operator, assignment):
    do_cancel_assignment(assignment, actor=operator, reason="Ошибочно направлено")

    response = client_for(operator).post(assign_url(assignment), {"assignee": "executor"}, format="json")

    assert response.status_code == 409
    assert response.json()["code"] == "illegal_transition"


# --- queries ------------------------------------------------------------------------------------------------


def test_the_incident_list_loads_assignees_without_a_query_each(
    client_for, operator, housing, roads, dept_head, django_assert_max_num_queries
):
    executors = [make_user(f"executor{n}", role="executor", department=housing) for n in range(1, 6)]

    def assigned_incident(n: int) -> None:
        incident = ingest(f"Нет воды, дом {n}", author_id=f"u{n}")
        do_route(incident, actor=operator, lead=housing, co_executors=[roads])
        do_assign_executor(incident.assignments.get(department=housing), actor=dept_head, assignee=executors[n - 1])

    client = client_for(operator)
    assigned_incident(1)
    with CaptureQueriesContext(connection) as one:
        client.get("/api/v1/incidents")
    for n in range(2, 6):
        assigned_incident(n)

    with django_assert_max_num_queries(len(one)):
        body = client.get("/api/v1/incidents").json()

    assert sorted(a["assignee"] for i in body["results"] for a in i["assignments"] if a["assignee"]) == [
        f"executor{n}" for n in range(1, 6)
    ]
