"""Import of «Инцидент Менеджмент» and ПОС exports: reading the file and mapping its columns to a post.

Nothing here writes to the database; the import job's services (`otklik.intake.services`) do.

Reading (`read_table`):
- XLSX (the first sheet, openpyxl in read-only mode) or CSV; the kind is taken from the bytes (an XLSX is a ZIP
  archive), not from the name.
- CSV encoding: UTF-8 with or without a BOM, else cp1251 (Excel's «CSV» on a Russian Windows); UTF-16 with a BOM
  (Excel's «Unicode text»); or the encoding the user chose.
- CSV delimiter: `,`, `;` or a tab, found by `csv.Sniffer` restricted to those three and checked against the header.
- The first non-empty row is the header; wholly empty rows are not records and are passed over. Row numbers are
  those of the file as a spreadsheet shows it (the header of a file without leading blank rows is row 1).

Mapping (`guess_mapping`, `map_row`): the columns of IM and ПОС exports («ID инцидента», «Текст», «Дата создания»,
«Номер сообщения», «Текст сообщения», «Дата подачи», «Категория»…) are recognised; the user confirms or changes the
guess. A row becomes a `MappedRow`: the values of a post, the reasons to reject it (`errors`) and the things
worth telling but not worth losing a citizen's message over (`warnings`):
- an unknown topic (category) → the post is imported without a topic, with a warning on the row: the topic is a
  hint for the classifier, while the message itself still needs an answer;
- a link that is not a link → imported without the link, with a warning.
"""

from __future__ import annotations

import codecs
import csv
import datetime as dt
import hashlib
import io
import itertools
import re
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any
from zoneinfo import ZoneInfo

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.validators import URLValidator
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from otklik.core.errors import DomainError

if TYPE_CHECKING:
    from otklik.org.models import Topic

#: An upload larger than this is refused before it is read (`settings.OTKLIK_IMPORT_MAX_BYTES` overrides it).
DEFAULT_MAX_BYTES = 20 * 1024 * 1024
#: How many data rows the mapping page shows.
PREVIEW_ROWS = 10
#: A post time this far ahead of our clock is a time-zone mistake, not a post.
FUTURE_TOLERANCE = dt.timedelta(minutes=10)
EARLIEST = dt.datetime(2000, 1, 1, tzinfo=dt.UTC)
MAX_ID_LENGTH = 255
MAX_NAME_LENGTH = 255
MAX_URL_LENGTH = 1000
STAR = "★"

ENCODINGS = ("utf-8", "cp1251")
DELIMITERS = {",": ",", ";": ";", "tab": "\t"}

# The fields of a post a column can be mapped to, in the order the mapping form shows them.
TARGETS: tuple[str, ...] = ("text", "posted_at", "external_id", "url", "author", "author_id", "topic")
REQUIRED_TARGETS: tuple[str, ...] = ("text", "posted_at")
TARGET_LABELS: dict[str, Any] = {
    "text": gettext_lazy("Text"),
    "posted_at": gettext_lazy("Date and time"),
    "external_id": gettext_lazy("Id in the source system"),
    "url": gettext_lazy("Link"),
    "author": gettext_lazy("Author"),
    "author_id": gettext_lazy("Author's profile id"),
    "topic": gettext_lazy("Topic (rubricator)"),
}


def max_upload_bytes() -> int:
    return int(getattr(settings, "OTKLIK_IMPORT_MAX_BYTES", DEFAULT_MAX_BYTES))


class ImportFileError(DomainError):
    """The file cannot be read at all (not CSV/XLSX, undecodable, no header, a required column missing)."""

    code = "unreadable"

    def __init__(self, message: Any) -> None:
        super().__init__(message, field="file")


# --- reading ----------------------------------------------------------------------------------------------


