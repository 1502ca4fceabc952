"""The dashboard in a real Chromium: every chart is drawn (has a size and bars), the page logs no errors; a
screenshot is kept in the test's temporary directory (and in $OTKLIK_SCREENSHOTS when set)."""

from __future__ import annotations

import os
import shutil
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest
import time_machine
from django.conf import settings
from django.test import Client
from playwright.sync_api import Page, Route, expect

from otklik.cases.services import create_incident, do_classify, do_route, do_update_incident, refresh_from_posts
from otklik.intake.models import Post
from otklik.intake.services import default_source
from otklik.org.models import Topic, TopicGroup
from tests.stats.conftest import NOW, at

pytestmark = [pytest.mark.django_db(transaction=True)]
os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")


def _data(operator, housing, roads) -> None:
    """Incidents of two groups over three days, routed, with posts of varying negativity (no intake: with real
    commits the analysis would run on them)."""
    topics = [
        Topic.objects.create(name=name, group=TopicGroup.objects.create(name=group))
        for name, group in (("Уборка дворов", "ЖКХ"), ("Ямы на дорогах", "Дороги"))
    ]
    source = default_source("vk")
    for n in range(9):
        moment = at(2026, 12, 1 + n % 3, 9 + n, 0)
        with time_machine.travel(moment, tick=False):
            incident = create_incident()
            Post.objects.create(
                source=source,
                external_id=f"e2e-{n}",
                text="Яма",
                posted_at=moment,
                incident=incident,
                negative=0.2 + 0.1 * n,
            )
            refresh_from_posts([incident.pk])  # as intake keeps an incident's channels and last post time
            do_classify(incident, topic=topics[n % 2], actor=operator)
            do_update_incident(incident, actor=operator, address=f"ул. Ленина, {n % 3 + 1}")
            do_route(incident, actor=operator, lead=housing if n % 2 == 0 else roads, due_hours=2)


@contextmanager
def directors_page(browser, live_server, director) -> Iterator[Page]:  # noqa: ANN001 - fixtures
    """A Chromium page logged in as the director, the clock at NOW and running."""
    client = Client()
    client.force_login(director)
    session = client.cookies[settings.SESSION_COOKIE_NAME].value
    context = browser.new_context(viewport={"width": 1366, "height": 768}, locale="ru-RU")
    try:
        with time_machine.travel(NOW, tick=True):
            context.add_cookies([{"name": settings.SESSION_COOKIE_NAME, "value": session, "url": live_server.url}])
            yield context.new_page()
    finally:
        context.close()


def _console_errors(page: Page) -> list[str]:
    """The page's console errors (a script failing, a CSP violation), collected as they come."""
    problems: list[str] = []
    page.on("console", lambda m: problems.append(m.text) if m.type == "error" else None)
    return problems


def _seen_during(page: Page, url: str, look: Callable[[], Any]) -> list[Any]:
    """What `look()` returns while a request to `url` is in flight: checked inside the intercepted request, which
    then goes on."""
    seen: list[Any] = []

    def handle(route: Route) -> None:
        seen.append(look())
        route.continue_()

    page.route(url, handle)
    return seen


def test_each_chart_renders_in_chromium(director, operator, housing, roads, live_server, browser, tmp_path):
    _data(operator, housing, roads)
    with directors_page(browser, live_server, director) as page:
        errors: list[str] = []
        page.on("response", lambda r: errors.append(f"{r.status} {r.url}") if r.status >= 400 else None)
        page.goto(f"{live_server.url}/dashboard/?period=custom&date_from=2026-12-01&date_to=2026-12-03")
        charts = page.locator("svg.stats-chart")
        assert charts.count() == 5
        for index in range(5):
            box = charts.nth(index).bounding_box()
            assert box is not None and box["width"] > 200 and box["height"] > 20
        assert page.locator("svg.stats-chart rect").count() >= 5
        assert page.locator("svg.stats-chart circle").count() >= 2  # the mood line has a point per day
        shot = tmp_path / "dashboard.png"
        page.screenshot(path=str(shot), full_page=True)
        assert shot.stat().st_size > 10_000
        if os.environ.get("OTKLIK_SCREENSHOTS"):
            target = Path(os.environ["OTKLIK_SCREENSHOTS"])
            target.mkdir(parents=True, exist_ok=True)
            shutil.copy(shot, target / "dashboard.png")
        assert errors == []


