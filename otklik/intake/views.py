"""Import pages: upload → map the columns (with a preview) → run in the background (progress) → result and report.

For the feedback service only (operators, the head, admins): `service_required` on every view.
"""

from __future__ import annotations

import csv
import io
from pathlib import Path
from typing import Any

from django.core.paginator import Paginator
from django.db.models import QuerySet
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect
from django.utils import timezone
from django.utils.http import content_disposition_header
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from otklik.core.decorators import service_required
from otklik.core.errors import DomainError
from otklik.core.htmx import render_page
from otklik.core.xlsx import wants_xlsx, xlsx_response
from otklik.intake.choices import ImportOutcome, ImportStatus
from otklik.intake.forms import MappingForm, RereadForm, UploadForm
from otklik.intake.importing import (
    PREVIEW_ROWS,
    TARGET_LABELS,
    TARGETS,
    ImportFileError,
    TopicIndex,
    cell_text,
    column_label,
    delimiter_label,
    encoding_label,
    map_rows,
    max_upload_bytes,
)
from otklik.intake.models import ImportJob, ImportRow
from otklik.intake.services import (
    do_create_import_job,
    do_reread_import_job,
    do_start_import_job,
    read_job_table,
)

SAMPLES_DIR = Path(__file__).resolve().parent / "samples"
DEMO_SAMPLE = "im_export_demo.csv"
ROWS_PER_PAGE = 50
RECENT_JOBS = 15


