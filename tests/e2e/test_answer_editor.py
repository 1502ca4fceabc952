"""The answer editor in real Chromium: an operator types an answer with канцелярит, sees the phrases highlighted
live, corrects them, the highlight disappears, and publishes."""

from __future__ import annotations

import pytest

from otklik.answers.choices import AnswerKind, AnswerStatus
from otklik.answers.services import do_draft_answer, do_publish_answer
from otklik.cases.services import do_route
from tests.factories import ingest

pytestmark = pytest.mark.django_db(transaction=True)

BUREAUCRATIC = (
    "Здравствуйте, Иван! Спасибо за обращение. В рамках проверки осуществляется выезд специалистов "
    "Департамента ЖКХ, ответим здесь до 5 декабря."
)
PLAIN = (
    "Здравствуйте, Иван! Спасибо за обращение. Специалисты Департамента ЖКХ проверят дом 3 декабря, "
    "ответим здесь до 5 декабря."
)
LINK = "https://vk.com/wall-1_101?reply=303"


def test_an_operator_sees_bureaucratese_highlighted_fixes_it_and_publishes(
    page, live_server, login_as, operator, housing
):
    incident = ingest(
        "Третий день нет горячей воды на улице Ленина 5", author_name="Иван Петров", url="https://vk.com/wall-1_101"
    )
    do_route(incident, actor=operator, lead=housing)
    login_as(operator)
    page.goto(f"{live_server.url}/incidents/{incident.pk}/")

    editor = page.locator("form.answer-editor")
    editor.locator("label[for=id_answer_kind_primary]").click()
    text = editor.locator("textarea[name=text]")
    # 1. Typed, not pasted: the check follows the keys (debounced).
    text.fill("")
    text.press_sequentially(BUREAUCRATIC, delay=5)
    marks = page.locator("#answer-findings-new mark.finding[data-code~=bureaucratese]")
    marks.first.wait_for(timeout=15_000)
    assert sorted(m.inner_text() for m in marks.all()) == ["В рамках", "осуществляется"]
    assert page.locator("#answer-findings-new a[href='/kb/check/bureaucratese/']").count() >= 1

    # 2. Corrected: the marks go away, the panel says the text is clean.
    text.fill(PLAIN)
    text.press("End")
    text.press_sequentially(" ", delay=5)
    page.locator("#answer-findings-new [data-check-clean]").wait_for(timeout=15_000)
    assert page.locator("#answer-findings-new mark.finding").count() == 0

    # 3. Published.
    editor.locator("input[name=link]").fill(LINK)
    editor.locator("[data-publish]").click()
    page.wait_for_load_state("networkidle")
    page.locator(".published-answer").first.wait_for()
    answer = incident.answers.get()
    assert answer.status == AnswerStatus.PUBLISHED
    assert answer.text.strip() == PLAIN
    assert [e for e in page.console_errors if "Content Security Policy" in e] == []


def test_a_similar_published_answer_is_inserted_into_the_editor(page, live_server, login_as, operator, head, housing):
    past = ingest("Нет горячей воды в доме на улице Мира 12 уже три дня", author_name="Пётр")
    do_route(past, actor=head, lead=housing)
    reply = "Здравствуйте! Горячую воду отключили из-за аварии на теплотрассе, подачу восстановят 12 декабря."
    draft = do_draft_answer(past, actor=head, kind=AnswerKind.REFUSAL, text=reply)
    do_publish_answer(draft, actor=head, link=LINK, quality_override_reason="тест")
    incident = ingest("Третий день нет горячей воды на улице Ленина 5", author_name="Иван Петров")
    do_route(incident, actor=operator, lead=housing)
    login_as(operator)
    page.goto(f"{live_server.url}/incidents/{incident.pk}/")

    item = page.locator(f"[data-similar-answer='{draft.pk}']")
    item.wait_for(timeout=20_000)
    text = page.locator("form.answer-editor textarea[name=text]")
    text.fill("")
    item.locator("[data-insert-answer]").click()

    assert text.input_value() == reply
    # The inserted text is checked like a typed one.
    page.locator("#answer-findings-new [data-answer-check]").wait_for(timeout=15_000)


def test_the_heads_override_field_appears_when_the_check_finds_errors(page, live_server, login_as, head, housing):
    incident = ingest("Яма на дороге у дома 5 по улице Ленина", author_name="Иван Петров")
    do_route(incident, actor=head, lead=housing)
    login_as(head)
    page.goto(f"{live_server.url}/incidents/{incident.pk}/")
    editor = page.locator("form.answer-editor")
    override = editor.locator("[data-quality-override]")
    editor.locator("label[for=id_answer_kind_primary]").click()
    text = editor.locator("textarea[name=text]")
    text.fill("")
    text.press_sequentially("Здравствуйте! Яму отремонтируют.", delay=5)

    editor.locator("[data-check-blocked]").wait_for(timeout=15_000)
    assert override.is_visible()
    editor.locator("textarea[name=quality_override_reason]").fill("Срок назовёт подрядчик, ответ нужен сейчас")
    editor.locator("input[name=link]").fill(LINK)
    editor.locator("[data-publish]").click()
    page.locator(".published-answer").first.wait_for()
    answer = incident.answers.get()
    assert (answer.status, answer.quality_override_reason) == (
        AnswerStatus.PUBLISHED,
        "Срок назовёт подрядчик, ответ нужен сейчас",
    )
