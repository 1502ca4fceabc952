"""The way back to «Инцидент Менеджмент» and ПОС: the imported export with our status and published answer filled in.

Operators must not type everything twice: for each post that came from an IM or ПОС export, `export_back` writes
a file the operator uploads back to that system — in the export's own columns, one row per imported post.

How a row is made (`build_back_sheet`):
1. The columns are those of an import job (`ImportJob.headers`): the job given, or for a whole source (`im`,
   `pos`) its latest finished import. The export's status, answer text, answer link and answer date columns are
   found by their names (`find_answer_columns`); those missing are appended with Russian headers («Статус»,
   «Ответ», «Ссылка на ответ», «Дата ответа»).
2. Every other cell keeps the value of the export, read again from the stored file (the id stays as it was, a
   numeric XLSX id stays a number). When the file is no longer stored, the cells of the mapped columns are filled
   from the post (id, text, date, link, author, topic) and the rest stay empty.
3. The status column gets the IM word for the incident's status (`IM_STATUS`). The answer columns get the answer
   chosen by `chosen_answer`: the latest published final answer or refusal; else the latest published
   intermediate one; else the latest published primary one. An incident without a published answer gets its
   status only.
4. The link is that of the publication in the post's thread when it was published there (`Publication.url`),
   else the answer's link; the time is when it went out in that thread, else when the answer was published
   (dd.mm.yyyy HH:MM, city time).

The file (`render_csv`, `render_xlsx`): a CSV in the export's encoding and delimiter (an XLSX export written as
CSV: UTF-8 with a BOM and «;», as Excel on a Russian Windows reads it; characters the encoding lacks, e.g. an emoji
in cp1251, become «?»), or an XLSX (text cells stay text: a value starting with «=» never becomes a formula).

Uploading the file back into Otklik is a normal import: the posts are found by their ids and updated where their
text, link or author changed; the status and answer columns are not mapped to a post and are ignored.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Any

from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext as _

from otklik.answers.choices import AnswerKind, AnswerStatus, PublicationStatus
from otklik.answers.models import Answer, Publication
from otklik.cases.choices import OPEN_STATUSES, IncidentStatus
from otklik.cases.models import Incident
from otklik.core.errors import DomainError
from otklik.intake.choices import Channel, ImportOutcome, ImportStatus
from otklik.intake.importing import ImportFileError, city_zone, normalize_header
from otklik.intake.models import ImportJob, ImportRow, Post

FORMATS = ("xlsx", "csv")
XLSX_CONTENT_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
DATE_FORMAT = "%d.%m.%Y %H:%M"

S = IncidentStatus

#: Our incident status → the word «Инцидент Менеджмент» (and ПОС) uses for it. One table, read by people.
IM_STATUS: dict[str, str] = {
    S.NEW: "Новый",
    S.TRIAGE: "В работе",
    S.ROUTED: "В работе",
    S.ANSWERING: "В работе",
    S.APPROVAL: "Ответ подготовлен",
    S.ANSWERED: "Решено",
    S.CLOSED: "Закрыт",
    S.NO_ANSWER: "Не требует ответа",
    # A merged incident's posts live in the incident it was merged into (its status is used); kept for safety.
    S.MERGED: "В работе",
}

#: The columns filled in, in the order they are appended when the export has none of them.
BACK_COLUMNS: tuple[str, ...] = ("status", "answer", "answer_link", "answer_at")
#: Headers of appended columns: the file goes to a Russian system, so they are Russian whatever the UI language.
APPENDED_HEADERS: dict[str, str] = {
    "status": "Статус",
    "answer": "Ответ",
    "answer_link": "Ссылка на ответ",
    "answer_at": "Дата ответа",
}

# Which answer goes into the file, best first (see the module docstring).
ANSWER_PREFERENCE: tuple[frozenset[str], ...] = (
    frozenset({AnswerKind.FINAL, AnswerKind.REFUSAL}),
    frozenset({AnswerKind.INTERMEDIATE}),
    frozenset({AnswerKind.PRIMARY}),
)

# Exact header names (normalised) of the export's own status and answer columns, best first.
_EXACT: dict[str, tuple[str, ...]] = {
    "status": ("статус", "статус инцидента", "статус сообщения", "статус обращения", "состояние", "status"),
    "answer": (
        "текст ответа",
        "ответ",
        "ответ на инцидент",
        "ответ на сообщение",
        "ответ заявителю",
        "содержание ответа",
        "текст опубликованного ответа",
        "answer",
    ),
    "answer_link": ("ссылка на ответ", "ссылка ответа", "ссылка на опубликованный ответ", "answer url"),
    "answer_at": ("дата ответа", "время ответа", "дата и время ответа", "дата публикации ответа", "answered at"),
}


def _partial(kind: str, header: str) -> bool:
    """A header that names the column without being one of the exact names («Статус в ИМ», «Дата ответа (МСК)»)."""
    words = set(header.split())
    if kind == "status":
        return any(w.startswith("статус") for w in words) and "ответ" not in header
    if not any(w.startswith("ответ") for w in words) or "срок" in header:
        return False  # «Срок ответа» is a deadline, not the answer
    is_link = "ссылк" in header or "url" in words
    is_date = "дата" in words or "время" in words
    if kind == "answer_link":
        return is_link
    if kind == "answer_at":
        return is_date and not is_link
    return not is_link and not is_date and not any(w in header for w in ("статус", "автор", "исполнител", "тип"))


def find_answer_columns(headers: Sequence[str], mapping: dict[str, int] | None = None) -> dict[str, int]:
    """The export's own status / answer / link / date columns (0-based), never a column mapped to the post."""
    taken = set((mapping or {}).values())
    normalized = [normalize_header(h) for h in headers]
    found: dict[str, int] = {}
    for kind in BACK_COLUMNS:
        candidates = [i for i, h in enumerate(normalized) if i not in taken and h in _EXACT[kind]]
        candidates.sort(key=lambda i: _EXACT[kind].index(normalized[i]))
        if not candidates:
            candidates = [i for i, h in enumerate(normalized) if i not in taken and h and _partial(kind, h)]
        if candidates:
            found[kind] = candidates[0]
            taken.add(candidates[0])
    return found


