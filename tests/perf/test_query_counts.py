"""Query counts per page do not grow with the rows shown (no N+1): the same count for 5 rows as for 25.

The pages measured at city scale (docs/BENCHMARKS.md): the inbox with its filters and search, the incident card,
the dashboard, the executor's desk and the API's incident list.
"""

from __future__ import annotations

from collections.abc import Callable

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext

from otklik.accounts.models import User
from otklik.cases.models import Incident
from otklik.cases.services import do_merge, do_route, do_take
from tests.factories import ingest

pytestmark = pytest.mark.django_db


def queries(client: Client, url: str) -> int:
    client.get(url)  # warm: the session, content types, per-process caches
    with CaptureQueriesContext(connection) as captured:
        response = client.get(url)
    assert response.status_code == 200, (url, response.status_code)
    return len(captured.captured_queries)


def grow(make: Callable[[int], None], client: Client, urls: list[str]) -> None:
    """5 rows, count each page's queries; 20 more rows, count again: equal."""
    for n in range(5):
        make(n)
    few = {url: queries(client, url) for url in urls}
    for n in range(5, 25):
        make(n)
    many = {url: queries(client, url) for url in urls}
    assert many == few


@pytest.fixture
def as_user(client: Client) -> Callable[[User], Client]:
    def login(user: User) -> Client:
        client.force_login(user)
        return client

    return login


def worked_incident(operator: User, housing) -> Callable[[int], None]:
    def make(n: int) -> None:
        incident = ingest(f"Нет горячей воды, дом {n}", channel="vk" if n % 2 else "telegram", author_id=f"u{n}")
        do_take(incident, actor=operator)
        if n % 2:
            do_route(incident, actor=operator, lead=housing)

    return make


INBOX_URLS = [
    "/inbox/",
    "/inbox/?view=routed",
    "/inbox/?view=mine&sort=created",
    "/inbox/?channel=vk",
    "/inbox/?q=воды",
    "/inbox/?view=overdue",
    # The dashboard's click-through: the list first, its counters after.
    "/inbox/?posts_from=2020-01-01",
    "/inbox/counts/?posts_from=2020-01-01",
]


def test_the_inbox_takes_as_many_queries_for_25_rows_as_for_5(as_user, operator, housing):
    department = f"/inbox/?department={housing.pk}"
    grow(worked_incident(operator, housing), as_user(operator), [*INBOX_URLS, department])


def test_the_dashboard_takes_as_many_queries_for_25_incidents_as_for_5(as_user, operator, director, housing):
    grow(worked_incident(operator, housing), as_user(director), ["/dashboard/?period=month", "/dashboard/"])


def test_the_api_list_takes_as_many_queries_for_25_incidents_as_for_5(as_user, operator, housing):
    grow(worked_incident(operator, housing), as_user(operator), ["/api/v1/incidents/", "/api/v1/incidents/?page=1"])


def test_the_desk_takes_as_many_queries_for_25_assignments_as_for_5(client, operator, executor, housing):
    def make(n: int) -> None:
        do_route(ingest(f"Течёт крыша, дом {n}", author_id=f"a{n}"), actor=operator, lead=housing)

    client.force_login(executor)
    grow(make, client, ["/assignments/"])


def test_the_card_takes_as_many_queries_for_25_posts_as_for_5(as_user, operator, housing):
    incident = ingest("Нет горячей воды, Ленина 5", author_id="first")
    do_route(incident, actor=operator, lead=housing)

    def make(n: int) -> None:
        do_merge(ingest(f"И у нас нет воды, дом {n}", author_id=f"m{n}"), into=incident, actor=operator)

    grow(make, as_user(operator), [f"/incidents/{incident.pk}/"])
    assert Incident.objects.get(pk=incident.pk).posts.count() == 26
