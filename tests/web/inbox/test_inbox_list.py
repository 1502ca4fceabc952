"""The inbox list: saved views and their counters, filters and search in the URL, sorting, paging, HTMX, roles."""

from __future__ import annotations

import datetime as dt
import re

import pytest
from django.utils import timezone

from otklik.cases.services import do_classify, do_route, do_update_incident
from otklik.org.models import Territory
from tests.factories import ingest

pytestmark = pytest.mark.django_db


def counters(html: str) -> dict[str, int]:
    return {code: int(n) for code, n in re.findall(r'data-count="(\w+)">(\d+)<', html)}


def row_ids(html: str) -> list[int]:
    return [int(n) for n in re.findall(r'<tr class="inbox-row[^"]*" data-href="/incidents/\d+/" data-id="(\d+)"', html)]


def test_it_counts_each_saved_view_in_one_go(login, operator, world):
    html = login(operator).get("/inbox/").content.decode()
    assert counters(html) == {
        "new": 2,
        "triage": 1,
        "routed": 2,
        "ready": 2,
        "overdue": 1,
        "mine": 1,
        "all": 8,
    }


@pytest.mark.parametrize(
    ("view", "expected"),
    [
        ("new", ["new", "new_overdue"]),
        ("triage", ["triage"]),
        ("routed", ["routed", "routed_mine"]),
        ("ready", ["answering", "approval"]),
        ("overdue", ["new_overdue"]),
        ("mine", ["routed_mine"]),
    ],
)
def test_each_saved_view_lists_its_incidents(login, operator, world, view, expected):
    html = login(operator).get(f"/inbox/?view={view}").content.decode()
    assert sorted(row_ids(html)) == sorted(getattr(world, name).pk for name in expected)


def test_the_all_view_lists_everything_newest_first(login, operator, world):
    ids = row_ids(login(operator).get("/inbox/").content.decode())
    assert len(ids) == 8
    assert ids[0] == world.no_answer.pk and ids[-1] == world.new_overdue.pk


def test_mine_means_open_incidents_the_user_owns(login, operator2, world):
    html = login(operator2).get("/inbox/?view=mine").content.decode()
    assert row_ids(html) == [world.answering.pk]


def test_counters_use_a_single_aggregate_query(login, operator, world, django_assert_max_num_queries):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    client = login(operator)
    with CaptureQueriesContext(connection) as captured:
        client.get("/inbox/")
    aggregates = [q["sql"] for q in captured.captured_queries if q["sql"].count("COUNT(") >= 7]
    assert len(aggregates) == 1


def test_the_search_narrows_the_list_and_the_counters_and_stays_in_links(login, operator, world):
    html = login(operator).get("/inbox/?q=горячей").content.decode()
    assert row_ids(html) == [world.new.pk]
    assert counters(html)["all"] == 1 and counters(html)["routed"] == 0
    # The saved views, sorting and the export keep the search.
    assert 'href="?q=%D0%B3%D0%BE%D1%80%D1%8F%D1%87%D0%B5%D0%B9&amp;view=triage"' in html
    assert "/inbox/export.xlsx?q=%D0%B3%D0%BE%D1%80%D1%8F%D1%87%D0%B5%D0%B9" in html
    assert 'value="горячей"' in html


def test_the_search_finds_an_incident_by_its_number_and_by_its_address(login, operator, world):
    client = login(operator)
    assert row_ids(client.get(f"/inbox/?q=%23{world.triage.pk}").content.decode()) == [world.triage.pk]
    do_update_incident(world.routed, actor=operator, address="ул. Профсоюзная, 7")
    assert row_ids(client.get("/inbox/?q=Профсоюзная").content.decode()) == [world.routed.pk]


