"""bureaucratese and legal_overload: канцелярит and piled-up acts, each highlighted."""

from __future__ import annotations

import pytest

from tests.answers.helpers import flagged, of

HELLO = "Здравствуйте, Олег! "


@pytest.mark.parametrize(
    ("sentence", "phrase", "suggestion"),
    [
        ("Двор отремонтируют в рамках программы до 1 июля.", "в рамках", "в / по"),
        ("Сейчас осуществляется ремонт дороги, закончат 5 декабря.", "осуществляется ремонт", "ремонтируем"),
        ("Данный вопрос решат до 1 декабря.", "Данный", "этот"),
        ("В целях обеспечения безопасности знак поставят 3 декабря.", "В целях обеспечения", "чтобы обеспечить"),
        ("Работы выполнят в соответствии с планом до мая.", "в соответствии с", "по / согласно"),
        ("На основании вышеизложенного яму заделают завтра.", "На основании вышеизложенного", "поэтому"),
        ("Доводим до вашего сведения, что яму заделают завтра.", "Доводим до вашего сведения, что", "сообщаем, что"),
    ],
)
def test_it_highlights_a_stock_phrase_with_a_plain_suggestion(sentence, phrase, suggestion):
    text = HELLO + sentence

    findings = of("bureaucratese", text)

    assert [(text[f.start : f.end], f.suggestion) for f in findings] == [(phrase, suggestion)]
    assert findings[0].severity == "warning"


def test_a_quoted_phrase_of_the_citizen_is_not_flagged():
    for quote in ("«в рамках программы»", '"в рамках программы"'):
        text = HELLO + f"Вы спрашиваете, что значит {quote}. Двор отремонтируют летом 2027 года."

        assert of("bureaucratese", text) == []


def test_it_highlights_a_chain_of_verbal_nouns_in_the_genitive():
    text = HELLO + "Проведена проверка соблюдения порядка содержания общего имущества."

    assert flagged("bureaucratese", text) == ["проверка соблюдения порядка содержания общего имущества"]


def test_a_short_or_concrete_noun_phrase_is_not_a_chain():
    text = HELLO + "Ремонт покрытия дороги у дома 5 закончат до 20 декабря, остановку перенесут."

    assert of("bureaucratese", text) == []


def test_a_plain_answer_has_no_bureaucratese():
    text = HELLO + "Спасибо, что написали. Яму на Ленина заделаем до 15 декабря. Извините за неудобства."

    assert of("bureaucratese", text) == []


ONE_ACT = HELLO + (
    "Содержание двора — обязанность управляющей компании (статья 161 Жилищного кодекса РФ). "
    "Двор уберут до конца недели."
)
MANY_ACTS = HELLO + (
    "В соответствии с Федеральным законом от 06.10.2003 № 131-ФЗ «Об общих принципах организации местного "
    "самоуправления в Российской Федерации», постановлением администрации города от 12.03.2020 № 245 и ст. 16 "
    "Жилищного кодекса РФ двор убирает управляющая компания. Двор уберут до 5 декабря."
)


def test_one_act_cited_properly_is_fine():
    assert of("legal_overload", ONE_ACT) == []


def test_piled_up_acts_are_each_highlighted():
    assert flagged("legal_overload", MANY_ACTS) == [
        "Федеральным законом от 06.10.2003 № 131-ФЗ",
        "постановлением администрации города от 12.03.2020 № 245",
        "ст. 16 Жилищного кодекса",
    ]


def test_numbers_of_schools_and_houses_are_not_acts():
    text = HELLO + "Тротуар у школы № 5 и у дома № 12 отремонтирует УК «Жилищный трест № 1» до 20 декабря."

    assert of("legal_overload", text) == []


def test_an_acts_quoted_title_is_not_bureaucratese():
    assert "организации местного самоуправления" not in " ".join(flagged("bureaucratese", MANY_ACTS))