# --- the answer of an incident --------------------------------------------------------------------------------


def chosen_answer(answers: Iterable[Answer]) -> Answer | None:
    """The published answer that goes back: final/refusal, else intermediate, else primary; the latest of a kind."""
    published = [a for a in answers if a.status == AnswerStatus.PUBLISHED and a.published_at is not None]
    for kinds in ANSWER_PREFERENCE:
        of_kind = [a for a in published if a.kind in kinds]
        if of_kind:
            return max(of_kind, key=lambda a: (a.published_at, a.pk))
    return None


def status_text(incident: Incident | None) -> str:
    if incident is None:
        return ""
    return IM_STATUS.get(incident.status, str(S(incident.status).label) if incident.status in S.values else "")


def format_time(value: dt.datetime | None) -> str:
    return timezone.localtime(value, city_zone()).strftime(DATE_FORMAT) if value else ""


@dataclass
class AnswerCells:
    text: str = ""
    link: str = ""
    at: dt.datetime | None = None


def _answer_cells(
    answer: Answer | None, post: Post, publications: dict[tuple[int, int | None], Publication]
) -> AnswerCells:
    if answer is None:
        return AnswerCells()
    publication = publications.get((answer.pk, post.pk))
    if publication is not None and publication.status == PublicationStatus.SENT:
        return AnswerCells(answer.text, publication.url or answer.link, publication.sent_at or answer.published_at)
    return AnswerCells(answer.text, answer.link, answer.published_at)


# --- the sheet ------------------------------------------------------------------------------------------------


@dataclass
class BackSheet:
    """What goes into the file: the header, the rows (cells as read from the export), and how it is written."""

    headers: list[str]
    columns: dict[str, int]
    appended: list[str]
    rows: list[list[Any]] = field(default_factory=list)
    answered: int = 0
    encoding: str = "utf-8-sig"
    delimiter: str = ";"
    template: ImportJob | None = None

    def render(self, file_format: str) -> bytes:
        if file_format == "csv":
            return render_csv(self)
        if file_format == "xlsx":
            return render_xlsx(self)
        raise DomainError(_("Unknown format «%(value)s»: use xlsx or csv.") % {"value": file_format}, field="format")


