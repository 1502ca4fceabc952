"""The import reader streams: rows are parsed again from the bytes on each pass, the text decoded in pieces.

The 100,000-row measurement is bench/import_100k.py; here, that streaming reads exactly what reading it whole did.
"""

from __future__ import annotations

import pytest

from otklik.intake import importing
from otklik.intake.importing import StreamedRows, read_table

CSV = (
    "\ufeffID;Текст;Дата\r\n"
    '1;"Нет воды,\r\nсовсем нет";29.11.2026 10:00\r\n'
    "\r\n"
    "2;Яма на Ленина;29.11.2026 11:00\r\n"
    "3;Короткая\r\n"
    "4;Последняя, без конца строки;29.11.2026 12:00"
)
# Numbered by records, as the reader always did (a quoted line break does not start a new record).
EXPECTED = [
    (2, ["1", "Нет воды,\r\nсовсем нет", "29.11.2026 10:00"]),
    (4, ["2", "Яма на Ленина", "29.11.2026 11:00"]),
    (5, ["3", "Короткая", None]),
    (6, ["4", "Последняя, без конца строки", "29.11.2026 12:00"]),
]


@pytest.mark.parametrize("chunk", [1, 2, 3, 7, 1 << 20])
@pytest.mark.parametrize("encoding", ["utf-8", "cp1251", "utf-16"])
def test_rows_are_the_same_whatever_the_pieces_the_text_is_decoded_in(monkeypatch, chunk, encoding):
    monkeypatch.setattr(importing, "DECODE_CHUNK", chunk)
    text = CSV if encoding == "utf-8" else CSV.lstrip("\ufeff")
    table = read_table(text.encode(encoding))
    assert table.headers == ["ID", "Текст", "Дата"]
    assert isinstance(table.rows, StreamedRows)
    assert table.total_rows == 4
    assert list(table.rows) == EXPECTED
    assert list(table.rows) == EXPECTED  # a second pass reads it again
    assert table.rows[1] == EXPECTED[1]


def test_old_mac_line_ends_are_lines_too():
    table = read_table("ID;Текст;Дата\r1;Нет воды;29.11.2026 10:00\r2;Яма;29.11.2026 11:00\r".encode())
    assert [cells for _n, cells in table.rows] == [
        ["1", "Нет воды", "29.11.2026 10:00"],
        ["2", "Яма", "29.11.2026 11:00"],
    ]


def test_a_preview_is_a_list_of_the_first_rows():
    table = read_table(CSV.encode(), limit=2)
    assert table.rows == EXPECTED[:2]
