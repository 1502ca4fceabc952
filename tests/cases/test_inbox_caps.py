"""The inbox at city scale (issue 9): counters capped at OTKLIK_INBOX_COUNT_CAP («N+»), paging past the cap, the
search keeping its OTKLIK_INBOX_SEARCH_LIMIT newest matches (with a note), the export still taking every match."""

from __future__ import annotations

import datetime as dt
import io
import re

import pytest
import time_machine
from django.test import Client
from openpyxl import load_workbook

from otklik.cases.services import do_merge
from otklik.cases.views import inbox as inbox_views
from otklik.core.worktime import city_zone
from tests.factories import ingest

pytestmark = pytest.mark.django_db


def counters(html: str) -> dict[str, str]:
    return dict(re.findall(r'data-count="(\w+)">([^<]*)<', html))


def row_ids(html: str) -> list[int]:
    return [int(n) for n in re.findall(r'<tr class="inbox-row[^"]*" data-href="/incidents/\d+/" data-id="(\d+)"', html)]


def total(html: str) -> str:
    match = re.search(r'data-total="([^"]*)"', html)
    assert match
    return match.group(1)


def later_counts(client: Client, html: str) -> str:
    """The counters a page listed under a filter by a period's rows loads after it (its views say «…» until then)."""
    match = re.search(r'<nav [^>]*hx-get="(/inbox/counts/[^"]*)"', html)
    assert match, "the page does not load its counters later"
    assert set(counters(html).values()) == {"…"}
    response = client.get(match.group(1).replace("&amp;", "&"))
    assert response.status_code == 200
    return response.content.decode()


@pytest.fixture
def operator_client(client: Client, operator) -> Client:
    client.force_login(operator)
    return client


def make(n: int, text: str = "Обращение", channel: str = "vk") -> list[int]:
    return [ingest(f"{text} номер {i}", channel=channel, author_id=f"a{text}{i}").pk for i in range(n)]


def test_a_counter_past_the_cap_says_cap_plus(operator_client, settings):
    settings.OTKLIK_INBOX_COUNT_CAP = 3
    make(5)
    html = operator_client.get("/inbox/").content.decode()
    shown = counters(html)
    assert shown["all"] == "3+" and shown["new"] == "3+"
    assert shown["triage"] == "0" and shown["routed"] == "0"
    assert total(html) == "3+"


def test_counters_at_or_under_the_cap_are_exact(operator_client, settings):
    settings.OTKLIK_INBOX_COUNT_CAP = 5
    make(5)
    html = operator_client.get("/inbox/").content.decode()
    assert counters(html)["all"] == "5" and total(html) == "5"


def test_paging_goes_on_past_the_cap_and_stops_at_the_end(operator_client, settings, monkeypatch):
    settings.OTKLIK_INBOX_COUNT_CAP = 3
    monkeypatch.setattr(inbox_views, "PAGE_SIZE", 2)
    made = make(7)
    seen: list[int] = []
    for number in range(1, 5):
        html = operator_client.get(f"/inbox/?page={number}").content.decode()
        ids = row_ids(html)
        seen.extend(ids)
        assert "data-open-ended" in html  # «page N», not «page N of M»
        assert ('rel="next"' in html) == (number < 4)
        assert 'aria-label="Last page"' not in html and "Последняя страница" not in html
    assert seen == sorted(made, reverse=True)  # newest first, every incident once
    # A page past the end falls back to the last one.
    html = operator_client.get("/inbox/?page=9").content.decode()
    assert row_ids(html) == [min(made)]


def test_under_the_cap_the_pager_still_knows_the_number_of_pages(operator_client, settings, monkeypatch):
    settings.OTKLIK_INBOX_COUNT_CAP = 100
    monkeypatch.setattr(inbox_views, "PAGE_SIZE", 2)
    make(5)
    html = operator_client.get("/inbox/?page=2").content.decode()
    assert "data-open-ended" not in html
    assert len(row_ids(html)) == 2 and 'href="?page=3"' in html