def _template_job(job_or_channel: ImportJob | str) -> ImportJob:
    if isinstance(job_or_channel, ImportJob):
        if job_or_channel.status != ImportStatus.DONE:
            raise DomainError(_("The import has not finished: there is nothing to export back yet."))
        return job_or_channel
    if job_or_channel not in (Channel.IM, Channel.POS):
        raise DomainError(_("Export back is for «Инцидент Менеджмент» (im) or ПОС (pos)."), field="channel")
    job = ImportJob.objects.filter(channel=job_or_channel, status=ImportStatus.DONE).order_by("-created_at", "-pk")
    template = job.first()
    if template is None:
        raise DomainError(_("Nothing was imported from this source yet: there is nothing to export back."))
    return template


def _since_start(since: dt.date | dt.datetime | None) -> dt.datetime | None:
    if since is None:
        return None
    if isinstance(since, dt.datetime):
        return since if timezone.is_aware(since) else since.replace(tzinfo=city_zone())
    return dt.datetime(since.year, since.month, since.day, tzinfo=city_zone())


def _source_rows(job_or_channel: ImportJob | str, template: ImportJob, since: dt.datetime | None) -> list[ImportRow]:
    """The imported rows to write, one per post (for a source: the post's latest import), in a stable order."""
    rows = ImportRow.objects.filter(post__isnull=False).exclude(outcome=ImportOutcome.REJECTED)
    if isinstance(job_or_channel, ImportJob):
        rows = rows.filter(job=template)
    else:
        rows = rows.filter(job__channel=template.channel, job__status=ImportStatus.DONE)
    if since is not None:
        rows = rows.filter(
            Q(post__created_at__gte=since)
            | Q(post__incident__updated_at__gte=since)
            | Q(post__incident__in=Answer.objects.filter(published_at__gte=since).values("incident_id"))
        )
    rows = rows.select_related("job", "post", "post__incident", "post__incident__merged_into", "post__topic_hint")
    if isinstance(job_or_channel, ImportJob):
        return list(rows.order_by("row_number"))
    latest: dict[int, ImportRow] = {}
    for row in rows.order_by("post_id", "-job__created_at", "-job_id", "-row_number"):
        latest.setdefault(row.post_id, row)  # type: ignore[arg-type]
    return sorted(latest.values(), key=lambda r: (r.post.posted_at, r.post_id))  # type: ignore[union-attr]


class _Tables:
    """Each job's stored file read once: row number → cells (None when the file is gone or unreadable)."""

    def __init__(self) -> None:
        self._cache: dict[int, dict[int, list[Any]] | None] = {}

    def cells(self, job: ImportJob, row_number: int) -> list[Any] | None:
        if job.pk not in self._cache:
            from otklik.intake.services import read_job_table

            try:
                table = read_job_table(job)
            except ImportFileError:
                self._cache[job.pk] = None
            else:
                self._cache[job.pk] = dict(table.rows) if table.headers == list(job.headers) else None
        rows = self._cache[job.pk]
        return None if rows is None else rows.get(row_number)


def _post_value(target: str, post: Post) -> Any:
    """A mapped column's cell made from the post (when the export's file is not stored any more)."""
    if target == "posted_at":
        return format_time(post.posted_at)
    if target == "author":
        return post.author_name
    if target == "topic":
        return post.topic_hint.name if post.topic_hint_id else ""  # type: ignore[union-attr]
    return getattr(post, target, "")


def _row_cells(row: ImportRow, template: ImportJob, width: int, tables: _Tables) -> list[Any]:
    """The export's cells of the row, laid out in the template's columns."""
    post: Post = row.post  # type: ignore[assignment]
    job: ImportJob = row.job
    original = tables.cells(job, row.row_number)
    cells: list[Any] = [""] * width
    template_headers = list(template.headers)
    if original is not None and list(job.headers) == template_headers:
        for index, value in enumerate(original[:width]):
            cells[index] = "" if value is None else value
        return cells
    by_name = {normalize_header(h): i for i, h in enumerate(job.headers)}
    filled: set[int] = set()
    if original is not None:
        for index, header in enumerate(template_headers):
            source_index = by_name.get(normalize_header(header))
            if source_index is not None and source_index < len(original):
                value = original[source_index]
                cells[index] = "" if value is None else value
                filled.add(index)
    for target, index in template.mapping.items():
        if index < width and index not in filled:
            cells[index] = _post_value(target, post)
    return cells