class StreamedRows:
    """The data rows of a file, read again from its bytes each time they are iterated (never held all at once).

    A sequence as far as the import needs one: `len()` (counted when the file was first read), iteration in file
    order, and `rows[i]` (by reading up to row i: meant for the first rows). Memory: the file's bytes plus one row.
    """

    def __init__(
        self, records: Callable[[], Iterator[Sequence[Any]]], *, header_number: int, width: int, count: int
    ) -> None:
        self._records = records
        self._header_number = header_number
        self._width = width
        self._count = count

    def __len__(self) -> int:
        return self._count

    def __bool__(self) -> bool:
        return self._count > 0

    def __iter__(self) -> Iterator[tuple[int, list[Any]]]:
        for number, record in enumerate(self._records(), start=1):
            if number <= self._header_number:
                continue
            cells = list(record)
            if all(_is_blank(c) for c in cells):
                continue
            if len(cells) < self._width:
                cells += [None] * (self._width - len(cells))
            yield number, cells

    def __eq__(self, other: object) -> bool:
        if isinstance(other, StreamedRows | list):
            return list(self) == list(other)
        return NotImplemented

    __hash__ = None  # type: ignore[assignment]

    def __getitem__(self, index: int) -> tuple[int, list[Any]]:
        if index < 0:
            index += self._count
        if not 0 <= index < self._count:
            raise IndexError(index)
        for position, row in enumerate(self):
            if position == index:
                return row
        raise IndexError(index)


@dataclass
class Table:
    """A file read: its header and its data rows (numbered as in the file). The rows of a whole file are
    `StreamedRows` (read again from the bytes when iterated); those of a preview (`limit`) a list."""

    file_format: str  # "csv" | "xlsx"
    headers: list[str]
    rows: list[tuple[int, list[Any]]] | StreamedRows
    encoding: str = ""
    delimiter: str = ""

    @property
    def total_rows(self) -> int:
        return len(self.rows)

    def describe(self) -> str:
        """«CSV, cp1251, разделитель «;», 12 строк» — what was read, in the user's words."""
        if self.file_format == "xlsx":
            return _("XLSX (first sheet), %(n)s rows") % {"n": self.total_rows}
        return _("CSV, encoding %(encoding)s, delimiter %(delimiter)s, %(n)s rows") % {
            "encoding": encoding_label(self.encoding),
            "delimiter": delimiter_label(self.delimiter),
            "n": self.total_rows,
        }


def encoding_label(encoding: str) -> str:
    return {
        "utf-8": "UTF-8",
        "utf-8-sig": _("UTF-8 with BOM"),
        "cp1251": "Windows-1251",
        "utf-16": "UTF-16",
    }.get(encoding, encoding)


def delimiter_label(delimiter: str) -> str:
    return _("tab") if delimiter == "\t" else f"«{delimiter}»"


def delimiter_code(delimiter: str) -> str:
    """The form's value for a delimiter (a tab is `tab`)."""
    return "tab" if delimiter == "\t" else delimiter


def read_table(data: bytes, *, encoding: str = "auto", delimiter: str = "auto", limit: int | None = None) -> Table:
    """Read an export from its bytes. Raises ImportFileError with a Russian message when it cannot be read.

    `limit`: read only that many data rows (the preview of a large file).
    """
    if not data.strip():
        raise ImportFileError(_("The file is empty."))
    if data.startswith(b"PK\x03\x04"):
        return _read_xlsx(data, limit)
    if data.startswith(b"\xd0\xcf\x11\xe0"):
        raise ImportFileError(
            _("This is an old Excel file (XLS): open it in Excel and save it as XLSX or CSV, then upload again.")
        )
    if data.startswith(b"%PDF") or data.startswith(b"\x7fELF"):
        raise ImportFileError(_("This is not a table: upload a CSV or XLSX file."))
    used = _decode(data, encoding)
    return _read_csv(data, used, delimiter, limit)


#: The size of the pieces a CSV file is decoded in (the decoded text is never held whole).
DECODE_CHUNK = 1 << 20