def test_the_search_keeps_its_newest_matches_and_says_so(operator_client, settings):
    settings.OTKLIK_INBOX_SEARCH_LIMIT = 2
    matching = make(4, text="Свалка во дворе")
    make(2, text="Нет света")
    html = operator_client.get("/inbox/?q=свалка").content.decode()
    assert row_ids(html) == sorted(matching, reverse=True)[:2]
    assert counters(html)["all"] == "2" and counters(html)["new"] == "2"
    assert "data-search-capped" in html
    # The export takes every match, not only the ones shown.
    response = operator_client.get("/inbox/export.xlsx?q=свалка")
    sheet = load_workbook(io.BytesIO(response.content)).active
    assert sorted(row[0] for row in sheet.iter_rows(min_row=2, values_only=True) if row[0]) == sorted(matching)


def test_a_search_within_its_limit_has_no_note(operator_client, settings):
    settings.OTKLIK_INBOX_SEARCH_LIMIT = 4
    matching = make(4, text="Свалка во дворе")
    html = operator_client.get("/inbox/?q=свалка").content.decode()
    assert sorted(row_ids(html)) == sorted(matching)
    assert "data-search-capped" not in html


def test_the_search_limit_applies_after_the_filters(operator_client, settings):
    settings.OTKLIK_INBOX_SEARCH_LIMIT = 2
    by_vk = make(2, text="Свалка во дворе")
    make(3, text="Свалка у дороги", channel="telegram")  # newer, but another source
    html = operator_client.get("/inbox/?q=свалка&channel=vk").content.decode()
    assert sorted(row_ids(html)) == sorted(by_vk)
    assert "data-search-capped" not in html


def test_the_source_filter_lists_an_incident_with_several_such_posts_once(operator_client, operator):
    first, second, _other = make(2, channel="telegram") + make(1, text="Другое", channel="vk")
    do_merge(Incident_of(second), into=Incident_of(first), actor=operator)
    assert Incident_of(first).posts.filter(source__channel="telegram").count() == 2
    html = operator_client.get("/inbox/?channel=telegram").content.decode()
    assert row_ids(html).count(first) == 1 and _other not in row_ids(html)
    assert counters(html)["all"] == str(len(row_ids(html)))


def Incident_of(pk: int):  # noqa: N802 - reads as the model
    from otklik.cases.models import Incident

    return Incident.objects.get(pk=pk)


def test_counters_under_a_click_through_filter_are_counted_in_one_pass_and_capped(operator_client, operator, settings):
    settings.OTKLIK_INBOX_COUNT_CAP = 3
    first, second, *_rest = make(5)
    do_merge(Incident_of(second), into=Incident_of(first), actor=operator)
    html = operator_client.get("/inbox/?merged=0").content.decode()
    shown = counters(html)
    assert shown["all"] == "3+" and shown["new"] == "3+"  # 4 of each: past the cap
    settings.OTKLIK_INBOX_COUNT_CAP = 100
    html = operator_client.get("/inbox/?merged=0").content.decode()
    assert counters(html)["all"] == "4" and counters(html)["new"] == "4"
    assert second not in row_ids(html) and len(row_ids(html)) == 4
    assert counters(operator_client.get("/inbox/").content.decode())["all"] == "5"


@pytest.mark.parametrize("limit", [1, 2, 3, 20])
def test_the_search_in_windows_of_the_newest_incidents_finds_what_the_whole_search_finds(
    operator_client, settings, limit
):
    """A search looks among the newest incidents first (OTKLIK_INBOX_SEARCH_WINDOW), widens the window, then looks
    everywhere: whatever the window, the page lists the same newest matches, with the same note."""
    settings.OTKLIK_INBOX_SEARCH_LIMIT = limit
    make(3, text="Свалка у гаражей")  # the oldest: found only by widening to everything
    make(4, text="Нет света")
    make(1, text="Свалка на углу")
    make(5, text="Сломана скамейка")
    make(2, text="Свалка во дворе")  # the newest
    make(2, text="Яма на дороге")
    outcomes = set()
    for window in (0, 1, 2, 3, 5, 8, 1000):
        settings.OTKLIK_INBOX_SEARCH_WINDOW = window
        html = operator_client.get("/inbox/?q=свалка").content.decode()
        outcomes.add((tuple(row_ids(html)), "data-search-capped" in html, counters(html)["all"]))
    assert len(outcomes) == 1
    ((ids, capped, count),) = outcomes
    assert len(ids) == min(limit, 6) and capped == (limit < 6) and count == str(min(limit, 6))
    assert list(ids) == sorted(ids, reverse=True)


