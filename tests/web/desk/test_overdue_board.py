"""The head's overdue board: overdue open assignments grouped by department, and what the service is late on."""

from __future__ import annotations

import datetime as dt

import pytest
import time_machine
from django.utils import timezone

from otklik.cases.services import do_submit_information
from otklik.cases.views.board import bar_bucket
from tests import factories

pytestmark = pytest.mark.django_db


@pytest.fixture
def parks(db):
    return factories.make_department("Управление парков", short_name="Парки")


@pytest.fixture
def late(assign, executor, housing, roads, parks):
    """Two days from now: housing 3 overdue, roads 1, parks 1 (older than roads'); housing's fourth is answered."""
    made = {
        "housing": [assign(housing, hours=h) for h in (5, 1, 3)],
        "roads": [assign(roads, hours=6)],
        "parks": [assign(parks, hours=2)],
        "housing_answered": assign(housing, hours=1),
        "housing_future": assign(housing, hours=24 * 30),
        "not_routed": factories.ingest("Никто не разобрал это обращение"),
    }
    do_submit_information(made["housing_answered"], actor=executor, text="Сделано")
    return made


def later(days: float = 20):
    return time_machine.travel(timezone.now() + dt.timedelta(days=days), tick=False)


def test_it_groups_overdue_open_assignments_by_department_the_worst_first(login, head, late, housing, roads, parks):
    with later():
        login(head)
        response = login(head).get("/board/overdue/")

    rows = response.context["departments"]
    assert [(row.department, row.count) for row in rows] == [(housing, 3), (parks, 1), (roads, 1)]
    housing_ids = [a.incident_id for a in rows[0].assignments]
    assert housing_ids == [late["housing"][i].incident_id for i in (1, 2, 0)]  # most overdue first
    assert response.context["total_assignments"] == 5
    content = response.content.decode()
    assert 'class="desk-total">5<' in content
    assert "desk-bar-fill desk-bar-100" in content
    assert "desk-bar-fill desk-bar-40" in content  # 1 of 3 rounds up to 4 tenths
    assert f'href="/incidents/{late["housing"][1].incident_id}/"' in content
    assert "time-left overdue" in content


def test_an_assignment_not_yet_due_or_already_answered_is_not_on_the_board(login, head, late):
    with later():
        response = login(head).get("/board/overdue/")
    listed = {a.pk for row in response.context["departments"] for a in row.assignments}
    assert late["housing_answered"].pk not in listed
    assert late["housing_future"].pk not in listed


def test_overdue_incidents_no_department_holds_up_are_listed_apart(login, head, late):
    with later():
        response = login(head).get("/board/overdue/")
    incident_ids = [incident.pk for incident in response.context["incidents"]]
    # Never routed, and waiting for the service to check the department's information: the service is late.
    assert late["not_routed"].pk in incident_ids
    assert late["housing_answered"].incident_id in incident_ids
    # Held up by a department: on the department's list, not here.
    assert late["housing"][0].incident_id not in incident_ids
    assert "Никто не разобрал это обращение" in response.content.decode()


def test_nothing_overdue_says_so(login, head, assign, housing):
    assign(housing, hours=5)
    response = login(head).get("/board/overdue/")
    assert response.context["departments"] == []
    assert response.context["total_assignments"] == 0


def test_the_board_refreshes_itself_as_an_htmx_partial(login, head, late):
    with later():
        response = login(head).get("/board/overdue/", HTTP_HX_REQUEST="true")
    content = response.content.decode()
    assert "<html" not in content
    assert content.lstrip().startswith('<div id="board"')
    assert 'hx-trigger="every 60s"' in content


@pytest.mark.parametrize(
    ("count", "maximum", "css"),
    [
        (3, 3, "desk-bar-100"),
        (1, 3, "desk-bar-40"),
        (1, 10, "desk-bar-10"),
        (1, 200, "desk-bar-10"),
        (0, 5, "desk-bar-0"),
    ],
)
def test_a_bar_width_is_a_class_in_tenths_rounded_up(count, maximum, css):
    assert bar_bucket(count, maximum) == css


def test_only_the_head_and_administrators_see_the_board(client, login, head, admin_user, operator, executor, director):
    assert client.get("/board/overdue/").status_code == 302
    assert login(head).get("/board/overdue/").status_code == 200
    assert login(admin_user).get("/board/overdue/").status_code == 200
    assert login(operator).get("/board/overdue/").status_code == 403
    assert login(executor).get("/board/overdue/").status_code == 403
    assert login(director).get("/board/overdue/").status_code == 403


def test_the_board_takes_a_fixed_number_of_queries(login, head, assign, housing, roads, django_assert_max_num_queries):
    assign(housing, hours=1)
    client = login(head)
    with later():
        client.force_login(head)
        from django.db import connection
        from django.test.utils import CaptureQueriesContext

        with CaptureQueriesContext(connection) as one:
            client.get("/board/overdue/")
    for _ in range(5):
        assign(housing, hours=1)
        assign(roads, hours=1)
        factories.ingest("Ещё одно необработанное обращение")
    with later(), django_assert_max_num_queries(len(one)):
        response = client.get("/board/overdue/")
    assert response.context["total_assignments"] == 11