def build_back_sheet(job_or_channel: ImportJob | str, *, since: dt.date | dt.datetime | None = None) -> BackSheet:
    """The rows to send back (see the module docstring). Raises DomainError when there is nothing to base them on."""
    template = _template_job(job_or_channel)
    headers = list(template.headers)
    columns = find_answer_columns(headers, template.mapping)
    appended: list[str] = []
    for kind in BACK_COLUMNS:
        if kind not in columns:
            columns[kind] = len(headers)
            headers.append(APPENDED_HEADERS[kind])
            appended.append(APPENDED_HEADERS[kind])
    sheet = BackSheet(headers=headers, columns=columns, appended=appended, template=template)
    if template.file_format == "csv":
        sheet.encoding = template.encoding or "utf-8-sig"
        sheet.delimiter = template.delimiter or ";"

    source_rows = _source_rows(job_or_channel, template, _since_start(since))
    incidents: dict[int, Incident] = {}
    for row in source_rows:
        incident = row.post.incident  # type: ignore[union-attr]
        if incident is not None and incident.status == S.MERGED and incident.merged_into is not None:
            incident = incident.merged_into
        if incident is not None:
            incidents[row.post_id] = incident  # type: ignore[index]
    answers: dict[int, list[Answer]] = {}
    for answer in Answer.objects.filter(
        incident_id__in={i.pk for i in incidents.values()}, status=AnswerStatus.PUBLISHED
    ):
        answers.setdefault(answer.incident_id, []).append(answer)
    chosen = {incident_id: chosen_answer(items) for incident_id, items in answers.items()}
    publications = {
        (p.answer_id, p.post_id): p
        for p in Publication.objects.filter(
            answer_id__in=[a.pk for a in chosen.values() if a is not None],
            post_id__in=[r.post_id for r in source_rows],
        )
    }

    tables = _Tables()
    width = len(template.headers)
    for row in source_rows:
        post: Post = row.post  # type: ignore[assignment]
        cells = _row_cells(row, template, width, tables)
        cells += [""] * (len(headers) - len(cells))
        incident = incidents.get(post.pk)
        chosen_one: Answer | None = chosen.get(incident.pk) if incident is not None else None
        filled = _answer_cells(chosen_one, post, publications)
        cells[columns["status"]] = status_text(incident)
        cells[columns["answer"]] = filled.text
        cells[columns["answer_link"]] = filled.link
        cells[columns["answer_at"]] = format_time(filled.at)
        if chosen_one is not None:
            sheet.answered += 1
        sheet.rows.append(cells)
    return sheet


# --- writing --------------------------------------------------------------------------------------------------


def _csv_value(value: Any) -> str:
    from otklik.intake.importing import cell_text

    return cell_text(value)


def render_csv(sheet: BackSheet) -> bytes:
    buffer = io.StringIO()
    writer = csv.writer(buffer, delimiter=sheet.delimiter, lineterminator="\r\n")
    writer.writerow(sheet.headers)
    for row in sheet.rows:
        writer.writerow([_csv_value(v) for v in row])
    encoding = sheet.encoding or "utf-8-sig"
    # utf-8-sig and utf-16 write their BOM themselves: the file is read back the way the export was.
    return buffer.getvalue().encode(encoding, errors="replace")