def test_a_figure_opens_the_inbox_listing_first_and_counting_after(
    director, operator, housing, roads, live_server, browser
):
    """The posts figure's link: the inbox lists its incidents and then loads its counters (`/inbox/counts/`, HTMX on
    load, under the Content-Security-Policy): the views' «…» and the total become the numbers, with no error."""
    _data(operator, housing, roads)
    with directors_page(browser, live_server, director) as page:
        problems = _console_errors(page)
        page.on("response", lambda r: problems.append(f"{r.status} {r.url}") if r.status >= 400 else None)
        counted: list[str] = []
        page.on("response", lambda r: counted.append(r.url) if "/inbox/counts/" in r.url else None)
        page.goto(f"{live_server.url}/dashboard/?period=custom&date_from=2026-12-01&date_to=2026-12-03")
        page.locator("a[href*='posts_from']").first.click()
        page.wait_for_url("**/inbox/?*posts_from*")
        assert page.locator("tr.inbox-row").count() == 9
        expect(page.locator('[data-count="all"]')).to_have_text("9")
        expect(page.locator("#inbox-total")).to_have_attribute("data-total", "9")
        expect(page.locator("#inbox-total")).to_contain_text("9")
        assert page.locator("[data-counts-later]").count() == 0
        assert len(counted) == 1
        assert problems == []


@pytest.mark.parametrize(
    "answer", [{"status": 500, "body": "boom"}, {"status": 302, "headers": {"Location": settings.LOGIN_URL}}]
)
def test_counters_that_fail_to_load_say_so(director, operator, housing, roads, live_server, browser, answer):
    """The counters' request fails (a server error; the login page of an ended session, which is not theirs): the
    list stays, the badges say «?», the head says why — nothing else is swapped in."""
    _data(operator, housing, roads)
    with directors_page(browser, live_server, director) as page:
        page.route("**/inbox/counts/**", lambda route: route.fulfill(content_type="text/html", **answer))
        page.goto(f"{live_server.url}/inbox/?view=all&posts_from=2026-12-01&posts_to=2026-12-03")
        expect(page.locator('[data-count="all"]')).to_have_text("?")
        expect(page.locator("#inbox-total")).to_have_text("Не удалось посчитать: обновите страницу")
        assert page.locator("tr.inbox-row").count() == 9
        assert page.locator("form input[type=password]").count() == 0


def test_a_new_filter_shows_that_the_figures_are_being_computed(
    director, operator, housing, roads, live_server, browser
):
    """A long period is computed live for seconds: while the filter's request runs the page says so and dims the
    figures; the answer swaps them in and the note goes away."""
    _data(operator, housing, roads)
    with directors_page(browser, live_server, director) as page:
        problems = _console_errors(page)
        page.goto(f"{live_server.url}/dashboard/?period=week")
        week_from = page.locator("[data-report-download] input[name=date_from]").get_attribute("value") or ""
        assert f"start={week_from}" in (page.locator("[data-summary-letter]").get_attribute("href") or "")
        busy = page.locator("[data-dashboard-busy]")
        expect(busy).to_be_hidden()
        seen = _seen_during(
            page,
            "**/dashboard/?*period=month*",
            lambda: (busy.is_visible(), "htmx-request" in (page.locator("#dashboard").get_attribute("class") or "")),
        )
        page.locator("select[name=period]").select_option("month")
        page.wait_for_url("**/dashboard/?*period=month*")
        expect(busy).to_be_hidden()
        assert seen == [(True, True)]
        assert (busy.text_content() or "").strip().startswith("Считаем показатели…")
        # The period's text and both downloads follow the new filter (they are in the swapped part of the page).
        month_from = page.locator("[data-report-download] input[name=date_from]").get_attribute("value") or ""
        assert month_from < week_from
        assert f"start={month_from}" in (page.locator("[data-summary-letter]").get_attribute("href") or "")
        day, month, year = page.locator("[data-period]").inner_text().split(" — ")[0].split(".")
        assert f"{year}-{month}-{day}" == month_from
        assert "htmx-request" not in (page.locator("#dashboard").get_attribute("class") or "")
        assert problems == []