def test_a_search_window_keeps_the_incident_number_and_the_filters(operator_client, settings):
    settings.OTKLIK_INBOX_SEARCH_LIMIT = 2
    settings.OTKLIK_INBOX_SEARCH_WINDOW = 2
    old = make(1, text="Свалка у гаражей")[0]
    make(4, text="Нет света")
    assert row_ids(operator_client.get(f"/inbox/?q=%23{old}").content.decode()) == [old]
    by_vk = make(1, text="Свалка во дворе")
    make(3, text="Свалка у дороги", channel="telegram")  # newer, but another source
    html = operator_client.get("/inbox/?q=свалка&channel=vk").content.decode()
    assert row_ids(html) == sorted(by_vk + [old], reverse=True)


@pytest.mark.django_db(transaction=True)
def test_bitmap_scans_puts_the_planner_setting_back():
    from django.db import connection

    from otklik.cases.selectors import bitmap_scans

    if connection.vendor != "postgresql":
        pytest.skip("a PostgreSQL planner setting")

    def setting() -> str:
        with connection.cursor() as cursor:
            cursor.execute("SHOW enable_indexscan")
            return cursor.fetchone()[0]

    with bitmap_scans():
        assert setting() == "off"
    assert setting() == "on"
    from django.db import transaction

    with transaction.atomic():
        with bitmap_scans():
            assert setting() == "off"
        assert setting() == "on"  # back within the enclosing transaction too


@pytest.mark.parametrize("cap", [2, 100])
def test_a_period_filter_of_posts_counts_its_incidents_unordered_the_same(operator_client, settings, cap):
    """Under a filter by the posts of a period (the dashboard's click-through) the «all» counter is counted without
    the newest-first order (`InboxQuery._capped_count_order`): the same number, capped the same way."""
    settings.OTKLIK_INBOX_COUNT_CAP = cap
    zone = city_zone()
    inside = [
        ingest(f"Яма номер {i}", author_id=f"in{i}", posted_at=dt.datetime(2026, 11, 10, 12, tzinfo=zone)).pk
        for i in range(4)
    ]
    ingest("Старая яма", author_id="old", posted_at=dt.datetime(2026, 10, 1, 12, tzinfo=zone))
    html = operator_client.get("/inbox/?posts_from=2026-11-01&posts_to=2026-11-30").content.decode()
    assert counters(later_counts(operator_client, html))["all"] == (
        f"{cap}+" if cap < len(inside) else str(len(inside))
    )
    assert sorted(row_ids(html)) == sorted(inside)


def test_a_past_period_of_posts_lists_and_counts_the_same_within_its_bounds(operator_client, settings):
    """A posts window that ended over a week before: the inbox reads the ids' bounds first (`_among`) — the same
    incidents listed and counted; newer and older incidents outside the window left out; an empty window, none."""
    zone = city_zone()
    older = ingest("Прошлогодняя яма", author_id="o1", posted_at=dt.datetime(2026, 9, 1, 12, tzinfo=zone)).pk
    inside = [
        ingest(f"Яма номер {i}", author_id=f"in{i}", posted_at=dt.datetime(2026, 10, 5, 12, tzinfo=zone)).pk
        for i in range(3)
    ]
    newer = ingest("Свежая яма", author_id="n1", posted_at=dt.datetime(2026, 11, 25, 12, tzinfo=zone)).pk
    with time_machine.travel(dt.datetime(2026, 12, 1, 12, tzinfo=zone)):
        html = operator_client.get("/inbox/?posts_from=2026-10-01&posts_to=2026-10-10").content.decode()
        assert sorted(row_ids(html)) == sorted(inside)
        assert counters(later_counts(operator_client, html))["all"] == "3"
        assert older not in row_ids(html) and newer not in row_ids(html)
        html = operator_client.get("/inbox/?posts_from=2026-10-11&posts_to=2026-10-20").content.decode()
        assert row_ids(html) == [] and counters(later_counts(operator_client, html))["all"] == "0"


