"""The answer editor on the incident card: live checks with highlights, the head's override of the quality gate,
the similar answers panel."""

from __future__ import annotations

import re

import pytest

from otklik.answers.checks import Finding
from otklik.answers.choices import AnswerKind, AnswerStatus
from otklik.answers.models import Answer
from otklik.answers.services import do_draft_answer
from otklik.answers.views_editor import highlight, segments
from otklik.cases.models import Incident
from otklik.cases.services import do_route
from otklik.cases.views import card as card_views
from tests.factories import PASSWORD, ingest

pytestmark = pytest.mark.django_db

LINK = "https://vk.com/wall-1_100?reply=501"
BUREAUCRATIC = "Здравствуйте! В рамках программы осуществляется ремонт дороги."
# A plain promise with no date: `deadline_missing`, an error.
UNDATED = "Здравствуйте, Иван! Спасибо за обращение. Ремонт дороги у дома 5 запланирован, отремонтируют."


def login(client, user):
    assert client.login(username=user.username, password=PASSWORD)
    return client


@pytest.fixture
def routed(operator, housing) -> Incident:
    incident = ingest("Яма на дороге у дома 5 по улице Ленина, уже месяц никто не ремонтирует", author_name="Иван")
    do_route(incident, actor=operator, lead=housing)
    incident.refresh_from_db()
    return incident


def check(client, incident: Incident, text: str):
    return client.post(f"/incidents/{incident.pk}/answers/check/", {"text": text}, HTTP_HX_REQUEST="true")


def marks(content: str) -> list[tuple[str, str, str]]:
    """(severity, codes, marked text) of each <mark> in the response."""
    return re.findall(r'<mark class="finding finding-(\w+)" data-code="([^"]*)"[^>]*>(.*?)</mark>', content, re.S)


# --- the live check -----------------------------------------------------------------------------------------


def test_the_check_marks_each_bureaucratic_phrase_and_lists_its_finding(client, operator, routed):
    response = check(login(client, operator), routed, BUREAUCRATIC)

    content = response.content.decode()
    assert response.status_code == 200
    marked = marks(content)
    assert ("warning", "bureaucratese", "В рамках") in marked
    assert any(code == "bureaucratese" and "осуществляется" in text for _s, code, text in marked)
    assert 'data-code="bureaucratese"' in content
    assert 'href="/kb/check/bureaucratese/"' in content
    assert 'data-errors="0"' in content


def test_a_corrected_text_has_no_marks(client, operator, routed):
    text = "Здравствуйте, Иван! Спасибо за обращение. Яму у дома 5 заделают 12.12.2026, после этого пришлём фото."
    content = check(login(client, operator), routed, text).content.decode()

    assert marks(content) == []
    assert "data-check-clean" in content


def test_an_error_is_counted_and_says_publishing_needs_the_heads_override(client, operator, routed):
    content = check(login(client, operator), routed, UNDATED).content.decode()

    assert 'data-errors="1"' in content or re.search(r'data-errors="[1-9]', content)
    assert "data-check-blocked" in content
    assert any(severity == "error" and "deadline_missing" in codes for severity, codes, _t in marks(content))


def test_html_in_the_text_is_escaped_in_the_highlight(client, operator, routed):
    text = 'Здравствуйте! <script>alert(1)</script> В рамках "<b>" & <img src=x onerror=alert(2)> осуществляется'
    content = check(login(client, operator), routed, text).content.decode()

    assert "<script>alert(1)</script>" not in content
    assert "<img src=x" not in content
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in content
    assert "&amp;" in content
    assert marks(content)  # the phrases are still marked around the escaped text


def test_an_empty_text_is_not_checked(client, operator, routed):
    content = check(login(client, operator), routed, "   ").content.decode()

    assert "<mark" not in content and "data-check-summary" not in content


def test_executors_get_403_from_the_check_and_the_similar_answers(client, executor, routed):
    login(client, executor)

    assert check(client, routed, BUREAUCRATIC).status_code == 403
    assert client.get(f"/incidents/{routed.pk}/answers/similar/").status_code == 403


def test_the_director_gets_403_too_and_a_stranger_is_sent_to_log_in(client, director, routed):
    assert check(client, routed, BUREAUCRATIC).status_code == 302
    login(client, director)
    assert check(client, routed, BUREAUCRATIC).status_code == 403


def test_the_check_only_answers_a_post(client, operator, routed):
    assert login(client, operator).get(f"/incidents/{routed.pk}/answers/check/").status_code == 405


def test_the_card_wires_every_editor_to_the_check(client, operator, routed):
    do_draft_answer(routed, actor=operator, kind=AnswerKind.PRIMARY, text="Черновик ответа в рамках программы.")
    content = login(client, operator).get(f"/incidents/{routed.pk}/").content.decode()

    draft = Answer.objects.get(incident=routed)
    assert content.count(f'hx-post="/incidents/{routed.pk}/answers/check/"') == 2  # the draft and a new answer
    assert f'hx-target="#answer-findings-{draft.pk}"' in content
    assert 'hx-target="#answer-findings-new"' in content
    assert f'hx-get="/incidents/{routed.pk}/answers/similar/"' in content
    assert "otklik/answer_editor.js" in content
    # The override field is the head's: an operator's card has none.
    assert "quality_override_reason" not in content


