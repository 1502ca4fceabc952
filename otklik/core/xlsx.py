"""XLSX export of lists (issue 8: "Every list in the UI exports to XLSX with its current filters").

A list view detects `?format=xlsx` after its queryset is filtered and returns `xlsx_response(...)` with the columns
defined in a function next to the view. The workbook is write-only (openpyxl spills the rows to a temporary file), so
memory stays bounded when the rows come from `queryset.iterator(chunk_size=…)`.

Values are converted once, here:
- an aware datetime becomes the city's wall time without a zone (Excel has no zones), formatted «ДД.ММ.ГГГГ ЧЧ:ММ»;
  a date stays a date;
- text is stored as text (data type «s»): a citizen's «=HYPERLINK(…)» never becomes a formula;
- `Link(url, text)` is a clickable cell; a bool is «да»/«нет»; None an empty cell.
"""

from __future__ import annotations

import datetime as dt
import decimal
import itertools
import tempfile
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from typing import Any

from django.conf import settings
from django.http import HttpRequest, HttpResponse
from django.utils import timezone
from django.utils.functional import Promise
from django.utils.http import content_disposition_header
from django.utils.translation import gettext as _

from otklik.core.worktime import city_zone

CONTENT_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
DATETIME_FORMAT = "DD.MM.YYYY HH:MM"
DATE_FORMAT = "DD.MM.YYYY"
# A safety valve, not a page: every matching row up to it is exported, then a note says the list was cut.
DEFAULT_MAX_ROWS = 100_000
SAMPLE_ROWS = 50  # rows looked at to size the columns
MIN_WIDTH, MAX_WIDTH = 6, 60
SHEET_TITLE_CHARS = 31  # Excel's limit
FORBIDDEN_IN_TITLE = str.maketrans({c: " " for c in "[]:*?/\\"})


@dataclass(frozen=True)
class Link:
    """A cell showing `text` (the URL itself when empty) that opens `url`."""

    url: str
    text: str = ""


# A header: a (lazy) string, or a (header, width) pair. Typed loosely: headers mix strings, lazy strings and pairs.
Header = Any
Sheet = tuple[Any, Sequence[Header], Iterable[Sequence[Any]]]


def wants_xlsx(request: HttpRequest) -> bool:
    return request.GET.get("format") == "xlsx"


def export_filename(stem: str) -> str:
    """«otklik-<stem>-YYYY-MM-DD-HHMM.xlsx», stamped with the city's time."""
    stamp = timezone.localtime(timezone.now(), city_zone()).strftime("%Y-%m-%d-%H%M")
    return f"otklik-{stem}-{stamp}.xlsx"


def max_rows() -> int:
    return int(getattr(settings, "OTKLIK_XLSX_MAX_ROWS", DEFAULT_MAX_ROWS))


def excel_value(value: Any) -> Any:
    """`value` as openpyxl should store it (see the module's docstring)."""
    if value is None or isinstance(value, int | float | decimal.Decimal) and not isinstance(value, bool):
        return value
    if isinstance(value, bool):
        return _("yes") if value else _("no")
    if isinstance(value, dt.datetime):
        if timezone.is_aware(value):
            value = timezone.localtime(value, city_zone())
        return value.replace(tzinfo=None, microsecond=0)
    if isinstance(value, dt.date):
        return value
    return clean_text(str(value))


def clean_text(text: str) -> str:
    """Drop the control characters XML cannot hold (openpyxl refuses them); cut to Excel's 32 767 characters."""
    from openpyxl.cell.cell import ILLEGAL_CHARACTERS_RE

    return ILLEGAL_CHARACTERS_RE.sub("", text)[:32_767]


def _display_length(value: Any) -> int:
    if isinstance(value, Link):
        value = value.text or value.url
    if isinstance(value, dt.datetime):
        return 16
    if isinstance(value, dt.date):
        return 10
    text = "" if value is None else str(value)
    return max((len(line) for line in text.splitlines()), default=0)


