"""Mapping the columns of IM and ПОС exports to a post, and converting a row: dates, ids, links, topics."""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

import pytest
import time_machine

from otklik.intake.importing import (
    TopicIndex,
    content_hash,
    find_column,
    guess_mapping,
    map_row,
    map_rows,
    parse_posted_at,
)
from otklik.org.models import Topic

CITY = ZoneInfo("Asia/Yekaterinburg")
NOW = dt.datetime(2026, 11, 29, 12, 0, tzinfo=CITY)


def named(headers, mapping):
    return {target: headers[index] for target, index in mapping.items()}


def test_it_recognises_the_columns_of_an_incident_management_export():
    headers = ["ID инцидента", "Дата создания", "Текст", "Ссылка", "Автор", "Рубрика", "Статус", "Текст ответа"]
    assert named(headers, guess_mapping(headers)) == {
        "external_id": "ID инцидента",
        "posted_at": "Дата создания",
        "text": "Текст",
        "url": "Ссылка",
        "author": "Автор",
        "topic": "Рубрика",
    }


def test_it_recognises_the_columns_of_a_pos_export():
    headers = ["Номер сообщения", "Дата подачи", "Категория", "Текст сообщения", "Заявитель", "Статус"]
    assert named(headers, guess_mapping(headers)) == {
        "external_id": "Номер сообщения",
        "posted_at": "Дата подачи",
        "topic": "Категория",
        "text": "Текст сообщения",
        "author": "Заявитель",
    }


def test_answers_change_dates_and_the_authors_id_are_not_taken_for_the_post():
    headers = ["Текст ответа", "Дата изменения", "ID автора", "Содержание обращения", "Дата создания (МСК)", "Номер"]
    assert named(headers, guess_mapping(headers)) == {
        "text": "Содержание обращения",
        "posted_at": "Дата создания (МСК)",
        "external_id": "Номер",
        "author_id": "ID автора",
    }


def test_headers_are_matched_without_regard_to_case_yo_and_punctuation():
    headers = ["  ТЕКСТ: ", "дата-создания", "Ссылка на пост"]
    assert named(headers, guess_mapping(headers)) == {
        "text": "  ТЕКСТ: ",
        "posted_at": "дата-создания",
        "url": "Ссылка на пост",
    }


def test_an_unknown_layout_gets_no_guess():
    assert guess_mapping(["Колонка А", "Колонка Б"]) == {}


def test_a_column_is_found_by_its_name_or_its_number():
    headers = ["ID инцидента", "Текст"]
    assert find_column(headers, "текст") == 1
    assert find_column(headers, "id инцидента") == 0
    assert find_column(headers, "2") == 1
    assert find_column(headers, "3") is None
    assert find_column(headers, "Автор") is None


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("29.11.2026 14:05", dt.datetime(2026, 11, 29, 14, 5, tzinfo=CITY)),
        ("29.11.2026 14:05:33", dt.datetime(2026, 11, 29, 14, 5, 33, tzinfo=CITY)),
        ("29.11.2026", dt.datetime(2026, 11, 29, tzinfo=CITY)),
        ("9.1.26 8:05", dt.datetime(2026, 1, 9, 8, 5, tzinfo=CITY)),
        ("2026-11-29 14:05:00", dt.datetime(2026, 11, 29, 14, 5, tzinfo=CITY)),
        ("2026-11-29T14:05:00+03:00", dt.datetime(2026, 11, 29, 16, 5, tzinfo=CITY)),
        ("2026-11-29T09:05:00Z", dt.datetime(2026, 11, 29, 14, 5, tzinfo=CITY)),
        (dt.datetime(2026, 11, 29, 14, 5), dt.datetime(2026, 11, 29, 14, 5, tzinfo=CITY)),  # noqa: DTZ001
        (dt.date(2026, 11, 29), dt.datetime(2026, 11, 29, tzinfo=CITY)),
        (46355.5, dt.datetime(2026, 11, 29, 12, 0, tzinfo=CITY)),
        ("46355,5", dt.datetime(2026, 11, 29, 12, 0, tzinfo=CITY)),
    ],
)
def test_it_reads_the_dates_exports_carry_and_a_naive_one_is_city_time(value, expected):
    assert parse_posted_at(value) == expected


@pytest.mark.parametrize("value", ["вчера", "31.02.2026 10:00", "29.11.2026 25:00", "12345", "", True])
def test_it_refuses_what_is_not_a_date(value):
    with pytest.raises((ValueError, OverflowError)):
        parse_posted_at(value)


HEADERS = ["ID", "Текст", "Дата", "Ссылка", "Автор", "Рубрика"]
MAPPING = {"external_id": 0, "text": 1, "posted_at": 2, "url": 3, "author": 4, "topic": 5}