def test_a_period_filter_lists_first_and_counts_after(operator_client, settings):
    """Under a filter by a period's rows (the dashboard's click-through) the page lists without counting
    (`InboxQuery.counts_later`): paged open-ended, «…» for the counters and the total; `/inbox/counts/` then gives
    the views' counters and, out of band, the list's total — the same as counted on a page without that filter."""
    settings.OTKLIK_INBOX_COUNT_CAP = 100
    zone = city_zone()
    inside = [
        ingest(f"Яма номер {i}", author_id=f"in{i}", posted_at=dt.datetime(2026, 11, 10, 12, tzinfo=zone)).pk
        for i in range(3)
    ]
    ingest("Старая яма", author_id="old", posted_at=dt.datetime(2026, 10, 1, 12, tzinfo=zone))
    url = "/inbox/?view=new&posts_from=2026-11-01&posts_to=2026-11-30"
    html = operator_client.get(url).content.decode()
    assert sorted(row_ids(html)) == sorted(inside)
    assert total(html) == "" and "data-open-ended" not in html  # one page: no paging at all
    counted = later_counts(operator_client, html)
    assert counters(counted) == {
        "new": "3",
        "triage": "0",
        "routed": "0",
        "ready": "0",
        "overdue": "0",
        "mine": "0",
        "all": "3",
    }
    assert 'id="inbox-total"' in counted and 'hx-swap-oob="true"' in counted and total(counted) == "3"
    assert "hx-get" not in counted  # loaded once
    # The same filter without a period counts in the page itself.
    plain = operator_client.get("/inbox/?view=new").content.decode()
    assert "/inbox/counts/" not in plain and counters(plain)["new"] == "4" and total(plain) == "4"
    # A search under the same period counts in the page (a search's match set is a short id list).
    searched = operator_client.get(url + "&q=яма").content.decode()
    assert "/inbox/counts/" not in searched and counters(searched)["new"] == "3"


def test_a_period_filter_pages_open_ended_until_the_end(operator_client, settings, monkeypatch):
    """Deferred counters: the list knows whether a next page exists, not how many there are; past the end, the
    last page (as past the cap)."""
    monkeypatch.setattr(inbox_views, "PAGE_SIZE", 2)
    zone = city_zone()
    ids = [
        ingest(f"Яма номер {i}", author_id=f"in{i}", posted_at=dt.datetime(2026, 11, 10, 12, tzinfo=zone)).pk
        for i in range(5)
    ]
    url = "/inbox/?posts_from=2026-11-01&posts_to=2026-11-30"
    first = operator_client.get(url).content.decode()
    assert row_ids(first) == sorted(ids, reverse=True)[:2] and "data-open-ended" in first and 'rel="next"' in first
    last = operator_client.get(url + "&page=3").content.decode()
    assert row_ids(last) == sorted(ids)[:1] and 'rel="next"' not in last
    beyond = operator_client.get(url + "&page=9").content.decode()
    assert row_ids(beyond) == sorted(ids)[:1]


@pytest.mark.parametrize("query", ["", "?view=x&posts_from=bad"])
def test_the_counts_answer_without_a_period_too(operator_client, query):
    """`/inbox/counts/` counts whatever the URL asks (a bad filter value is left out, as by the page)."""
    make(2)
    response = operator_client.get("/inbox/counts/" + query)
    assert response.status_code == 200
    assert counters(response.content.decode())["all"] == "2"