def _chunks(data: bytes) -> Iterator[bytes]:
    view = memoryview(data)
    for start in range(0, len(data), DECODE_CHUNK):
        yield bytes(view[start : start + DECODE_CHUNK])


def _text_pieces(data: bytes, encoding: str) -> Iterator[str]:
    """The file's text in pieces, decoded incrementally (strict: an undecodable byte raises UnicodeDecodeError)."""
    decoder = codecs.getincrementaldecoder(encoding)("strict")
    for chunk in _chunks(data):
        piece = decoder.decode(chunk)
        if piece:
            yield piece
    tail = decoder.decode(b"", final=True)
    if tail:
        yield tail


def _lines(data: bytes, encoding: str) -> Iterator[str]:
    """The file's lines with their ends (as a file opened with newline="" gives them to csv.reader: `\n`, `\r\n`
    and a lone `\r` end a line), decoded piece by piece."""
    pending = ""
    for piece in _text_pieces(data, encoding):
        pending += piece
        start = 0
        while True:
            cut = _line_end(pending, start)
            if cut < 0:
                break
            yield pending[start:cut]
            start = cut
        pending = pending[start:]
    if pending:
        yield pending


def _line_end(text: str, start: int) -> int:
    """The index after the first line end at or after `start`, or -1 (a `\r` at the very end may be the first
    half of `\r\n`: wait for more text)."""
    newline = text.find("\n", start)
    ret = text.find("\r", start, newline if newline >= 0 else len(text))
    if ret >= 0:
        if ret + 1 < len(text):
            return ret + 2 if text[ret + 1] == "\n" else ret + 1
        return -1
    return newline + 1 if newline >= 0 else -1


def _decode(data: bytes, encoding: str) -> str:
    """The file's encoding. `auto`: a BOM decides; else strict UTF-8; else cp1251. The whole file is decoded once,
    in pieces, to check it (and that it holds no NUL characters), then dropped."""
    if data.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        if not _decodes(data, "utf-16"):
            raise ImportFileError(_("The file cannot be decoded as UTF-16."))
        return "utf-16"
    if encoding in ("", "auto"):
        candidates = ["utf-8-sig"] if data.startswith(codecs.BOM_UTF8) else ["utf-8", "cp1251"]
    elif encoding in ENCODINGS or encoding == "utf-8-sig":
        # A job stores what was found (utf-8-sig for a BOM): reading it again must work the same way.
        if encoding.startswith("utf-8"):
            candidates = ["utf-8-sig" if data.startswith(codecs.BOM_UTF8) else "utf-8"]
        else:
            candidates = [encoding]
    else:
        raise ImportFileError(_("Unknown encoding «%(value)s»: use utf-8 or cp1251.") % {"value": encoding})
    for candidate in candidates:
        if _decodes(data, candidate):
            return candidate
    if encoding in ("", "auto"):
        raise ImportFileError(
            _("The file is neither UTF-8 nor Windows-1251 text: save it as CSV (UTF-8) or XLSX and upload again.")
        )
    raise ImportFileError(
        _("The file cannot be read in the encoding %(encoding)s: choose another encoding or «automatically».")
        % {"encoding": encoding_label(candidates[0])}
    )


def _decodes(data: bytes, encoding: str) -> bool:
    """True when the bytes are text in this encoding; ImportFileError when that text holds NUL characters."""
    try:
        for piece in _text_pieces(data, encoding):
            if "\x00" in piece:
                raise ImportFileError(_("This is not a text table: upload a CSV or XLSX file."))
    except UnicodeDecodeError:
        return False
    return True


