"""The one personal-data masker (otklik.documents.masking) used by documents, exports, the report and privacy."""

import pytest

from otklik.documents.masking import MASK, NAME_MASK, mask_personal_data


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("Я, Иванов Иван Иванович, проживаю рядом", f"Я, {NAME_MASK}, проживаю рядом"),
        ("Меня зовут Иван Петров, яма не заделана", f"Меня зовут {NAME_MASK}, яма не заделана"),
        ("С уважением, Петрова А.А.", f"С уважением, {NAME_MASK}"),
        ("ФИО: Сидоров Пётр", f"ФИО: {NAME_MASK}"),
        ("Я Петрова А.В., пишу второй раз", f"Я {NAME_MASK}, пишу второй раз"),
        ("ул. Мира, 1, кв. 15 — течёт крыша", f"ул. Мира, 1, кв. {MASK} — течёт крыша"),
        ("почта ivanov@mail.ru", f"почта {MASK}"),
        ("звоните +7 912 345-67-89", f"звоните {MASK}"),
        ("Горячая линия 8-800-100-20-30", "Горячая линия 8-800-100-20-30"),
        ("Яма у дома 5 по улице Ленина", "Яма у дома 5 по улице Ленина"),
    ],
)
def test_masks_personal_data_and_keeps_the_problem(text, expected):
    assert mask_personal_data(text) == expected


def test_a_letter_whose_lower_case_is_longer_does_not_shift_the_spans():
    # «İ» lowers to two characters: the masked span must still be the e-mail, not a character off.
    assert mask_personal_data("İ пишите на a.b@mail.ru сразу") == f"İ пишите на {MASK} сразу"