def test_the_heads_card_has_the_override_field_hidden_until_a_check_finds_errors(client, head, routed):
    content = login(client, head).get(f"/incidents/{routed.pk}/").content.decode()

    assert 'name="quality_override_reason"' in content
    block = re.search(r'<div class="([^"]*)" data-quality-override>', content)
    assert block and "d-none" in block.group(1)


# --- highlighting, unit ----------------------------------------------------------------------------------------


def test_overlapping_spans_are_cut_into_pieces_each_marked_with_its_worst_finding():
    text = "abcdefghij"
    findings = [
        Finding("bureaucratese", "warning", "w", 2, 6),
        Finding("personal_data", "error", "e <x>", 4, 8),
        Finding("greeting_missing", "warning", "missing", 0, 0),
    ]

    pieces = [(p.text, [f.code for f in p.findings]) for p in segments(text, findings)]
    html = str(highlight(text, findings))

    assert pieces == [
        ("ab", []),
        ("cd", ["bureaucratese"]),
        ("ef", ["bureaucratese", "personal_data"]),
        ("gh", ["personal_data"]),
        ("ij", []),
    ]
    assert (
        '<mark class="finding finding-error" data-code="bureaucratese personal_data" title="w · e &lt;x&gt;">ef' in html
    )
    assert html.startswith('ab<mark class="finding finding-warning" data-code="bureaucratese"')
    assert html.endswith("</mark>ij")


def test_spans_outside_the_text_are_clamped():
    html = str(highlight("<ok>", [Finding("too_long", "warning", "long", 2, 99)]))

    assert html == '&lt;o<mark class="finding finding-warning" data-code="too_long" title="long">k&gt;</mark>'


# --- the head's override of the quality gate -----------------------------------------------------------------


def test_the_override_reason_is_passed_to_the_publishing_service(client, head, routed, monkeypatch):
    seen = {}
    real = card_views.do_publish_answer

    def spy(answer, **kwargs):
        seen.update(kwargs)
        return real(answer, **kwargs)

    monkeypatch.setattr(card_views, "do_publish_answer", spy)
    login(client, head).post(
        f"/incidents/{routed.pk}/answers/",
        {
            "kind": "primary",
            "text": UNDATED,
            "link": LINK,
            "action": "publish",
            "quality_override_reason": "  Срок согласуем с подрядчиком, ответ нужен сегодня  ",
        },
        HTTP_HX_REQUEST="true",
    )

    assert seen["quality_override_reason"] == "Срок согласуем с подрядчиком, ответ нужен сегодня"


def test_an_operator_cannot_publish_an_answer_with_errors_and_sees_why_next_to_the_field(client, operator, routed):
    response = login(client, operator).post(
        f"/incidents/{routed.pk}/answers/",
        {"kind": "primary", "text": UNDATED, "link": LINK, "action": "publish"},
        HTTP_HX_REQUEST="true",
    )

    content = response.content.decode()
    assert not Answer.objects.filter(incident=routed).exists()  # a refused publication keeps no draft
    assert "data-quality-override-refused" in content
    assert "запланирован" in content  # what was typed is kept


def test_the_head_publishes_an_answer_with_errors_giving_the_reason(client, head, routed):
    login(client, head)
    refused = client.post(
        f"/incidents/{routed.pk}/answers/",
        {"kind": "primary", "text": UNDATED, "link": LINK, "action": "publish"},
        HTTP_HX_REQUEST="true",
    ).content.decode()
    block = re.search(r'<div class="([^"]*)" data-quality-override>', refused)
    assert block and "d-none" not in block.group(1)  # shown after the refusal, with the error
    assert re.search(r'id="id_answer_quality_override_reason_error"', refused)

    client.post(
        f"/incidents/{routed.pk}/answers/",
        {
            "kind": "primary",
            "text": UNDATED,
            "link": LINK,
            "action": "publish",
            "quality_override_reason": "Дату подрядчик назовёт завтра",
        },
        HTTP_HX_REQUEST="true",
    )

    answer = Answer.objects.get(incident=routed)
    assert answer.status == AnswerStatus.PUBLISHED
    assert answer.quality_override_reason == "Дату подрядчик назовёт завтра"


def test_a_draft_is_published_by_the_head_with_the_override_through_its_own_form(client, head, operator, routed):
    draft = do_draft_answer(routed, actor=operator, kind=AnswerKind.PRIMARY, text=UNDATED)

    login(client, head).post(
        f"/incidents/{routed.pk}/answers/{draft.pk}/",
        {"text": UNDATED, "link": LINK, "action": "publish", "quality_override_reason": "Согласовано устно"},
        HTTP_HX_REQUEST="true",
    )

    draft.refresh_from_db()
    assert (draft.status, draft.quality_override_reason) == (AnswerStatus.PUBLISHED, "Согласовано устно")