def _sniff_delimiter(data: bytes, encoding: str) -> str:
    """`csv.Sniffer` limited to `,` `;` and tab, checked against the header line (its guess may come from text).
    Looks at the first 50 lines only."""
    lines = [line.rstrip("\r\n") for line in itertools.islice(_lines(data, encoding), 50)]
    header = next((line for line in lines if line.strip()), "")
    counts = {d: header.count(d) for d in (";", ",", "\t")}
    sample = "\n".join(lines[:50])
    try:
        sniffed: str | None = csv.Sniffer().sniff(sample, delimiters=",;\t").delimiter
    except csv.Error:
        sniffed = None
    if sniffed is not None and counts.get(sniffed, 0) > 0:
        return sniffed
    best = max(counts, key=lambda d: counts[d])
    if counts[best] > 0:
        return best
    return sniffed or ";"


def _read_csv(data: bytes, used_encoding: str, delimiter: str, limit: int | None = None) -> Table:
    if delimiter in ("", "auto"):
        delim = _sniff_delimiter(data, used_encoding)
    elif delimiter in DELIMITERS:
        delim = DELIMITERS[delimiter]
    elif delimiter == "\t":
        delim = "\t"
    else:
        raise ImportFileError(_("Unknown delimiter «%(value)s»: use «,», «;» or tab.") % {"value": delimiter})

    def records() -> Iterator[Sequence[Any]]:
        return csv.reader(_lines(data, used_encoding), delimiter=delim)

    try:
        return _table("csv", records, encoding=used_encoding, delimiter=delim, limit=limit)
    except csv.Error as exc:
        raise ImportFileError(_("The CSV file is broken: %(error)s.") % {"error": exc}) from None


def _read_xlsx(data: bytes, limit: int | None = None) -> Table:
    from openpyxl import load_workbook

    def open_workbook() -> Any:
        try:
            return load_workbook(io.BytesIO(data), read_only=True, data_only=True)
        except ImportFileError:
            raise
        except Exception as exc:  # zipfile, XML and openpyxl's own errors for files from other programs
            raise ImportFileError(
                _("The file looks like XLSX but cannot be opened (%(error)s): save it again in Excel.") % {"error": exc}
            ) from None

    workbook = open_workbook()
    try:
        if not workbook.worksheets:
            raise ImportFileError(_("The XLSX file has no sheets."))
    finally:
        workbook.close()

    def records() -> Iterator[Sequence[Any]]:
        # Read-only mode streams the sheet's XML: one row in memory at a time. Closed when iteration ends.
        book = open_workbook()
        try:
            yield from book.worksheets[0].iter_rows(values_only=True)
        finally:
            book.close()

    return _table("xlsx", records, limit=limit)


def _is_blank(value: Any) -> bool:
    return value is None or (isinstance(value, str) and not value.strip())


def _table(
    file_format: str,
    records: Callable[[], Iterator[Sequence[Any]]],
    *,
    encoding: str = "",
    delimiter: str = "",
    limit: int | None = None,
) -> Table:
    """Read the header and the rows once. With `limit`, the first rows are kept in a list; without, the file is
    only counted and measured here, and its rows are `StreamedRows` (read again when the import iterates them)."""
    headers: list[str] | None = None
    header_number = 0
    kept: list[tuple[int, list[Any]]] = []
    count = 0
    width = 0
    for number, record in enumerate(records(), start=1):
        if limit is not None and count >= limit:
            break
        cells = list(record)
        if all(_is_blank(c) for c in cells):
            continue
        if headers is None:
            headers = _header_names(cells)
            header_number = number
            continue
        count += 1
        width = max(width, len(cells))
        if limit is not None:
            if len(cells) < len(headers):
                cells += [None] * (len(headers) - len(cells))
            kept.append((number, cells))
    if headers is None:
        raise ImportFileError(_("The file has no header row: the first row must name the columns."))
    padded_to = len(headers)  # short rows are padded to the header as read (before the extra columns are named)
    for index in range(len(headers), max(len(headers), width)):
        headers.append(_("Column %(n)s") % {"n": index + 1})
    rows: list[tuple[int, list[Any]]] | StreamedRows = kept
    if limit is None:
        rows = StreamedRows(records, header_number=header_number, width=padded_to, count=count)
    return Table(file_format, headers, rows, encoding=encoding, delimiter=delimiter)


