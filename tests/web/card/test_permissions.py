"""Who may see the card and who may act on it: the service acts, the director and the department read, others 404."""

from __future__ import annotations

import re

import pytest

from otklik.cases.models import Incident
from otklik.cases.services import do_cancel_assignment, do_route, do_submit_information
from tests.web.card.conftest import login

pytestmark = pytest.mark.django_db

ACTIONS = [
    "take/",
    "classify/",
    "details/",
    "no-answer/",
    "restore/",
    "merge/",
    "split/",
    "unmerge/",
    "route/",
    "answers/",
    "close/",
    "reopen/",
]


def card_forms(content: str) -> list[str]:
    """The forms inside the card (the navigation bar's logout form is not the card's)."""
    card = content[content.index('<div id="card"') :]
    return re.findall(r"<form[^>]*>", card)


@pytest.fixture
def routed(incident, operator, housing, roads, executor, executor_other) -> Incident:
    """Housing leads, roads helps; both departments have sent their information."""
    for assignment in do_route(incident, actor=operator, lead=housing, co_executors=[roads]):
        author = executor if assignment.department == housing else executor_other
        do_submit_information(assignment, actor=author, text=f"Сведения от {assignment.department.name}")
    return incident


def test_an_anonymous_visitor_is_sent_to_log_in(client, incident):
    response = client.get(f"/incidents/{incident.pk}/")

    assert response.status_code == 302
    assert response["Location"].startswith("/login/")


def test_the_director_reads_the_card_without_any_form(client, director, routed):
    content = login(client, director).get(f"/incidents/{routed.pk}/").content.decode()

    assert "Третий день нет горячей воды" in content
    assert "Сведения от Департамент ЖКХ" in content
    assert card_forms(content) == []
    assert "hx-post" not in content
    assert "?edit=" not in content


@pytest.mark.parametrize("action", ACTIONS)
def test_the_director_cannot_act_on_the_card(client, director, routed, action):
    response = login(client, director).post(f"/incidents/{routed.pk}/{action}", {"note": "x", "reason": "spam"})

    assert response.status_code == 403


def test_the_director_cannot_accept_information(client, director, routed):
    assignment = routed.assignments.first()

    response = login(client, director).post(f"/incidents/{routed.pk}/assignments/{assignment.pk}/accept/")

    assignment.refresh_from_db()
    assert response.status_code == 403
    assert assignment.status == "submitted"


def test_an_executor_of_another_department_gets_404(client, incident, operator, housing, executor_other):
    do_route(incident, actor=operator, lead=housing)

    response = login(client, executor_other).get(f"/incidents/{incident.pk}/")

    assert response.status_code == 404


def test_an_executor_whose_assignment_was_cancelled_gets_404(client, incident, operator, housing, roads, executor):
    (assignment,) = do_route(incident, actor=operator, lead=housing)
    do_route(incident, actor=operator, lead=roads)
    assignment.refresh_from_db()
    assert assignment.status == "cancelled"

    response = login(client, executor).get(f"/incidents/{incident.pk}/")

    assert response.status_code == 404


def test_an_executor_of_the_department_reads_the_card_and_is_sent_to_his_assignment(client, executor, routed, housing):
    own = routed.assignments.get(department=housing)

    content = login(client, executor).get(f"/incidents/{routed.pk}/").content.decode()

    assert "Третий день нет горячей воды" in content
    assert "Сведения от Департамент ЖКХ" in content
    assert "Сведения от Управление дорог и благоустройства" not in content  # another department's information
    assert f'href="/assignments/{own.pk}/"' in content
    assert card_forms(content) == []
    assert "hx-post" not in content


def test_an_executor_cannot_act_on_the_card(client, executor, routed, housing):
    own = routed.assignments.get(department=housing)
    client = login(client, executor)

    accepted = client.post(f"/incidents/{routed.pk}/assignments/{own.pk}/accept/")
    taken = client.post(f"/incidents/{routed.pk}/take/")

    own.refresh_from_db()
    routed.refresh_from_db()
    assert (accepted.status_code, taken.status_code) == (403, 403)
    assert own.status == "submitted"
    assert routed.owner is None


def test_an_operator_cannot_act_on_an_assignment_of_another_incident(as_operator, routed, hot_water):
    from tests.factories import ingest

    other = ingest("Яма на дороге")
    assignment = routed.assignments.first()

    response = as_operator.post(f"/incidents/{other.pk}/assignments/{assignment.pk}/accept/")

    assignment.refresh_from_db()
    assert response.status_code == 404
    assert assignment.status == "submitted"


def test_a_get_on_an_action_is_not_allowed(as_operator, incident):
    assert as_operator.get(f"/incidents/{incident.pk}/take/").status_code == 405


def test_a_missing_incident_is_404(as_operator):
    assert as_operator.get("/incidents/999999/").status_code == 404


def test_a_cancelled_assignment_stays_on_the_card_dimmed(as_operator, operator, routed, roads):
    do_cancel_assignment(routed.assignments.get(department=roads), actor=operator, reason="Не нужен")

    content = as_operator.get(f"/incidents/{routed.pk}/").content.decode()

    assert "assignment-ended" in content
