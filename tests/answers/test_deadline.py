"""deadline_missing: a promise or a confirmed problem needs a concrete date or period."""

from __future__ import annotations

import pytest

from tests.answers.helpers import flagged, of

HELLO = "Здравствуйте, Анна! Спасибо за сообщение. "


@pytest.mark.parametrize(
    ("sentence", "phrase"),
    [
        ("Светильники заменят в ближайшее время.", "в ближайшее время"),
        ("Яму заделают в кратчайшие сроки.", "в кратчайшие сроки"),
        ("Скамейки установят по мере возможности.", "по мере возможности"),
        ("Будет рассмотрен вопрос о ремонте двора.", "Будет рассмотрен вопрос"),
    ],
)
def test_it_flags_the_vague_promise_itself(sentence, phrase):
    text = HELLO + sentence

    assert flagged("deadline_missing", text) == [phrase]


@pytest.mark.parametrize(
    "when",
    [
        "до 15 декабря",
        "в течение 3 дней",
        "в декабре",
        "до конца недели",
        "завтра",
        "15.12.2026",
        "летом 2027 года",
        "через две недели",
        "со сроком две недели",
        "на летних каникулах",
    ],
)
def test_it_accepts_a_concrete_date_or_period(when):
    assert of("deadline_missing", HELLO + f"Дорожная служба заделает яму {when}.") == []


def test_a_vague_phrase_is_fine_when_its_sentence_has_a_date():
    text = HELLO + "Подрядчик выйдет в ближайшее время, не позднее 5 декабря."

    assert of("deadline_missing", text) == []


def test_a_vague_phrase_is_flagged_even_when_another_sentence_has_a_date():
    text = HELLO + "Яму заделают до 15 декабря. Освещение починят в ближайшее время."

    assert flagged("deadline_missing", text) == ["в ближайшее время"]


def test_it_flags_a_plain_promise_when_the_answer_has_no_date_at_all():
    text = HELLO + "Ремонт освещения на улице Северной запланирован, светильники заменят."

    assert flagged("deadline_missing", text) == ["запланирован", "заменят"]


def test_a_phone_that_looks_like_a_date_is_not_a_date():
    text = HELLO + "Ремонт освещения запланирован. Телефон прораба: 912-251-12-26."

    assert flagged("deadline_missing", text) == ["запланирован"]


def test_a_date_that_looks_like_a_phone_is_still_a_date():
    text = HELLO + "Ремонт освещения запланирован на 15.12.2026."

    assert of("deadline_missing", text) == []


def test_a_report_of_work_done_needs_no_date():
    text = HELLO + "Яму у остановки заделали вчера, фото прилагаем."

    assert of("deadline_missing", text) == []


def test_a_quoted_vague_phrase_of_the_citizen_is_not_ours():
    text = HELLO + "Вы пишете, что вам обещали «в ближайшее время». Яму заделают до 3 декабря."

    assert of("deadline_missing", text) == []


def test_its_severity_is_an_error():
    assert {f.severity for f in of("deadline_missing", HELLO + "Сделаем в ближайшее время.")} == {"error"}


def test_a_present_routine_is_not_a_promise_but_an_imperfective_future_is():
    assert of("deadline_missing", HELLO + "Площадку убрали. Теперь мусор вывозят каждый день, фото прилагаем.") == []
    assert flagged("deadline_missing", HELLO + "Двор будут убирать чаще, мы проследим.") == ["будут убирать"]
