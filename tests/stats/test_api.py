"""GET /api/v1/stats: the contract's keys and figures, the validation of its parameters, and who may read it."""

from __future__ import annotations

import pytest
import time_machine
from knox.models import AuthToken
from rest_framework.test import APIClient

from otklik.stats.selectors import as_api, compute_stats
from tests.stats.conftest import END, NOW, START

pytestmark = pytest.mark.django_db

URL = "/api/v1/stats"
KEYS = {
    "from",
    "to",
    "posts",
    "incidents",
    "answered",
    "on_time_share",
    "first_answer_median_hours",
    "first_answer_median_calendar_hours",
    "first_answer_p90_hours",
    "first_answer_p90_calendar_hours",
    "final_answer_median_hours",
    "final_answer_median_calendar_hours",
    "final_answer_p90_hours",
    "final_answer_p90_calendar_hours",
    "overdue_now",
    "satisfied_share",
    "reopened_share",
    "rework_share",
    "not_competent_share",
    "negative_share",
    "by_group",
    "by_department",
}


def token_client(user) -> APIClient:
    _instance, key = AuthToken.objects.create(user=user)
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {key}")
    return client


def get(user, **params):
    with time_machine.travel(NOW, tick=False):
        return token_client(user).get(URL, params)


def test_the_director_reads_the_figures_of_the_period(city, director):
    response = get(director, **{"from": "2026-12-01", "to": "2026-12-03"})

    assert response.status_code == 200
    body = response.json()
    assert set(body) == KEYS
    assert (body["from"], body["to"]) == ("2026-12-01", "2026-12-03")
    assert (body["posts"], body["incidents"], body["answered"], body["overdue_now"]) == (6, 5, 2, 3)
    assert body["on_time_share"] == 0.5
    assert body["first_answer_median_hours"] == pytest.approx(3.75)
    assert body["first_answer_median_calendar_hours"] == pytest.approx(4.25)
    assert body["satisfied_share"] == 0.0  # a1 reopened after its answer, a2 no reaction yet
    assert body["rework_share"] == 0.25 and body["not_competent_share"] == 0.25
    assert all(set(row) == {"group", "incidents", "on_time_share"} for row in body["by_group"])
    assert body["by_department"] == [
        {"department": city.roads.name, "assignments": 2, "on_time_share": 0.5, "rework_share": 0.0},
        {"department": city.housing.name, "assignments": 2, "on_time_share": 1.0, "rework_share": 0.5},
    ]
    assert body == as_api(compute_stats(START, END, now=NOW))


@pytest.mark.parametrize(
    ("group", "department"),
    [("ЖКХ", ""), ("жкх", ""), (None, "ЖКХ"), (None, None)],
)
def test_a_group_and_a_department_are_found_by_id_or_name(city, operator, group, department):
    params = {"from": "2026-12-01", "to": "2026-12-03"}
    if group is not None:
        params["group"] = group
    elif department is not None:
        params["department"] = department  # the housing department's short name
    else:
        params["group"] = str(city.housing_group.pk)

    body = get(operator, **params).json()

    if department:
        assert body["incidents"] == 2 and [r["department"] for r in body["by_department"]] == [city.housing.name]
    else:
        assert body["incidents"] == 2 and [r["group"] for r in body["by_group"]] == ["ЖКХ"]


@pytest.mark.parametrize(
    ("params", "field"),
    [
        ({"to": "2026-12-03"}, "from"),
        ({"from": "2026-12-01"}, "to"),
        ({"from": "01.12.2026", "to": "2026-12-03"}, "from"),
        ({"from": "2026-12-01", "to": "2026-13-03"}, "to"),
        ({"from": "2026-12-04", "to": "2026-12-03"}, "to"),
        ({"from": "2020-01-01", "to": "2026-12-03"}, "to"),
        ({"from": "2026-12-01", "to": "2026-12-03", "group": "Нет такой"}, "group"),
        ({"from": "2026-12-01", "to": "2026-12-03", "group": "999999"}, "group"),
        ({"from": "2026-12-01", "to": "2026-12-03", "department": "Нет такого"}, "department"),
        ({"from": "2026-12-01", "to": "2026-12-03", "source": "fax"}, "source"),
    ],
)
def test_wrong_parameters_get_400_naming_the_parameter(city, head, params, field):
    response = get(head, **params)

    assert response.status_code == 400
    body = response.json()
    assert field in body
    assert body[field] and all(isinstance(m, str) and m for m in body[field])


def test_every_wrong_parameter_is_named_at_once(city, head):
    response = get(head, **{"from": "x", "group": "Нет такой"})

    assert response.status_code == 400
    assert set(response.json()) == {"from", "to", "group"}


def test_departments_are_refused_and_strangers_asked_to_log_in(city, executor, dept_head):
    params = {"from": "2026-12-01", "to": "2026-12-03"}
    assert get(executor, **params).status_code == 403
    assert get(dept_head, **params).status_code == 403
    assert APIClient().get(URL, params).status_code == 401


def test_the_service_reads_it_too(city, operator, head, admin_user):
    params = {"from": "2026-12-01", "to": "2026-12-01"}
    for user in (operator, head, admin_user):
        response = get(user, **params)
        assert response.status_code == 200
        assert response.json()["incidents"] == 3  # a1, a2, a3


def test_the_schema_documents_the_endpoint(client):
    import yaml

    schema = yaml.safe_load(client.get("/api/schema/").content)
    operation = schema["paths"]["/api/v1/stats"]["get"]
    assert {p["name"] for p in operation["parameters"]} >= {"from", "to", "group", "department", "source"}
    assert {"200", "400", "401", "403"} <= set(operation["responses"])
    body = schema["components"]["schemas"]["Stats"]["properties"]
    assert set(body) == KEYS


def test_the_number_of_queries_does_not_grow_with_the_data(city, director, operator):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    from tests.stats.test_dashboard import _more_incidents

    params = {"from": "2026-12-01", "to": "2026-12-03"}
    client = token_client(director)
    with time_machine.travel(NOW, tick=False), CaptureQueriesContext(connection) as small:
        assert client.get(URL, params).status_code == 200
    _more_incidents(operator, 5)
    with time_machine.travel(NOW, tick=False), CaptureQueriesContext(connection) as large:
        body = client.get(URL, params).json()
    assert body["incidents"] == 10
    # 16 + satisfaction (4) + on PostgreSQL the posts' join hint (otklik.stats.selectors._post_counts: its settings)
    assert len(large.captured_queries) == len(small.captured_queries) <= 24