def test_a_good_row_becomes_the_values_of_a_post():
    row = map_row(
        2, ["77", " Нет воды ", "28.11.2026 10:00", "vk.com/wall-1_2", "Ирина", ""], MAPPING, HEADERS, now=NOW
    )
    assert row.ok and not row.warnings
    assert (row.external_id, row.text, row.author) == ("77", "Нет воды", "Ирина")
    assert row.posted_at == dt.datetime(2026, 11, 28, 10, 0, tzinfo=CITY)
    assert row.url == "https://vk.com/wall-1_2"


@pytest.mark.parametrize(
    ("cells", "problem"),
    [
        (["1", "", "28.11.2026 10:00", "", "", ""], "text"),
        (["1", "Текст", "", "", "", ""], "date"),
        (["1", "Текст", "никогда", "", "", ""], "date"),
        (["1", "Текст", "01.01.2027 10:00", "", "", ""], "future"),
        (["1", "Текст", "01.01.1999 10:00", "", "", ""], "past"),
        (["", "Текст", "28.11.2026 10:00", "", "", ""], "id"),
        (["x" * 300, "Текст", "28.11.2026 10:00", "", "", ""], "id"),
    ],
)
def test_a_broken_row_is_rejected_with_a_reason(cells, problem):
    row = map_row(5, cells, MAPPING, HEADERS, now=NOW)
    assert not row.ok
    assert len(row.errors) == 1
    assert row.values == cells


def test_a_bad_link_is_dropped_with_a_warning_and_the_post_kept():
    row = map_row(2, ["1", "Текст", "28.11.2026 10:00", "см. комментарии", "", ""], MAPPING, HEADERS, now=NOW)
    assert row.ok
    assert row.url == ""
    assert len(row.warnings) == 1 and "см. комментарии" in row.warnings[0]


@pytest.mark.django_db
def test_a_topic_is_found_with_or_without_the_star_and_an_unknown_one_is_a_warning(reference):
    topics = TopicIndex()
    star = map_row(2, ["1", "Яма", "28.11.2026 10:00", "", "", "★ Ямы во дворах"], MAPPING, HEADERS, topics=topics)
    plain = map_row(3, ["2", "Яма", "28.11.2026 10:00", "", "", "ямы во дворах"], MAPPING, HEADERS, topics=topics)
    unknown = map_row(4, ["3", "Яма", "28.11.2026 10:00", "", "", "Дороги вообще"], MAPPING, HEADERS, topics=topics)
    assert star.topic == plain.topic == Topic.objects.get(name="Ямы во дворах")
    assert star.ok and not star.warnings
    assert unknown.ok and unknown.topic is None
    assert len(unknown.warnings) == 1 and "Дороги вообще" in unknown.warnings[0]


def test_a_repeated_id_in_the_file_is_rejected_and_the_first_row_kept():
    rows = [
        (2, ["A", "Первый", "28.11.2026 10:00", "", "", ""]),
        (3, ["B", "Второй", "28.11.2026 10:00", "", "", ""]),
        (4, ["A", "Повтор", "28.11.2026 11:00", "", "", ""]),
    ]
    mapped = list(map_rows(rows, MAPPING, HEADERS, now=NOW))
    assert [r.ok for r in mapped] == [True, True, False]
    assert "2" in mapped[2].errors[0] and "A" in mapped[2].errors[0]


def test_without_an_id_column_the_id_is_a_stable_hash_of_the_content():
    mapping = {"text": 1, "posted_at": 2, "author": 4}
    cells = ["", "Нет  воды", "28.11.2026 10:00", "", "Ирина", ""]
    first = map_row(2, cells, mapping, HEADERS, now=NOW)
    again = map_row(9, ["", "нет воды", "28.11.2026 10:00", "", "Ирина", ""], mapping, HEADERS, now=NOW)
    other = map_row(3, ["", "Нет воды!", "28.11.2026 10:00", "", "Ирина", ""], mapping, HEADERS, now=NOW)
    assert first.id_from_hash
    assert first.external_id == again.external_id == content_hash(first)
    assert first.external_id.startswith("hash:")
    assert other.external_id != first.external_id


@time_machine.travel(NOW)
def test_two_identical_rows_without_ids_are_one_post_and_a_rejected_repeat():
    mapping = {"text": 1, "posted_at": 2}
    rows = [(2, ["", "Текст", "28.11.2026 10:00"]), (3, ["", "Текст", "28.11.2026 10:00"])]
    mapped = list(map_rows(rows, mapping, HEADERS[:3]))
    assert [r.ok for r in mapped] == [True, False]
