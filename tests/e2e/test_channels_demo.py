"""The channels demo in real Chromium: a citizen's post on the city community's VK wall (the local VK API emulator,
started on a free port) is polled into the inbox, the operator answers it on the card, the outbox publishes the
answer as a comment from the community under that post, and the citizen's «спасибо, но ничего не сделали» in the
thread reopens the incident.

Celery is eager in the tests (tests/conftest.py): the analysis of a polled post and the sending of a publication
run in the thread that commits them (the poll here, the live server's request for «Publish»).
"""

from __future__ import annotations

import os
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import httpx
import pytest
from django.conf import settings as django_settings
from django.utils import timezone

from otklik.answers.choices import AnswerKind, AnswerStatus, PublicationStatus
from otklik.answers.models import Publication
from otklik.answers.services import do_draft_answer, do_publish_answer
from otklik.cases.choices import EventVerb, IncidentStatus
from otklik.cases.models import Event
from otklik.cases.services import do_accept_information, do_route, do_submit_information
from otklik.intake.emulators.vk import VkEmulator, start_in_thread
from otklik.intake.models import Post, Source
from otklik.intake.polling import do_save_source, poll_source
from otklik.satisfaction.choices import FollowUpAction, Verdict
from otklik.satisfaction.models import FollowUp

pytestmark = pytest.mark.django_db(transaction=True)

TOKEN = "e2e-community-token"
AUTHOR = "Ольга Смирнова"
COMPLAINT = (
    "Третий день нет горячей воды в доме на улице Ленина, 15, в квартирах только холодная. "
    "В управляющей компании трубку не берут. Когда дадут воду?"
)
INFORMATION = "Аварийная бригада заменила участок трубы 28 ноября, горячую воду дали в 16:00. Акт и фото приложены."
ANSWER = (
    "Здравствуйте, Ольга! Аварийная бригада заменила участок трубы 28 ноября, горячую воду в доме на улице "
    "Ленина, 15 дали в тот же день в 16:00. Акт выполненных работ и фото прилагаем. Если вода снова пропадёт, "
    "напишите нам здесь."
)
FOLLOW_UP = "Спасибо, но ничего не сделали, воды как не было, так и нет"
#: Screenshots for docs/CHANNELS.md are refreshed when this is set (OTKLIK_SCREENSHOTS=1).
SCREENSHOTS = Path(django_settings.BASE_DIR) / "docs" / "screenshots"


def screenshot(page: Any, name: str) -> None:
    if os.environ.get("OTKLIK_SCREENSHOTS"):
        SCREENSHOTS.mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(SCREENSHOTS / name), full_page=False)


@pytest.fixture
def vk():
    """The VK API emulator on a free port: `vk.emulator`, `vk.url`, `vk.control(verb, action, json)`."""
    emulator = VkEmulator(tokens={TOKEN: "community"}, rate_limit=1000, timeout_seconds=2.0)
    server = start_in_thread(emulator)
    http = httpx.Client(timeout=5)

    def control(verb: str, action: str, data: dict[str, Any] | None = None) -> Any:
        reply = http.request(verb, f"{server.url}/__emulator__/{action}", json=data)
        assert reply.status_code < 300, reply.text
        return reply.json()

    yield SimpleNamespace(emulator=emulator, url=server.url, control=control)
    http.close()
    server.shutdown()
    server.server_close()


@pytest.fixture
def source(vk) -> Source:
    """The city community (group 1) polled through the emulator, as `add_source vk` creates it."""
    created, _new = do_save_source(
        None,
        actor=None,
        channel="vk",
        name="ВКонтакте: Администрация города",
        config={"group_id": 1, "api_url": vk.url, "token_kind": "community", "timeout": 2},
        token=TOKEN,
        poll_interval=60,
    )
    return created


def poll(source: Source) -> dict[str, Any]:
    """One poll of the source, as beat's task or `poll_sources --once` runs it, at the time it is due (the test
    does not wait for the interval)."""
    source.refresh_from_db()
    now = timezone.now()
    result = poll_source(source.pk, max(now, source.next_poll_at or now))
    assert result.status == "ok", result.as_dict()
    return result.as_dict()


def comments(vk) -> list[dict[str, Any]]:
    """Every `wall.createComment` Otklik made, from the emulator's control endpoint."""
    return [call for call in vk.control("GET", "published") if call["method"] == "wall.createComment"]


def complaint_in_the_inbox(vk, source: Source) -> tuple[Post, int]:
    """A citizen posts on the wall; one poll takes it in and the analysis runs → (the post, its wall post id)."""
    added = vk.control("POST", "posts", {"text": COMPLAINT, "author": AUTHOR})
    assert poll(source)["created"] == 1
    post = Post.objects.get(source=source)
    assert post.external_id == f"wall-1_{added['post_id']}"
    assert post.incident is not None
    return post, added["post_id"]