@pytest.mark.parametrize(
    ("host", "trigger", "url", "filename"),
    [
        (
            "[data-report-download]",
            "[data-report-download] button[value=docx]",
            "**/dashboard/report/**",
            "spravka-2026-12-01-2026-12-03.docx",
        ),
        (
            "[data-download]:has([data-summary-letter])",
            "[data-summary-letter]",
            "**/documents/letters/summary/**",
            "summary-2026-12-01-2026-12-03.docx",
        ),
    ],
    ids=["information-note", "summary-letter"],
)
def test_a_download_says_it_is_being_prepared(
    director, operator, housing, roads, live_server, browser, host, trigger, url, filename
):
    """The information note and the summary letter: while the file is built the page says so (the request is
    fetched, not followed), then the browser gets the file under its own name and the page stays."""
    _data(operator, housing, roads)
    with directors_page(browser, live_server, director) as page:
        problems = _console_errors(page)
        page.goto(f"{live_server.url}/dashboard/?period=custom&date_from=2026-12-01&date_to=2026-12-03")
        busy = page.locator(host).locator("[data-download-busy]")
        expect(busy).to_be_hidden()
        seen = _seen_during(page, url, busy.is_visible)
        with page.expect_download() as download_info:
            page.locator(trigger).click()
        download = download_info.value
        assert download.suggested_filename == filename
        assert Path(download.path()).read_bytes()[:2] == b"PK"  # a DOCX is a zip
        assert seen == [True]
        expect(busy).to_be_hidden()
        expect(page.locator(host).locator("[data-download-error]")).to_be_hidden()
        assert page.url.endswith("date_to=2026-12-03")  # still the dashboard
        assert (busy.text_content() or "").strip().startswith("Готовим справку…")
        assert problems == []


@pytest.mark.parametrize(
    ("answer", "message"),
    [
        ({"status": 400, "body": "По: введите правильную дату."}, "По: введите правильную дату."),
        ({"status": 500, "body": "boom"}, "Не удалось подготовить справку (ошибка 500). Попробуйте ещё раз."),
        (
            {"status": 302, "headers": {"Location": settings.LOGIN_URL}},
            "Сеанс завершён: обновите страницу и войдите снова.",
        ),
    ],
    ids=["refused", "server-error", "session-ended"],
)
def test_a_note_that_cannot_be_prepared_says_why_in_place(
    director, operator, housing, roads, live_server, browser, answer, message
):
    _data(operator, housing, roads)
    with directors_page(browser, live_server, director) as page:
        page.route(
            "**/dashboard/report/**",
            lambda route: route.fulfill(content_type="text/plain; charset=utf-8", **answer),
        )
        page.goto(f"{live_server.url}/dashboard/?period=custom&date_from=2026-12-01&date_to=2026-12-03")
        page.locator("[data-report-download] button[value=xlsx]").click()
        expect(page.locator("[data-report-download] [data-download-error]")).to_have_text(message)
        expect(page.locator("[data-report-download] [data-download-busy]")).to_be_hidden()
        expect(page.locator("[data-report-download] button[value=xlsx]")).to_be_enabled()
        assert "/dashboard/" in page.url and "report" not in page.url