def _header_names(cells: Sequence[Any]) -> list[str]:
    """Header cells as names: trimmed; an empty one is «Столбец N»; a repeated one gets « (2)»."""
    names: list[str] = []
    seen: dict[str, int] = {}
    for index, cell in enumerate(cells):
        name = cell_text(cell).strip().lstrip("\ufeff") or _("Column %(n)s") % {"n": index + 1}
        key = name.casefold()
        if key in seen:
            seen[key] += 1
            name = f"{name} ({seen[key]})"
        else:
            seen[key] = 1
        names.append(name)
    # A trailing run of empty header cells with no data is common in XLSX: dropped by _table's width check.
    while names and _is_blank(cells[len(names) - 1]) and len(names) > 1:
        names.pop()
    return names


def cell_text(value: Any) -> str:
    """A cell as the text a person sees (for raw values, ids, names)."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return _("yes") if value else _("no")
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    if isinstance(value, dt.datetime):
        return value.strftime("%d.%m.%Y %H:%M:%S" if value.second else "%d.%m.%Y %H:%M")
    if isinstance(value, dt.date):
        return value.strftime("%d.%m.%Y")
    return str(value)


# --- mapping ----------------------------------------------------------------------------------------------


def normalize_header(name: str) -> str:
    text = name.casefold().replace("ё", "е")
    text = re.sub(r"[^\w№]+", " ", text)
    return " ".join(text.split())


# Header names seen in IM and ПОС exports (normalised), best first. An exact match beats a partial one.
SYNONYMS: dict[str, tuple[str, ...]] = {
    "external_id": (
        "id инцидента",
        "номер сообщения",
        "id сообщения",
        "номер инцидента",
        "номер обращения",
        "id обращения",
        "id",
        "идентификатор",
        "внешний id",
        "external id",
        "№",
        "номер",
        "№ сообщения",
        "№ инцидента",
        "ид",
    ),
    "text": (
        "текст",
        "текст сообщения",
        "текст инцидента",
        "текст обращения",
        "текст публикации",
        "текст поста",
        "сообщение",
        "содержание",
        "содержание обращения",
        "суть обращения",
        "описание",
        "text",
    ),
    "posted_at": (
        "дата создания",
        "дата подачи",
        "дата публикации",
        "дата и время",
        "дата сообщения",
        "дата поступления",
        "дата регистрации",
        "дата обращения",
        "время создания",
        "время публикации",
        "создано",
        "дата",
        "posted at",
        "created at",
        "date",
    ),
    "url": (
        "ссылка",
        "ссылка на сообщение",
        "ссылка на публикацию",
        "ссылка на пост",
        "ссылка на источник",
        "ссылка на инцидент",
        "url",
        "link",
    ),
    "author": (
        "автор",
        "имя автора",
        "автор сообщения",
        "заявитель",
        "фио заявителя",
        "фио",
        "пользователь",
        "author",
    ),
    "author_id": (
        "id автора",
        "профиль автора",
        "ссылка на автора",
        "ссылка на профиль",
        "профиль",
        "id пользователя",
        "id заявителя",
        "author id",
    ),
    "topic": (
        "рубрика",
        "рубрика им",
        "подкатегория",
        "категория",
        "тема",
        "тематика",
        "topic",
        "category",
    ),
}
# A partial match is refused when the header also has one of these words («Текст ответа» is not the text,
# «Дата изменения» not the post's date, «ID автора» not the post's id).
EXCLUDED_WORDS: dict[str, tuple[str, ...]] = {
    "external_id": ("автор", "пользоват", "заявител", "профил", "ответ", "телефон", "категор", "рубрик"),
    "text": ("ответ", "комментар", "резолюц"),
    "posted_at": ("измен", "обновл", "ответ", "закрыт", "срок", "решен", "рождени", "публикации ответа"),
    "url": ("автор", "профил", "ответ", "фото", "вложен"),
    "author": ("id", "ссылка", "профил", "ответ", "исполнител"),
    "author_id": ("ответ",),
    "topic": ("ответ",),
}


def guess_mapping(headers: Sequence[str]) -> dict[str, int]:
    """Target → column index for the columns recognised; each column serves one target at most.

    1. Score each (target, column): an exact synonym 1000 − its rank; a synonym contained as whole words in the
       header 500 − its rank (unless the header has an excluded word).
    2. Take the pairs best first, skipping a target or a column already taken.
    """
    normalized = [normalize_header(h) for h in headers]
    scored: list[tuple[int, int, str, int]] = []
    for target, synonyms in SYNONYMS.items():
        for rank, synonym in enumerate(synonyms):
            for column, header in enumerate(normalized):
                if not header:
                    continue
                if header == synonym:
                    scored.append((1000 - rank, -column, target, column))
                elif f" {synonym} " in f" {header} " and not any(w in header for w in EXCLUDED_WORDS[target]):
                    scored.append((500 - rank, -column, target, column))
    scored.sort(reverse=True)
    mapping: dict[str, int] = {}
    used: set[int] = set()
    for _score, _neg, target, column in scored:
        if target in mapping or column in used:
            continue
        mapping[target] = column
        used.add(column)
    return {t: mapping[t] for t in TARGETS if t in mapping}


def find_column(headers: Sequence[str], ref: str) -> int | None:
    """A column by its header name (case, ё and punctuation ignored) or its 1-based number."""
    ref = ref.strip()
    if ref.isdigit():
        index = int(ref) - 1
        return index if 0 <= index < len(headers) else None
    wanted = normalize_header(ref)
    for index, header in enumerate(headers):
        if header == ref or normalize_header(header) == wanted:
            return index
    return None


def column_label(headers: Sequence[str], index: int) -> str:
    name = headers[index] if 0 <= index < len(headers) else "?"
    return f"{index + 1}. {name}"


def missing_required(mapping: Mapping[str, int]) -> list[str]:
    return [t for t in REQUIRED_TARGETS if t not in mapping]


# --- converting a row -------------------------------------------------------------------------------------


class TopicIndex:
    """The rubricator's active topics by normalised name (with or without ★), looked up without queries."""

    def __init__(self, topics: Iterable[Topic] | None = None) -> None:
        if topics is None:
            from otklik.org.models import Topic

            topics = Topic.objects.filter(is_active=True).select_related("group")
        self._by_name = {self.key(t.name): t for t in topics}

    @staticmethod
    def key(name: str) -> str:
        return " ".join(name.strip().removeprefix(STAR).casefold().replace("ё", "е").split())

    def find(self, name: str) -> Topic | None:
        return self._by_name.get(self.key(name))


