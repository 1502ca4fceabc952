"""personal_data: phones, document numbers, e-mails, flats of private persons — each spanned."""

from __future__ import annotations

import pytest

from tests.answers.helpers import flagged, of

HELLO = "Здравствуйте, Мария! "


@pytest.mark.parametrize(
    "phone",
    ["+7 (912) 345-67-89", "8 912 345 67 89", "89123456789", "+79123456789", "8-912-345-67-89", "912-251-12-26"],
)
def test_it_flags_a_mobile_number_in_any_common_format(phone):
    text = HELLO + f"Мастер свяжется с вами, его номер {phone}, течь устранят до 10 декабря."

    assert flagged("personal_data", text) == [phone]


def test_a_federal_hotline_and_the_emergency_number_are_not_personal():
    text = HELLO + "Позвоните на горячую линию 8-800-100-20-30 или в ЕДДС по номеру 112."

    assert of("personal_data", text) == []


def test_a_city_number_of_a_named_department_is_not_personal():
    text = HELLO + "Диспетчерская управляющей компании: 8 (3466) 41-20-30, круглосуточно."

    assert of("personal_data", text) == []


def test_a_city_number_without_a_department_is_personal():
    text = HELLO + "Ваш сосед просил позвонить ему: 41-20-30."

    assert flagged("personal_data", text) == ["41-20-30"]


def test_a_date_is_not_a_phone():
    text = HELLO + "Яму заделают до 15.12.2026, а 10-12 декабря перекроют проезд."

    assert of("personal_data", text) == []


@pytest.mark.parametrize(
    ("sentence", "span"),
    [
        ("Козловой Т. И. (СНИЛС 123-456-789 01) нужно прийти в офис.", "СНИЛС 123-456-789 01"),
        ("Заявитель предъявил паспорт серии 67 12 № 345678.", "паспорт серии 67 12 № 345678"),
        ("ИНН заявителя 860312345678 указан в заявлении.", "ИНН заявителя 860312345678"),
        ("Номер 123-456-789 01 указан в заявлении.", "123-456-789 01"),
        ("Напишите Светлане на svetlana.k1985@mail.ru.", "svetlana.k1985@mail.ru"),
        ("Протечка из кв. 45 устранена.", "кв. 45"),
        ("Собственник квартиры 7 предупреждён.", "квартиры 7"),
        ("Начисления по лицевому счёту № 1234567 пересчитают.", "лицевому счёту № 1234567"),
    ],
)
def test_it_flags_documents_e_mails_and_flats(sentence, span):
    assert flagged("personal_data", HELLO + sentence) == [span]


def test_an_organisations_inn_and_an_official_mailbox_are_not_personal():
    text = HELLO + "Подрядчик ООО «Дорстрой» (ИНН 8603123456). Пишите нам на priem@n-vartovsk.ru."

    assert of("personal_data", text) == []


def test_square_metres_are_not_a_flat():
    assert of("personal_data", HELLO + "Отремонтируют 120 кв. м покрытия до 5 декабря.") == []


def test_each_item_has_its_own_finding_and_is_an_error():
    text = HELLO + "Протечка из квартиры 45 устранена, собственник кв. 45 предупреждён, тел. 8 912 345 67 89."

    findings = of("personal_data", text)

    assert [text[f.start : f.end] for f in findings] == ["квартиры 45", "кв. 45", "8 912 345 67 89"]
    assert {f.severity for f in findings} == {"error"}