def test_filters_by_group_department_channel_place_and_period(login, operator, world, rubricator, roads):
    client = login(operator)
    html = client.get(f"/inbox/?group={rubricator.housing_group.pk}").content.decode()
    assert row_ids(html) == [world.new.pk]

    do_route(world.triage, actor=operator, lead=roads)
    html = client.get(f"/inbox/?department={roads.pk}").content.decode()
    assert row_ids(html) == [world.triage.pk]

    html = client.get("/inbox/?channel=telegram").content.decode()
    assert sorted(row_ids(html)) == sorted([world.new_overdue.pk, world.no_answer.pk])

    place = Territory.objects.create(name="Старый Вартовск")
    do_update_incident(world.routed, actor=operator, territory=place)
    html = client.get(f"/inbox/?territory={place.pk}").content.decode()
    assert row_ids(html) == [world.routed.pk]

    old = timezone.localdate() - dt.timedelta(days=10)
    html = client.get(f"/inbox/?date_from={old.isoformat()}&date_to={old.isoformat()}").content.decode()
    assert row_ids(html) == [world.new_overdue.pk]
    html = client.get(f"/inbox/?date_from={(old + dt.timedelta(days=1)).isoformat()}").content.decode()
    assert world.new_overdue.pk not in row_ids(html) and len(row_ids(html)) == 7


def test_filters_combine_with_the_saved_view(login, operator, world):
    html = login(operator).get("/inbox/?view=new&channel=vk").content.decode()
    assert row_ids(html) == [world.new.pk]
    assert counters(html)["new"] == 1 and counters(html)["all"] == 4


def test_a_wrong_filter_value_is_reported_and_the_others_still_apply(login, operator, world):
    response = login(operator).get("/inbox/?group=999999&channel=vk&date_from=2025-02-10&date_to=2025-02-01")
    assert response.status_code == 200
    html = response.content.decode()
    assert 'data-filter-error="group"' in html and 'data-filter-error="date_to"' in html
    assert html.count("data-filter-error=") == 2
    assert len(row_ids(html)) == 4  # the channel still filters; the wrong group and period do not


def test_an_htmx_filter_request_brings_its_errors_out_of_band(login, operator, world):
    response = login(operator).get("/inbox/?date_from=2025-02-10&date_to=2025-02-01", HTTP_HX_REQUEST="true")
    html = response.content.decode()
    assert '<div id="inbox-filter-errors" hx-swap-oob="true">' in html
    assert 'data-filter-error="date_to"' in html


def test_sorting_by_deadline_puts_the_most_urgent_first(login, operator, world):
    client = login(operator)
    html = client.get("/inbox/?view=new").content.decode()  # open views sort by deadline by default
    assert row_ids(html) == [world.new_overdue.pk, world.new.pk]
    html = client.get("/inbox/?view=new&sort=-created").content.decode()
    assert row_ids(html) == [world.new.pk, world.new_overdue.pk]
    html = client.get("/inbox/?sort=created").content.decode()
    assert row_ids(html)[0] == world.new_overdue.pk and row_ids(html)[-1] == world.no_answer.pk
    html = client.get("/inbox/?sort=due").content.decode()
    assert row_ids(html)[0] == world.new_overdue.pk


def test_the_list_pages_by_fifty_and_page_links_keep_the_filters(login, operator):
    for i in range(53):
        ingest(f"Обращение номер {i}", channel="vk")
    client = login(operator)
    html = client.get("/inbox/?channel=vk").content.decode()
    assert len(row_ids(html)) == 50
    assert 'href="?channel=vk&amp;page=2"' in html
    second = client.get("/inbox/?channel=vk&page=2").content.decode()
    assert len(row_ids(second)) == 3
    assert not set(row_ids(html)) & set(row_ids(second))


def test_an_htmx_request_gets_only_the_list_with_the_counters_out_of_band(login, operator, world):
    response = login(operator).get("/inbox/?view=triage", HTTP_HX_REQUEST="true")
    html = response.content.decode()
    assert html.lstrip().startswith('<div id="inbox-list"')
    assert "<html" not in html and "inbox-filters" not in html
    assert row_ids(html) == [world.triage.pk]
    assert 'id="inbox-views" hx-swap-oob="true"' in html and counters(html)["triage"] == 1


