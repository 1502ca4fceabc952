"""Reading exports: CSV in UTF-8 (with or without BOM) or cp1251 with `,` `;` or tab, XLSX, and files that cannot
be read at all."""

from __future__ import annotations

import io

import pytest
from django.utils.translation import gettext as _
from openpyxl import Workbook

from otklik.intake.importing import ImportFileError, read_table


def test_it_reads_a_utf8_csv_with_commas_and_quoted_multiline_texts(sample):
    table = read_table(sample("im_utf8_comma.csv"))
    assert table.file_format == "csv"
    assert (table.encoding, table.delimiter) == ("utf-8", ",")
    assert table.headers[:3] == ["ID инцидента", "Дата создания", "Текст"]
    assert table.total_rows == 7
    number, cells = table.rows[1]
    assert number == 3
    assert cells[2] == "На Чапаева у остановки огромная яма, вчера пробил колесо.\nКогда засыплют?"


def test_it_reads_a_cp1251_csv_with_semicolons(sample):
    table = read_table(sample("pos_cp1251_semicolon.csv"))
    assert (table.encoding, table.delimiter) == ("cp1251", ";")
    assert table.headers == ["Номер сообщения", "Дата подачи", "Категория", "Текст сообщения", "Заявитель", "Статус"]
    assert table.rows[0][1][3] == "Не убран снег во дворе ул. Северная 44, машины буксуют"


def test_it_drops_the_utf8_bom_so_the_first_header_is_clean(sample):
    data = sample("im_utf8_bom_semicolon.csv")
    assert data.startswith(b"\xef\xbb\xbf")
    table = read_table(data)
    assert (table.encoding, table.delimiter) == ("utf-8-sig", ";")
    assert table.headers[0] == "ID инцидента"


def test_it_reads_a_tab_separated_file(sample):
    table = read_table(sample("im_no_ids_tab.csv"))
    assert table.delimiter == "\t"
    assert table.headers == ["Дата создания", "Текст", "Автор"]


def test_it_takes_the_delimiter_from_the_header_when_texts_are_full_of_commas():
    data = (
        "ID;Текст;Дата\n1;Яма, лужа, грязь, темно, страшно;29.11.2026 10:00\n2;Нет воды, нет света;29.11.2026 11:00\n"
    )
    table = read_table(data.encode())
    assert table.delimiter == ";"
    assert table.rows[0][1] == ["1", "Яма, лужа, грязь, темно, страшно", "29.11.2026 10:00"]


def test_an_explicit_encoding_wins_over_the_guess(sample):
    data = sample("pos_cp1251_semicolon.csv")
    assert read_table(data, encoding="cp1251").headers[0] == "Номер сообщения"
    with pytest.raises(ImportFileError):
        read_table(data, encoding="utf-8")


def test_an_explicit_delimiter_wins_over_the_guess(sample):
    table = read_table(sample("im_utf8_comma.csv"), delimiter=";")
    assert table.delimiter == ";"
    assert len(table.headers) == 1


def test_it_reads_the_first_sheet_of_an_xlsx_with_date_cells_and_numeric_ids(sample):
    table = read_table(sample("im_export.xlsx"))
    assert table.file_format == "xlsx"
    assert table.headers[1] == "ID сообщения"
    assert table.total_rows == 4  # the trailing empty rows are not records
    number, cells = table.rows[0]
    assert number == 2
    assert cells[1] == 880001
    assert cells[2].year == 2026 and cells[2].hour == 14


def test_the_header_is_the_first_non_empty_row_and_row_numbers_are_the_files():
    data = "\n\nID;Текст;Дата\n\n7;Текст;29.11.2026 10:00\n".encode()
    table = read_table(data)
    assert table.headers == ["ID", "Текст", "Дата"]
    assert table.rows == [(5, ["7", "Текст", "29.11.2026 10:00"])]


def test_empty_and_repeated_header_names_are_made_unique():
    table = read_table("Текст;;Текст\nа;б;в\n".encode())
    assert table.headers == ["Текст", _("Column %(n)s") % {"n": 2}, "Текст (2)"]


@pytest.mark.parametrize(
    "data",
    [
        b"",
        b"   \r\n  ",
        b"%PDF-1.4 something",
        b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1 old excel",
        b"PK\x03\x04 not really a zip",
        b"\x98\x98\xff\xfe\x98 neither utf-8 nor cp1251",
    ],
    ids=["empty", "blank", "pdf", "xls", "broken-zip", "undecodable"],
)
def test_a_file_that_is_not_a_readable_table_is_refused_with_a_reason(data):
    with pytest.raises(ImportFileError) as error:
        read_table(data)
    assert error.value.message
    assert error.value.field == "file"


def test_an_xlsx_without_any_row_has_no_header():
    buffer = io.BytesIO()
    Workbook().save(buffer)
    with pytest.raises(ImportFileError):
        read_table(buffer.getvalue())


def test_a_bad_encoding_choice_is_refused():
    with pytest.raises(ImportFileError):
        read_table(b"a;b\n1;2\n", encoding="koi8-r")


def test_a_preview_reads_only_the_first_rows(sample):
    table = read_table(sample("im_utf8_comma.csv"), limit=2)
    assert [number for number, _cells in table.rows] == [2, 3]
    assert read_table(sample("im_export.xlsx"), limit=1).total_rows == 1
