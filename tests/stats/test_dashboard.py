"""The dashboard page: who sees it, its periods and filters, its links, and a fixed number of queries."""

from __future__ import annotations

import re
from html import unescape
from urllib.parse import parse_qs, urlsplit

import pytest
import time_machine
from django.db import connection
from django.test.utils import CaptureQueriesContext

from otklik.cases.services import do_classify, do_route
from otklik.org.models import Topic, TopicGroup
from otklik.stats.charts import Column, HBar, Point, Segment, line_with_reference, ranked_bars, stacked_columns
from tests.factories import make_department
from tests.stats.conftest import NOW, at, ingest

pytestmark = pytest.mark.django_db

PERIOD = "?period=custom&date_from=2026-12-01&date_to=2026-12-03"


def page(client, user, query: str = PERIOD):
    client.force_login(user)
    with time_machine.travel(NOW, tick=False):
        return client.get(f"/dashboard/{query}")


def tile_values(html: str) -> list[str]:
    return [unescape(v).strip() for v in re.findall(r"data-tile>([^<]*)<", html)]


def test_the_director_sees_the_figures_and_charts(client, city, director):
    response = page(client, director)

    assert response.status_code == 200
    html = response.content.decode()
    values = tile_values(html)
    assert values[:4] == ["6", "5", "2", "50 %"]  # posts, incidents, answered, on time
    assert "3" in values  # overdue now
    assert html.count('<svg class="stats-chart"') == 5
    assert "01.12.2026 — 03.12.2026" in html


def test_the_service_sees_it_and_the_departments_do_not(client, city, head, operator, executor, dept_head):
    assert page(client, head).status_code == 200
    assert page(client, operator).status_code == 200
    assert page(client, executor).status_code == 403
    assert page(client, dept_head).status_code == 403
    client.logout()
    assert client.get("/dashboard/").status_code == 302


def test_the_director_lands_on_the_dashboard(client, director):
    client.force_login(director)
    assert client.get("/")["Location"] == "/dashboard/"


@pytest.mark.parametrize("query", ["", "?period=today", "?period=week", "?period=month", "?period=quarter"])
def test_every_period_renders(client, city, director, query):
    response = page(client, director, query)
    assert response.status_code == 200
    assert "data-form-errors" not in response.content.decode()


def test_a_wrong_period_is_explained_not_a_500(client, city, director):
    response = page(client, director, "?period=custom&date_from=2026-12-05&date_to=2026-12-01")
    assert response.status_code == 200
    assert "data-form-errors" in response.content.decode()


def test_the_filters_narrow_the_figures(client, city, director):
    html = page(client, director, f"{PERIOD}&group={city.housing_group.pk}&source=vk").content.decode()
    assert tile_values(html)[1] == "2"  # a1, a2


def test_the_overdue_tile_opens_the_same_incidents_in_the_inbox(client, city, operator):
    html = page(client, operator).content.decode()
    link = unescape(re.search(r'href="([^"]*view=overdue[^"]*)"', html).group(1))
    with time_machine.travel(NOW, tick=False):
        inbox = client.get(link).content.decode()
    listed = set(re.findall(r'data-id="(\d+)"', inbox))
    expected = {str(city.incidents[name].pk) for name in ("a3", "a4", "old")}
    assert listed == expected


def test_a_day_bar_opens_the_incidents_of_that_day_and_group(client, city, operator):
    html = page(client, operator).content.decode()
    wanted = {"group": [str(city.housing_group.pk)], "date_from": ["2026-12-01"], "date_to": ["2026-12-01"]}
    links = [unescape(h) for h in re.findall(r'<a href="([^"]*)"><title>', html)]
    link = next(h for h in links if wanted.items() <= parse_qs(urlsplit(h).query).items())
    with time_machine.travel(NOW, tick=False):
        inbox = client.get(link).content.decode()
    listed = set(re.findall(r'data-id="(\d+)"', inbox))
    assert listed == {str(city.incidents["a1"].pk), str(city.incidents["a2"].pk)}


def _more_incidents(operator, n: int) -> None:
    """More groups, departments and places: the number of queries must not grow with them."""
    for i in range(n):
        group = TopicGroup.objects.create(name=f"Группа {i}")
        topic = Topic.objects.create(name=f"Тема {i}", group=group)
        department = make_department(f"Отдел {i}")
        with time_machine.travel(at(2026, 12, 2, 12, i), tick=False):
            incident = ingest(f"Ещё сообщение {i}", external_id=f"more-{i}")
            do_classify(incident, topic=topic, actor=operator)
            do_route(incident, actor=operator, lead=department, due_hours=1)


def test_the_dashboard_needs_a_fixed_number_of_queries(client, city, director, operator, django_assert_max_num_queries):
    client.force_login(director)
    with time_machine.travel(NOW, tick=False), CaptureQueriesContext(connection) as small:
        assert client.get(f"/dashboard/{PERIOD}").status_code == 200
    _more_incidents(operator, 6)
    with time_machine.travel(NOW, tick=False), django_assert_max_num_queries(26) as large:
        assert client.get(f"/dashboard/{PERIOD}").status_code == 200
    assert len(large.captured_queries) == len(small.captured_queries)


def test_the_charts_escape_text_and_link_every_bar():
    svg = stacked_columns(
        [Column("01.12", [Segment(2, "#000", "/inbox/?a=1&b=2", "<b>ЖКХ</b>: 2")]), Column("02.12")], label="x"
    )
    assert '<a href="/inbox/?a=1&amp;b=2"><title>&lt;b&gt;ЖКХ&lt;/b&gt;: 2</title><rect' in svg
    line = line_with_reference(
        [Point("01.12", 0.5, "/a", "t"), Point("02.12", None, "/b", "t"), Point("03.12", 0.25, "/c", "t")],
        label="mood",
        reference=0.4,
        reference_label="base",
        as_percent=True,
    )
    assert line.count("<circle") == 2 and "base: 40 %" in line and 'href="/b"' not in line
    bars = ranked_bars([HBar("Отдел", 0.5, "50 %", "/d", "t")], label="r", peak=1.0)
    assert 'href="/d"' in bars and "50 %" in bars


def test_a_filter_change_by_htmx_gets_only_the_figures(client, city, director):
    client.force_login(director)
    with time_machine.travel(NOW, tick=False):
        response = client.get(f"/dashboard/{PERIOD}", headers={"HX-Request": "true"})
    html = response.content.decode()
    assert response.status_code == 200
    assert html.lstrip().startswith('<div id="dashboard">')
    assert "<nav" not in html and tile_values(html)[1] == "5"