def test_a_full_page_has_the_search_box_filters_and_the_new_items_poll(login, operator, world):
    html = login(operator).get("/inbox/?view=new").content.decode()
    assert "data-search-box" in html
    assert 'hx-trigger="every 30s"' in html
    assert re.search(r'hx-get="/inbox/new-count/\?view=new&amp;since=[^"]+"', html)
    assert "otklik/inbox.js" in html
    assert 'id="inbox-views" hx-swap-oob' not in html


def test_a_row_shows_time_left_source_group_star_and_links_to_the_card(login, operator, world):
    html = login(operator).get("/inbox/?view=new").content.decode()
    row = html[html.index(f'data-id="{world.new.pk}"') :]
    row = row[: row.index("</tr>")]
    assert f'href="/incidents/{world.new.pk}/"' in row
    assert "time-left" in row
    assert "bi-people-fill" in row  # VK
    assert "★" in row and "ЖКХ" in row
    overdue = html[html.index(f'data-id="{world.new_overdue.pk}"') :]
    assert 'class="time-left overdue"' in overdue[: overdue.index("</tr>")]


def test_the_address_is_highlighted_in_the_text_and_the_text_is_escaped(login, operator):
    incident = ingest("<script>alert(1)</script> На улице Ленина 5 нет воды", channel="vk")
    do_update_incident(incident, actor=operator, address="ул. Ленина, 5")
    html = login(operator).get("/inbox/").content.decode()
    assert '<mark class="place">Ленина 5</mark>' in html
    assert "<script>alert(1)" not in html and "&lt;script&gt;alert(1)&lt;/script&gt;" in html


def test_the_operator_sees_checkboxes_and_the_bulk_form(login, operator, world):
    html = login(operator).get("/inbox/").content.decode()
    assert "data-bulk-form" in html and 'name="ids"' in html and 'value="no_answer"' in html


def test_the_director_reads_the_inbox_without_bulk_actions(login, director, world):
    response = login(director).get("/inbox/")
    assert response.status_code == 200
    html = response.content.decode()
    assert len(row_ids(html)) == 8
    assert "data-bulk-form" not in html and 'name="ids"' not in html and 'name="action"' not in html
    assert 'data-view="mine"' not in html  # he owns nothing


def test_the_director_cannot_post_a_bulk_action(login, director, world):
    response = login(director).post("/inbox/", {"action": "no_answer", "ids": [world.new.pk], "reason": "spam"})
    assert response.status_code == 403
    world.new.refresh_from_db()
    assert world.new.status == "new"


@pytest.mark.parametrize("path", ["/inbox/", "/inbox/new-count/?since=2025-01-01T00:00:00", "/inbox/export.xlsx"])
def test_an_executor_gets_403(login, executor, path):
    assert login(executor).get(path).status_code == 403


@pytest.mark.parametrize("path", ["/inbox/", "/inbox/new-count/", "/inbox/export.xlsx"])
def test_an_anonymous_visitor_is_sent_to_login(client, path):
    response = client.get(path)
    assert response.status_code == 302 and response["Location"].startswith("/login/")


def test_fifty_rows_take_a_bounded_number_of_queries(
    login, operator, housing, rubricator, django_assert_max_num_queries
):
    for i in range(55):
        incident = ingest(f"Нет воды, дом {i}", channel="vk" if i % 2 else "telegram")
        do_classify(incident, topic=rubricator.hot_water, actor=operator)
        if i % 3 == 0:
            do_route(incident, actor=operator, lead=housing)
    client = login(operator)
    with django_assert_max_num_queries(12):
        response = client.get(f"/inbox/?group={rubricator.housing_group.pk}&q=воды")
    assert len(row_ids(response.content.decode())) == 50