@dataclass
class MappedRow:
    """One row in the terms of a post, with what is wrong with it."""

    row_number: int
    values: list[str]
    external_id: str = ""
    text: str = ""
    posted_at: dt.datetime | None = None
    url: str = ""
    author: str = ""
    author_id: str = ""
    topic_name: str = ""
    topic: Topic | None = None
    id_from_hash: bool = False
    errors: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.errors

    @property
    def message(self) -> str:
        """The reasons of a rejection; or, for a row imported, its warnings («imported without…»)."""
        return " ".join(self.errors or self.warnings)

    @property
    def url_host(self) -> str:
        return self.url.split("://", 1)[-1].split("/", 1)[0].removeprefix("www.")


def city_zone() -> ZoneInfo:
    return ZoneInfo(settings.TIME_ZONE)


_DMY = re.compile(
    r"^(?P<d>\d{1,2})[./-](?P<m>\d{1,2})[./-](?P<y>\d{4}|\d{2})"
    r"(?:(?:\s+|,\s*|\s*T\s*)(?:в\s+)?(?P<H>\d{1,2})[:.](?P<M>\d{2})(?:[:.](?P<S>\d{2}))?)?$",
    re.IGNORECASE,
)
_SERIAL = re.compile(r"^\d{5}(?:[.,]\d+)?$")
EXCEL_EPOCH = dt.datetime(1899, 12, 30)  # noqa: DTZ001 - Excel's serial dates carry no zone