def _widths(headers: Sequence[Header], sample: Sequence[Sequence[Any]]) -> list[float]:
    """The header's own width when it has one, else the longest of the header and the sampled values, bounded."""
    widths: list[float] = []
    for index, header in enumerate(headers):
        if isinstance(header, tuple):
            widths.append(float(header[1]))
            continue
        longest = max([len(str(header)), *(_display_length(row[index]) for row in sample if index < len(row))])
        widths.append(float(min(MAX_WIDTH, max(MIN_WIDTH, longest + 2))))
    return widths


def _sheet_title(title: str | Promise, taken: set[str]) -> str:
    base = (str(title).translate(FORBIDDEN_IN_TITLE).strip() or _("Sheet"))[:SHEET_TITLE_CHARS]
    name, n = base, 2
    while name.lower() in taken:
        suffix = f" ({n})"
        name, n = base[: SHEET_TITLE_CHARS - len(suffix)] + suffix, n + 1
    taken.add(name.lower())
    return name


def _write_sheet(
    workbook: Any, title: str, headers: Sequence[Header], rows: Iterable[Sequence[Any]], limit: int
) -> int:
    from openpyxl.cell import WriteOnlyCell
    from openpyxl.styles import Font
    from openpyxl.utils import get_column_letter

    sheet = workbook.create_sheet(title=title)
    iterator: Iterator[Sequence[Any]] = iter(rows)
    sample = list(itertools.islice(iterator, SAMPLE_ROWS))
    for index, width in enumerate(_widths(headers, sample), start=1):
        sheet.column_dimensions[get_column_letter(index)].width = width
    sheet.freeze_panes = "A2"
    bold = Font(bold=True)

    def cell(value: Any) -> Any:
        if isinstance(value, Link):
            c = WriteOnlyCell(sheet, value=clean_text(value.text or value.url))
            c.data_type = "s"
            c.hyperlink = value.url
            return c
        value = excel_value(value)
        c = WriteOnlyCell(sheet, value=value)
        if isinstance(value, str):
            c.data_type = "s"  # text as text: «=…», «+…», «-…», «@…» are never formulas
        elif isinstance(value, dt.datetime):
            c.number_format = DATETIME_FORMAT
        elif isinstance(value, dt.date):
            c.number_format = DATE_FORMAT
        return c

    def header_cell(header: Header) -> Any:
        c = cell(str(header[0] if isinstance(header, tuple) else header))
        c.font = bold
        return c

    sheet.append([header_cell(h) for h in headers])
    written = 0
    for row in itertools.chain(sample, iterator):
        if written >= limit:
            sheet.append([cell(_("Only the first %(n)s rows are exported; narrow the filters.") % {"n": limit})])
            break
        sheet.append([cell(value) for value in row])
        written += 1
    return written


def xlsx_response(filename: str, sheets: Sequence[Sheet], *, limit: int | None = None) -> HttpResponse:
    """A workbook with one sheet per `(title, headers, rows)`, as an attachment named `filename`.

    Headers are strings (the column is sized from the header and the first rows) or `(header, width)` pairs. At most
    `limit` rows (default `OTKLIK_XLSX_MAX_ROWS`, 100 000) are written per sheet; a note row follows when there were
    more.
    """
    from openpyxl import Workbook

    limit = max_rows() if limit is None else limit
    workbook = Workbook(write_only=True)
    taken: set[str] = set()
    for title, headers, rows in sheets:
        _write_sheet(workbook, _sheet_title(title, taken), headers, rows, limit)
    with tempfile.SpooledTemporaryFile(max_size=8 * 1024 * 1024) as buffer:
        workbook.save(buffer)
        buffer.seek(0)
        content = buffer.read()
    response = HttpResponse(content, content_type=CONTENT_TYPE)
    response["Content-Disposition"] = content_disposition_header(True, filename)
    response["Cache-Control"] = "no-store"
    return response


def field_header(model: Any, name: str) -> str:
    """A column header from the model field's (translated) verbose name."""
    from django.utils.text import capfirst

    return capfirst(str(model._meta.get_field(name).verbose_name))


def absolute(request: HttpRequest, path: str) -> Link:
    """A link cell to a page of the app."""
    return Link(request.build_absolute_uri(path))