@service_required
@require_http_methods(["GET", "POST"])
def import_upload(request: HttpRequest) -> HttpResponse:
    """The upload form and the latest imports."""
    form = UploadForm(request.POST or None, request.FILES or None)
    if request.method == "POST" and form.is_valid():
        upload = form.cleaned_data["file"]
        try:
            job = do_create_import_job(
                actor=request.user,  # type: ignore[arg-type]
                data=upload.read(),
                file_name=upload.name or "import",
                channel=form.cleaned_data["channel"],
                encoding=form.cleaned_data["encoding"],
                delimiter=form.cleaned_data["delimiter"],
            )
        except DomainError as exc:
            form.add_error(exc.field if exc.field in form.fields else "file", exc.message)
        else:
            return redirect(f"/import/{job.pk}/")
    jobs = ImportJob.objects.select_related("created_by")[:RECENT_JOBS]
    status = 400 if form.errors else 200
    return render_page(
        request,
        "intake/import_upload.html",
        {"form": form, "jobs": jobs, "max_mb": max_upload_bytes() // (1024 * 1024), "max_bytes": max_upload_bytes()},
        status=status,
    )


@service_required
@require_GET
def import_sample(request: HttpRequest) -> HttpResponse:
    """A demo export of «Инцидент Менеджмент» to try the import with."""
    path = SAMPLES_DIR / DEMO_SAMPLE
    if not path.exists():
        raise Http404
    response = HttpResponse(path.read_bytes(), content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="{DEMO_SAMPLE}"'
    return response


def _preview(job: ImportJob, mapping: dict[str, int]) -> dict[str, Any]:
    """The first rows of the file as they would be imported, or the reason the file cannot be read."""
    try:
        table = read_job_table(job, limit=PREVIEW_ROWS)
    except ImportFileError as exc:
        return {"preview_error": exc.message, "preview_rows": []}
    head = list(table.rows)  # a preview (limit) reads a few rows into a list
    rows = list(map_rows(head, mapping, table.headers, topics=TopicIndex()))
    samples = [
        (column_label(table.headers, i), [_short(cells[i]) if i < len(cells) else "" for _n, cells in head[:3]])
        for i in range(len(table.headers))
    ]
    return {"preview_rows": rows, "preview_mapping": mapping, "columns": samples}


def _short(value: Any) -> str:
    text = cell_text(value)
    return text if len(text) <= 60 else text[:59] + "…"


def _job_context(request: HttpRequest, job: ImportJob, **extra: Any) -> dict[str, Any]:
    context: dict[str, Any] = {"job": job, "targets": [(t, TARGET_LABELS[t]) for t in TARGETS], **extra}
    if job.status == ImportStatus.MAPPING:
        form = context.get("form") or MappingForm.for_job(job)
        context["form"] = form
        context["reread_form"] = context.get("reread_form") or RereadForm.for_job(job)
        context["reading"] = _reading(job)
        context.update(_preview(job, form.lenient_mapping()))
    elif job.is_finished:
        shown, rows = shown_rows(request, job)
        context["rows_shown"] = shown
        page = Paginator(rows.order_by("row_number"), ROWS_PER_PAGE).get_page(request.GET.get("page"))
        for row in page:
            pairs = zip(job.headers, row.values, strict=False)
            row.pairs = [(header, value) for header, value in pairs if value.strip()]  # type: ignore[attr-defined]
        context["rows_page"] = page
    return context


def shown_rows(request: HttpRequest, job: ImportJob) -> tuple[str, QuerySet[ImportRow]]:
    """The rows of a finished import the page shows: `rejected` (the default) or `warnings`."""
    if request.GET.get("rows") == "warnings":
        return "warnings", job.rows.exclude(outcome=ImportOutcome.REJECTED).exclude(message="")
    return "rejected", job.rows.filter(outcome=ImportOutcome.REJECTED)


def export_shown_rows(request: HttpRequest, job: ImportJob) -> HttpResponse:
    """`?format=xlsx` on a finished import: the rows of the current tab, with the columns of the report."""
    shown, rows = shown_rows(request, job)
    headers = [_("Row"), _("Result"), (_("Reason or warning"), 50), *job.headers]
    lines = (
        [row.row_number, row.get_outcome_display(), row.message, *[str(v) for v in row.values]]
        for row in rows.order_by("row_number").iterator(chunk_size=1000)
    )
    title = _("Rejected rows") if shown == "rejected" else _("Rows with warnings")
    return xlsx_response(_report_name(job, "xlsx").replace("-report-", f"-{shown}-"), [(title, headers, lines)])


def _reading(job: ImportJob) -> str:
    return _("encoding %(encoding)s, delimiter %(delimiter)s") % {
        "encoding": encoding_label(job.encoding),
        "delimiter": delimiter_label(job.delimiter),
    }


def _get_job(pk: int) -> ImportJob:
    return get_object_or_404(ImportJob.objects.select_related("created_by"), pk=pk)


@service_required
@require_GET
def import_job(request: HttpRequest, pk: int) -> HttpResponse:
    """Mapping (before the run), progress (while it runs), result (after)."""
    job = _get_job(pk)
    if wants_xlsx(request) and job.is_finished:
        return export_shown_rows(request, job)
    return render_page(request, "intake/import_job.html", _job_context(request, job), partial="state")


@service_required
@require_GET
def import_preview(request: HttpRequest, pk: int) -> HttpResponse:
    """The preview for the mapping being chosen (HTMX: only the preview region)."""
    job = _get_job(pk)
    if job.status != ImportStatus.MAPPING:
        return redirect(f"/import/{job.pk}/")
    form = MappingForm(request.GET, headers=list(job.headers))
    return render_page(request, "intake/import_job.html", _job_context(request, job, form=form), partial="preview")


@service_required
@require_GET
def import_progress(request: HttpRequest, pk: int) -> HttpResponse:
    """The state region, polled every second while the import runs; the result once it is done."""
    job = _get_job(pk)
    return render_page(request, "intake/import_job.html", _job_context(request, job), partial="state")


@service_required
@require_POST
def import_run(request: HttpRequest, pk: int) -> HttpResponse:
    job = _get_job(pk)
    if job.status != ImportStatus.MAPPING:
        return redirect(f"/import/{job.pk}/")
    form = MappingForm(request.POST, headers=list(job.headers))
    if form.is_valid():
        try:
            do_start_import_job(
                job,
                actor=request.user,  # type: ignore[arg-type]
                mapping=form.cleaned_data["mapping"],
                channel=form.cleaned_data["channel"],
            )
        except DomainError as exc:
            form.add_error(exc.field if exc.field in form.fields else None, exc.message)
        else:
            return redirect(f"/import/{job.pk}/")
    return render_page(request, "intake/import_job.html", _job_context(request, job, form=form), status=400)


@service_required
@require_POST
def import_reread(request: HttpRequest, pk: int) -> HttpResponse:
    """Read the file again with another encoding or delimiter."""
    job = _get_job(pk)
    form = RereadForm(request.POST)
    if form.is_valid():
        try:
            do_reread_import_job(
                job,
                actor=request.user,  # type: ignore[arg-type]
                encoding=form.cleaned_data["encoding"],
                delimiter=form.cleaned_data["delimiter"],
            )
        except DomainError as exc:
            form.add_error(None, exc.message)
        else:
            return redirect(f"/import/{job.pk}/")
    job.refresh_from_db()
    return render_page(request, "intake/import_job.html", _job_context(request, job, reread_form=form), status=400)


# --- the report -------------------------------------------------------------------------------------------

FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def _report_rows(job: ImportJob) -> tuple[list[str], list[list[str]]]:
    """Rejected rows and rows with warnings: row number, result, reason, then the row's values as in the file."""
    header = [_("Row"), _("Result"), _("Reason or warning"), *job.headers]
    rows: list[list[str]] = []
    # Every rejected row has its reason in `message`; a row imported with a warning has the warning there.
    for row in job.rows.exclude(message="").order_by("row_number").iterator():
        rows.append([str(row.row_number), str(row.get_outcome_display()), row.message, *[str(v) for v in row.values]])
    return header, rows


def _report_name(job: ImportJob, ext: str) -> str:
    stem = Path(job.file_name).stem or "import"
    return f"{stem}-report-{job.pk}.{ext}"


@service_required
@require_GET
def import_report(request: HttpRequest, pk: int, fmt: str) -> HttpResponse:
    """The rejected rows (and rows with warnings) as XLSX or CSV."""
    job = _get_job(pk)
    if not job.is_finished:
        raise Http404
    header, rows = _report_rows(job)
    if fmt == "csv":
        buffer = io.StringIO()
        writer = csv.writer(buffer, delimiter=";")
        writer.writerow(header)
        for row in rows:
            # A value starting with = + - @ would run as a formula in Excel: quote it.
            writer.writerow([f"'{v}" if v.startswith(FORMULA_STARTS) else v for v in row])
        response = HttpResponse(("\ufeff" + buffer.getvalue()).encode("utf-8"), content_type="text/csv; charset=utf-8")
    elif fmt == "xlsx":
        response = HttpResponse(
            _xlsx(job, header, rows),
            content_type="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
        )
    else:
        raise Http404
    response["Content-Disposition"] = content_disposition_header(True, _report_name(job, fmt))
    return response


def _xlsx(job: ImportJob, header: list[str], rows: list[list[str]]) -> bytes:
    from openpyxl import Workbook
    from openpyxl.cell import WriteOnlyCell
    from openpyxl.styles import Font

    workbook = Workbook(write_only=True)
    sheet = workbook.create_sheet(_("Rejected rows")[:31])
    sheet.freeze_panes = "A2"
    bold = Font(bold=True)
    title = []
    for value in header:
        cell = WriteOnlyCell(sheet, value=value)
        cell.font = bold
        title.append(cell)
    sheet.append(title)
    for row in rows:
        cells = []
        for index, value in enumerate(row):
            if index == 0:
                cells.append(WriteOnlyCell(sheet, value=int(value)))
                continue
            cell = WriteOnlyCell(sheet, value=value)
            cell.data_type = "s"  # text as text: a citizen's «=…» never becomes a formula
            cells.append(cell)
        sheet.append(cells)
    summary = workbook.create_sheet(_("Summary")[:31])
    finished = timezone.localtime(job.finished_at).strftime("%d.%m.%Y %H:%M") if job.finished_at else ""
    facts: list[tuple[str, Any]] = [
        (_("File"), job.file_name),
        (_("Source"), job.get_channel_display()),
        (_("Finished"), finished),
        (_("Rows"), job.total_rows),
        (_("Imported"), job.imported),
        (_("Updated"), job.updated),
        (_("Unchanged"), job.skipped),
        (_("Rejected"), job.rejected),
        (_("With warnings"), job.warned),
    ]
    for label, fact in facts:
        summary.append([label, fact])
    buffer = io.BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()
