"""Safe rendering of citizens' posts in real Chromium: `<script>`, event handlers and `javascript:` links in a post's
text, author name, link and in an answer's link stay inert on every page that shows them — the inbox, the incident
card with the answer editor, the executor's desk, the dashboard.

Each page is checked twice: as served (with the Content-Security-Policy) and with the policy header stripped, so the
test proves the templates escape everything themselves and the CSP is a second wall, not the only one.
"""

from __future__ import annotations

from typing import Any

import pytest

from otklik.answers.models import Answer
from otklik.answers.services import do_draft_answer
from otklik.cases.models import Assignment
from otklik.cases.services import do_route
from otklik.intake.models import Post
from tests.factories import ingest

pytestmark = pytest.mark.django_db(transaction=True)

SCRIPT = "<script>window.__xss=1</script>"
IMG = '<img src=x onerror="window.__xss=1">'
JS_LINK = "javascript:window.__xss=1"
SVG = "<svg onload=window.__xss=1>"
TEXT = f'Нет горячей воды {SCRIPT} на улице Ленина 5 {IMG} {SVG} <a href="{JS_LINK}">ссылка</a>'

# Every attribute in the page that would run code: an on* handler, or a javascript: URL in any attribute.
DANGEROUS_ATTRIBUTES = """
() => [...document.querySelectorAll('*')].flatMap(el => [...el.attributes]
    .filter(a => /^on/i.test(a.name) || /^\\s*javascript:/i.test(a.value))
    .map(a => `${el.tagName.toLowerCase()} ${a.name}=${a.value}`))
"""
SCRIPTS_WITH_PAYLOAD = "() => [...document.scripts].filter(s => s.textContent.includes('__xss')).length"


@pytest.fixture
def poisoned(operator, housing):
    """An incident whose post carries the payloads in its text, author name and link, routed to housing, with a
    drafted answer whose link is a javascript: URL; and a clean incident with a real link (the control)."""
    incident = ingest(TEXT, author_name=f"Иван {SCRIPT}{IMG}", author_id=f"id{IMG}", url="https://vk.com/wall-1_5")
    # Written past the services (an import or an old row could hold anything): what the page must survive.
    Post.objects.filter(incident=incident).update(url=JS_LINK)
    do_route(incident, actor=operator, lead=housing, request=f"Уточните {SCRIPT}")
    answer = do_draft_answer(incident, actor=operator, kind="primary", text=f"Здравствуйте! {SCRIPT} Проверим.")
    Answer.objects.filter(pk=answer.pk).update(link=JS_LINK)
    control = ingest("Яма на дороге у дома 7", author_name="Пётр", url="https://vk.com/wall-1_7")
    return {"incident": incident, "assignment": Assignment.objects.get(incident=incident), "control": control}


def strip_csp(route: Any) -> None:
    response = route.fetch()
    headers = {k: v for k, v in response.headers.items() if k.lower() != "content-security-policy"}
    route.fulfill(response=response, headers=headers)


def assert_inert(page: Any, dialogs: list[str], where: str) -> None:
    page.wait_for_load_state("networkidle")
    assert page.evaluate("window.__xss") is None, where
    assert dialogs == [], where
    assert page.evaluate(DANGEROUS_ATTRIBUTES) == [], where
    assert page.evaluate(SCRIPTS_WITH_PAYLOAD) == 0, where
    assert page.locator("img[src=x]").count() == 0, where
    assert page.locator("svg[onload]").count() == 0, where


@pytest.mark.parametrize("csp", ["with CSP", "without CSP"])
def test_payloads_in_posts_stay_inert_on_every_page(page, live_server, login_as, operator, executor, poisoned, csp):
    if csp == "without CSP":
        page.context.route("**/*", strip_csp)
    dialogs: list[str] = []
    page.on("dialog", lambda dialog: (dialogs.append(dialog.message), dialog.dismiss()))
    incident, assignment, control = poisoned["incident"], poisoned["assignment"], poisoned["control"]

    login_as(operator)
    page.goto(f"{live_server.url}/inbox/")
    assert_inert(page, dialogs, "inbox")
    assert page.locator(f"tr.inbox-row[data-id='{incident.pk}']").count() == 1
    page.fill("input[name=q]", "горячей")
    page.keyboard.press("Enter")
    assert_inert(page, dialogs, "inbox search")

    page.goto(f"{live_server.url}/incidents/{incident.pk}/")
    assert_inert(page, dialogs, "card")
    body = page.inner_text("body")
    assert SCRIPT in body and IMG in body  # shown as text, not swallowed
    assert f"Иван {SCRIPT}" in body
    # The answer editor holds the text as text; typing into it and checking it runs nothing either.
    folded = page.locator("details:has(form.answer-editor) > summary")
    if folded.count():
        folded.first.click()  # «Write another answer»: a draft exists
    editor = page.locator("form.answer-editor textarea[name=text]").last
    assert "<script>" in editor.input_value()  # the greeting names the author: text, in a textarea
    editor.fill(f"Здравствуйте! {IMG} {SCRIPT} Ответим до 5 декабря.")
    page.wait_for_timeout(800)  # the live check is debounced
    assert_inert(page, dialogs, "answer editor")
    # No link from post data points to javascript:, and clicking the text of the one in the post does nothing.
    assert page.locator("a[href^='javascript:' i]").count() == 0

    page.goto(f"{live_server.url}/incidents/{control.pk}/")
    assert page.locator("a[href='https://vk.com/wall-1_7']").count() >= 1  # a real link is still a link

    page.goto(f"{live_server.url}/dashboard/")
    assert_inert(page, dialogs, "dashboard")

    page.context.clear_cookies()
    login_as(executor)
    page.goto(f"{live_server.url}/assignments/")
    assert_inert(page, dialogs, "assignments")
    page.goto(f"{live_server.url}/assignments/{assignment.pk}/")
    assert_inert(page, dialogs, "desk")
    assert SCRIPT in page.inner_text("body")
    assert page.locator("a[href^='javascript:' i]").count() == 0