def _from_excel_serial(serial: float) -> dt.datetime:
    if not 20_000 <= serial <= 80_000:  # 1954…2119: outside is not a date
        raise ValueError(serial)
    return EXCEL_EPOCH + dt.timedelta(days=serial)


def parse_posted_at(value: Any) -> dt.datetime:
    """A cell → an aware datetime; a time without an offset is the city's. Raises ValueError.

    Accepted: «29.11.2026 14:05[:33]», «29.11.2026» (midnight), «29/11/26 14:05», «2026-11-29 14:05:00», ISO 8601
    with or without an offset, an Excel date cell or an Excel serial number (46355.58).
    """
    if isinstance(value, dt.datetime):
        parsed = value
    elif isinstance(value, dt.date):
        parsed = dt.datetime(value.year, value.month, value.day)  # noqa: DTZ001 - made aware below
    elif isinstance(value, int | float) and not isinstance(value, bool):
        parsed = _from_excel_serial(float(value))
    elif isinstance(value, str):
        parsed = _parse_date_text(value.strip())
    else:
        raise ValueError(value)
    if timezone.is_naive(parsed):
        parsed = parsed.replace(tzinfo=city_zone())
    parsed.astimezone(dt.UTC)  # raises OverflowError for year 1 with an offset
    return parsed


def _parse_date_text(text: str) -> dt.datetime:
    if not text:
        raise ValueError(text)
    match = _DMY.match(text)
    if match:
        year = int(match["y"])
        if year < 100:
            year += 2000
        return dt.datetime(  # noqa: DTZ001 - made aware by the caller
            year,
            int(match["m"]),
            int(match["d"]),
            int(match["H"] or 0),
            int(match["M"] or 0),
            int(match["S"] or 0),
        )
    if _SERIAL.match(text):
        return _from_excel_serial(float(text.replace(",", ".")))
    iso = text.replace("Z", "+00:00").replace("z", "+00:00")
    return dt.datetime.fromisoformat(iso)


def _url(value: str) -> str:
    """A link as stored, or "" when it is not a link. A bare «vk.com/…» gets https://."""
    value = value.strip()
    if not value:
        return ""
    if "://" not in value and re.match(r"^[\w.-]+\.[a-zа-я]{2,}(/|$)", value, re.IGNORECASE):
        value = "https://" + value
    if len(value) > MAX_URL_LENGTH:
        return ""
    try:
        URLValidator(schemes=["http", "https"])(value)
    except ValidationError:
        return ""
    return value


def content_hash(row: MappedRow) -> str:
    """A stable id for a row of a file without ids: the text, the time, the author.

    Whitespace and case of the text do not matter; any other change of the text makes another post.
    """
    text = " ".join(row.text.split()).casefold()
    when = row.posted_at.astimezone(dt.UTC).strftime("%Y-%m-%dT%H:%M") if row.posted_at else ""
    digest = hashlib.sha256("\x1f".join([text, when, row.author.strip(), row.author_id.strip()]).encode()).hexdigest()
    return f"hash:{digest[:32]}"


