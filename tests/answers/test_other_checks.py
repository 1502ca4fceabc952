"""greeting_missing, evidence_missing, profanity, too_short/too_long, rating_request_after_refusal, spelling;
the severities from the settings and the order of findings."""

from __future__ import annotations

import pytest

from otklik.answers.checks import CODES, DEFAULT_SEVERITY, run_checks
from tests.answers.helpers import flagged, of

BODY = "Спасибо, что сообщили о яме на улице Ленина. Дорожная служба заделает её до 15 декабря."


@pytest.mark.parametrize(
    "greeting", ["Здравствуйте!", "Добрый день!", "Добрый вечер, Алексей!", "Уважаемая Анна!", "Анна, здравствуйте!"]
)
def test_a_greeting_at_the_start_is_enough(greeting):
    assert of("greeting_missing", f"{greeting} {BODY}") == []


def test_a_missing_greeting_is_a_warning_at_zero():
    (finding,) = of("greeting_missing", BODY)

    assert (finding.start, finding.end, finding.severity) == (0, 0, "warning")
    assert finding.suggestion == "Здравствуйте!"


def test_a_greeting_deep_in_the_text_does_not_count():
    assert len(of("greeting_missing", BODY + " " + BODY + " Здравствуйте всем соседям.")) == 1


HELLO = "Здравствуйте, Дмитрий! "


@pytest.mark.parametrize(
    ("sentence", "phrase"),
    [
        ("Работы по ремонту подъезда выполнены.", "выполнены"),
        ("Яма у остановки устранена, покрытие восстановлено.", "устранена"),
        ("Произведён ремонт кровли над третьим подъездом.", "Произведён"),
        ("Мусор с площадки у дома 14 вывезен.", "вывезен"),
        ("Управляющая компания заменила трубу в подвале.", "заменила"),
        ("Подрядчик вывез мусор с площадки.", "вывез"),
    ],
)
def test_work_done_without_evidence_is_an_error(sentence, phrase):
    findings = of("evidence_missing", HELLO + sentence)

    assert [(HELLO + sentence)[f.start : f.end] for f in findings] == [phrase]
    assert findings[0].severity == "error"


@pytest.mark.parametrize(
    "evidence",
    ["Фото прилагаем.", "Фотоматериалы в комментарии.", "Акт выполненных работ подписан.", "Прилагаем снимки."],
)
def test_a_mentioned_photo_or_act_is_evidence(evidence):
    assert of("evidence_missing", HELLO + "Работы по ремонту подъезда выполнены. " + evidence) == []


def test_an_attachment_is_evidence():
    assert of("evidence_missing", HELLO + "Работы по ремонту подъезда выполнены.", attachments=1) == []


def test_a_promise_or_a_negation_is_not_a_report_of_work_done():
    text = HELLO + "Работы будут выполнены до 10 декабря. Пока яма не устранена, поставили ограждение."

    assert of("evidence_missing", text) == []


@pytest.mark.parametrize("word", ["х*рню", "бл@", "хуйня", "пизд*ц", "придурок"])
def test_profanity_masked_or_not_is_an_error(word):
    text = HELLO + f"Нечего писать {word} в комментариях, двор убрали, фото прилагаем."

    findings = of("profanity", text)

    assert [text[f.start : f.end] for f in findings] == [word]
    assert findings[0].severity == "error"


def test_a_clean_answer_has_no_profanity():
    assert of("profanity", HELLO + "Сук и веток на тротуаре больше нет, дворник убрал их утром, фото прилагаем.") == []


def test_too_short_and_too_long_follow_the_settings(settings):
    assert [f.code for f in run_checks("Здравствуйте! Передано в работу.") if f.code.startswith("too_")] == [
        "too_short"
    ]
    long_text = "Здравствуйте! " + BODY * 40
    (finding,) = of("too_long", long_text)
    assert (finding.start, finding.end) == (2500, len(long_text))

    settings.OTKLIK_ANSWER_MAX_CHARS = 10_000
    settings.OTKLIK_ANSWER_MIN_CHARS = 10
    assert of("too_long", long_text) == []
    assert of("too_short", "Здравствуйте! Передано в работу.") == []


REFUSAL = (
    "Здравствуйте, Елена! К сожалению, установить лежачий полицейский на улице Нефтяников невозможно: "
    "это магистральная улица."
)


def test_a_rating_request_after_a_refusal_is_flagged():
    text = REFUSAL + " Пожалуйста, оцените наш ответ."

    assert flagged("rating_request_after_refusal", text) == ["оцените"]


def test_a_rating_request_after_a_good_outcome_is_fine():
    text = "Здравствуйте! Площадку очистили сегодня утром, фото прилагаем. Будем рады, если оцените наш ответ."

    assert of("rating_request_after_refusal", text) == []


def test_a_refusal_without_a_rating_request_is_fine():
    assert of("rating_request_after_refusal", REFUSAL) == []


def test_misspelled_words_are_flagged_with_a_suggestion():
    text = "Здравствуйте, Николай! Спосибо за сообщение. Тротуар отремонтируют до 20 декабря, мы прослидим за этим."

    findings = of("spelling", text)

    assert [(text[f.start : f.end], f.suggestion) for f in findings] == [
        ("Спосибо", "Спасибо"),
        ("прослидим", "проследим"),
    ]


def test_city_words_names_abbreviations_and_numbers_are_not_misspellings():
    text = (
        "Нижневартовск, добрый день! Дорожники МКУ «УКС» очистят остановку на улице Мусы Джалиля до 9 утра, "
        "ямочный ремонт у ТЦ Kvartal 2a закончат завтра. Самотлорские дороги тоже проверят. Иванов Пётр Ильич "
        "из ДЕЗ проследит за работами."
    )

    assert of("spelling", text) == []


def test_severity_can_be_changed_or_switched_off_per_code(settings):
    settings.OTKLIK_ANSWER_CHECK_SEVERITY = {"greeting_missing": "error", "too_short": "off"}

    findings = run_checks("Передано в работу.")

    assert {f.code: f.severity for f in findings}["greeting_missing"] == "error"
    assert "too_short" not in {f.code for f in findings}


def test_every_code_has_a_default_severity_as_in_the_issue():
    assert DEFAULT_SEVERITY == {
        "greeting_missing": "warning",
        "deadline_missing": "error",
        "evidence_missing": "error",
        "bureaucratese": "warning",
        "legal_overload": "warning",
        "personal_data": "error",
        "profanity": "error",
        "too_long": "warning",
        "too_short": "warning",
        "rating_request_after_refusal": "warning",
        "spelling": "warning",
    }
    assert len(CODES) == 11


def test_findings_are_sorted_by_start_and_offsets_are_code_points():
    text = (
        "Добрый день. Данный вопрос находится на контроле, ремонт выполнят в ближайшее время. 🙂 Тел. 8 912 345 67 89."
    )

    findings = run_checks(text)

    assert [f.start for f in findings] == sorted(f.start for f in findings)
    phone = next(f for f in findings if f.code == "personal_data")
    assert text[phone.start : phone.end] == "8 912 345 67 89"
    assert all(0 <= f.start <= f.end <= len(text) for f in findings)


def test_a_templates_greeting_variable_counts_as_a_greeting():
    assert of("greeting_missing", "{greeting} " + BODY) == []