def render_xlsx(sheet: BackSheet) -> bytes:
    from openpyxl import Workbook
    from openpyxl.cell import WriteOnlyCell
    from openpyxl.styles import Font

    workbook = Workbook(write_only=True)
    worksheet = workbook.create_sheet(_("Incidents")[:31])
    worksheet.freeze_panes = "A2"
    bold = Font(bold=True)
    title = []
    for header in sheet.headers:
        cell = WriteOnlyCell(worksheet, value=header)
        cell.font = bold
        title.append(cell)
    worksheet.append(title)
    for row in sheet.rows:
        cells = []
        for value in row:
            if isinstance(value, dt.datetime) and timezone.is_aware(value):
                value = timezone.localtime(value, city_zone()).replace(tzinfo=None)
            cell = WriteOnlyCell(worksheet, value=value)
            if isinstance(value, str):
                cell.data_type = "s"  # text stays text: a citizen's «=…» never becomes a formula
            elif isinstance(value, dt.datetime):
                cell.number_format = "DD.MM.YYYY HH:MM"
            elif isinstance(value, dt.date):
                cell.number_format = "DD.MM.YYYY"
            cells.append(cell)
        worksheet.append(cells)
    buffer = io.BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()


def export_back(
    job_or_channel: ImportJob | str,
    *,
    since: dt.date | dt.datetime | None = None,
    format: str = "xlsx",  # noqa: A002 - the name the callers use
) -> bytes:
    """The file to upload back to IM or ПОС (see the module docstring). Raises DomainError."""
    if format not in FORMATS:
        raise DomainError(_("Unknown format «%(value)s»: use xlsx or csv.") % {"value": format}, field="format")
    return build_back_sheet(job_or_channel, since=since).render(format)


def export_file_name(job_or_channel: ImportJob | str, file_format: str, *, since: dt.date | None = None) -> str:
    if isinstance(job_or_channel, ImportJob):
        stem = Path(job_or_channel.file_name).stem or "import"
        return f"{stem}-back-{job_or_channel.pk}.{file_format}"
    day = timezone.localdate().strftime("%Y-%m-%d")
    part = f"-since-{since:%Y-%m-%d}" if since else ""
    return f"{job_or_channel}-back{part}-{day}.{file_format}"


# --- reading the way back: what a re-imported export says that Otklik does not know ---------------------------

#: Statuses (normalised) in which IM or ПОС considers the message dealt with.
DONE_WORDS = frozenset(
    {"решено", "решен", "закрыт", "закрыто", "отработан", "отработано", "дан ответ", "не требует ответа", "ответ дан"}
)


def _squash(text: str) -> str:
    return " ".join(text.split()).casefold()


@lru_cache(maxsize=64)
def _columns_of(headers: tuple[str, ...], mapping: tuple[tuple[str, int], ...]) -> dict[str, int]:
    return find_answer_columns(headers, dict(mapping))


def export_news(job: ImportJob, values: Sequence[str], post: Post) -> list[str]:
    """Warnings for a row of a re-imported export whose status or answer columns say something Otklik does not know.

    The import never changes an incident's status or answers from a file (IM's view lags behind or comes from
    someone else); it tells the operator on the row instead:
    1. the export has an answer text that is none of the incident's published answers (answered in IM directly);
    2. the export calls the message dealt with («Решено», «Закрыт»…) while the incident is still open here.
    Our own file imported back says nothing new: its answer is ours and its status is our incident's.
    """
    incident = post.incident
    if incident is None:
        return []
    columns = _columns_of(tuple(job.headers), tuple(sorted(job.mapping.items())))
    warnings: list[str] = []

    def cell(kind: str) -> str:
        index = columns.get(kind)
        return values[index].strip() if index is not None and index < len(values) else ""

    answer = cell("answer")
    if answer:
        ours = {
            _squash(t) for t in incident.answers.filter(status=AnswerStatus.PUBLISHED).values_list("text", flat=True)
        }
        if _squash(answer) not in ours:
            shown = answer if len(answer) <= 200 else answer[:199] + "…"
            warnings.append(
                _("The export has an answer Otklik does not have: «%(text)s». Check incident #%(id)s.")
                % {"text": shown, "id": incident.pk}
            )
    status = cell("status")
    if status and normalize_header(status) in DONE_WORDS and incident.status in OPEN_STATUSES:
        warnings.append(
            _("The export says «%(status)s», while incident #%(id)s is «%(ours)s» here: check it.")
            % {"status": status, "id": incident.pk, "ours": S(incident.status).label}
        )
    return warnings