def test_a_post_on_the_vk_wall_reaches_the_inbox_and_the_answer_appears_in_its_thread(
    page, live_server, login_as, vk, source, operator, housing, executor
):
    post, wall_post = complaint_in_the_inbox(vk, source)
    incident = post.incident

    # The operator sees the citizen's post in the inbox and opens it.
    login_as(operator)
    assert page.url.endswith("/inbox/")
    row = page.locator(f"tr.inbox-row[data-id='{incident.pk}']")
    assert "нет горячей воды в доме на улице Ленина, 15" in row.inner_text()
    screenshot(page, "channels-inbox.png")
    row.click()
    page.wait_for_url(f"**/incidents/{incident.pk}/")
    assert "В управляющей компании трубку не берут" in page.inner_text("body")

    # Meanwhile the incident is routed and the housing department reports what it did.
    (assignment,) = do_route(incident, actor=operator, lead=housing)
    do_submit_information(assignment, actor=executor, text=INFORMATION)

    # The operator accepts the information, writes the final answer and publishes it: no link to paste, the
    # community's token answers in the thread.
    page.reload()
    page.click(f"form[action='/incidents/{incident.pk}/assignments/{assignment.pk}/accept/'] button")
    page.wait_for_selector("#id_answer_kind_final:checked")
    editor = page.locator("form.answer-editor")
    editor.locator("textarea[name=text]").fill(ANSWER)
    editor.locator("[data-publish]").click()
    page.wait_for_load_state("networkidle")
    page.locator(".published-answer").first.wait_for()

    # VK got exactly one comment: from the community, under the citizen's post, with the answer's text.
    (call,) = comments(vk)
    params = call["params"]
    assert params["owner_id"] == "-1"
    assert params["post_id"] == str(wall_post)
    assert params["from_group"] == "1"
    assert "reply_to_comment" not in params  # the post itself is answered
    assert params["message"] == ANSWER
    wall = vk.emulator.walls[-1][wall_post]
    assert [(c.from_id, c.text) for c in wall.comments] == [(-1, ANSWER)]

    answer = incident.answers.get()
    assert answer.status == AnswerStatus.PUBLISHED
    assert answer.kind == AnswerKind.FINAL
    publication = Publication.objects.get(answer=answer)
    assert publication.status == PublicationStatus.SENT
    assert publication.post_id == post.pk
    comment_id = wall.comments[0].id
    link = f"https://vk.com/wall-1_{wall_post}?reply={comment_id}"
    assert publication.url == link
    incident.refresh_from_db()
    assert incident.status == IncidentStatus.CLOSED

    # The card shows the publication as sent, with its link in the network.
    page.reload()
    row = page.locator(f"#publication-{publication.pk}")
    assert "publication-sent" in (row.get_attribute("class") or "")
    assert row.locator(f"a[href='{link}']").count() == 1
    row.scroll_into_view_if_needed()
    screenshot(page, "channels-published.png")
    assert [e for e in page.console_errors if "Content Security Policy" in e] == []


def test_the_citizens_thanks_but_nothing_was_done_in_the_thread_reopens_the_incident(
    page, live_server, login_as, vk, source, operator, housing, executor
):
    post, wall_post = complaint_in_the_inbox(vk, source)
    incident = post.incident
    (assignment,) = do_route(incident, actor=operator, lead=housing)
    do_submit_information(assignment, actor=executor, text=INFORMATION)
    do_accept_information(assignment, actor=operator)
    draft = do_draft_answer(incident, actor=operator, kind=AnswerKind.FINAL, text=ANSWER)
    do_publish_answer(draft, actor=operator)
    (sent,) = comments(vk)
    incident.refresh_from_db()
    assert incident.status == IncidentStatus.CLOSED

    # The citizen replies to the city's comment in the thread; the next poll reads it.
    answer_comment = vk.emulator.walls[-1][wall_post].comments[0].id
    vk.control("POST", "posts", {"text": FOLLOW_UP, "author": AUTHOR, "reply_to": f"{wall_post}_{answer_comment}"})
    result = poll(source)
    assert result["created"] == 1  # the reply; the community's own comment is not taken in

    reply = Post.objects.get(source=source, text=FOLLOW_UP)
    assert reply.incident_id == incident.pk  # joins the incident, no new one
    incident.refresh_from_db()
    assert incident.status in {IncidentStatus.ROUTED, IncidentStatus.ANSWERING}  # back to work
    follow_up = FollowUp.objects.get(post=reply)
    assert (follow_up.verdict, follow_up.acted) == (Verdict.NOT_SATISFIED, FollowUpAction.REOPENED)
    assert Event.objects.filter(incident=incident, verb=EventVerb.REOPENED).count() == 1
    assert comments(vk) == [sent]  # nothing more was written to VK

    # The card says why: reopened after the answer, the citizen's reply.
    login_as(operator)
    page.goto(f"{live_server.url}/incidents/{incident.pk}/")
    section = page.locator("#satisfaction")
    assert section.locator("[data-state=reopened]").count() == 1
    item = section.locator(f"#follow-up-{follow_up.pk}")
    assert "ничего не сделали" in item.inner_text()
    assert [e for e in page.console_errors if "Content Security Policy" in e] == []