def map_row(
    row_number: int,
    cells: Sequence[Any],
    mapping: Mapping[str, int],
    headers: Sequence[str],
    *,
    topics: TopicIndex | None = None,
    now: dt.datetime | None = None,
) -> MappedRow:
    """Convert one row; every problem is a message on the row (nothing raises)."""
    now = now or timezone.now()

    def cell(target: str) -> Any:
        index = mapping.get(target)
        if index is None or index >= len(cells):
            return None
        return cells[index]

    def column(target: str) -> str:
        return headers[mapping[target]] if mapping.get(target) is not None else ""

    row = MappedRow(row_number=row_number, values=[cell_text(c) for c in cells])
    row.text = cell_text(cell("text")).strip()
    if not row.text:
        row.errors.append(_("The text is empty (column «%(column)s»).") % {"column": column("text")})

    raw_date = cell("posted_at")
    if _is_blank(raw_date):
        row.errors.append(_("No date (column «%(column)s»).") % {"column": column("posted_at")})
    else:
        try:
            posted_at = parse_posted_at(raw_date)
        except (ValueError, OverflowError):
            row.errors.append(
                _("Cannot read the date «%(value)s»: write it as 29.11.2026 14:05 or 2026-11-29 14:05:00.")
                % {"value": cell_text(raw_date)}
            )
        else:
            shown = timezone.localtime(posted_at, city_zone()).strftime("%d.%m.%Y %H:%M")
            if posted_at < EARLIEST:
                row.errors.append(_("The date %(value)s is too far in the past.") % {"value": shown})
            elif posted_at > now + FUTURE_TOLERANCE:
                row.errors.append(_("The date %(value)s is in the future: check the date.") % {"value": shown})
            else:
                row.posted_at = posted_at

    row.author = cell_text(cell("author")).strip()
    if len(row.author) > MAX_NAME_LENGTH:
        row.author = row.author[:MAX_NAME_LENGTH]
        row.warnings.append(_("The author's name is cut to %(n)s characters.") % {"n": MAX_NAME_LENGTH})
    row.author_id = cell_text(cell("author_id")).strip()
    if len(row.author_id) > MAX_NAME_LENGTH:
        row.errors.append(_("The author's profile id is longer than %(n)s characters.") % {"n": MAX_NAME_LENGTH})

    raw_url = cell_text(cell("url")).strip()
    row.url = _url(raw_url)
    if raw_url and not row.url:
        row.warnings.append(_("«%(value)s» is not a link: imported without the link.") % {"value": raw_url[:200]})

    row.topic_name = cell_text(cell("topic")).strip()
    if row.topic_name and topics is not None:
        row.topic = topics.find(row.topic_name)
        if row.topic is None:
            row.warnings.append(
                _("Unknown topic «%(value)s»: imported without a topic.") % {"value": row.topic_name[:200]}
            )

    if "external_id" in mapping:
        row.external_id = cell_text(cell("external_id")).strip()
        if not row.external_id:
            row.errors.append(_("No id (column «%(column)s»).") % {"column": column("external_id")})
        elif len(row.external_id) > MAX_ID_LENGTH:
            row.errors.append(_("The id is longer than %(n)s characters.") % {"n": MAX_ID_LENGTH})
    elif row.text and row.posted_at is not None:
        row.external_id = content_hash(row)
        row.id_from_hash = True
    return row


def map_rows(
    rows: Iterable[tuple[int, Sequence[Any]]],
    mapping: Mapping[str, int],
    headers: Sequence[str],
    *,
    topics: TopicIndex | None = None,
    now: dt.datetime | None = None,
) -> Iterator[MappedRow]:
    """`map_row` over the rows, rejecting a repeated id within the file (the first occurrence wins)."""
    seen: dict[str, int] = {}
    for number, cells in rows:
        row = map_row(number, cells, mapping, headers, topics=topics, now=now)
        if row.ok and row.external_id:
            first = seen.get(row.external_id)
            if first is not None:
                if row.id_from_hash:
                    row.errors.append(_("The same post as row %(row)s of this file.") % {"row": first})
                else:
                    row.errors.append(
                        _("The id «%(value)s» repeats row %(row)s of this file.")
                        % {"value": row.external_id, "row": first}
                    )
            else:
                seen[row.external_id] = number
        yield row
