"""Downloads of the way back to IM and ПОС (otklik.intake.roundtrip): one import's rows, or a whole source's."""

from __future__ import annotations

import datetime as dt

from django.http import Http404, HttpRequest, HttpResponse, HttpResponseBadRequest
from django.shortcuts import get_object_or_404
from django.utils.http import content_disposition_header
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET

from otklik.core.decorators import service_required
from otklik.core.errors import DomainError
from otklik.intake.models import ImportJob
from otklik.intake.roundtrip import FORMATS, XLSX_CONTENT_TYPE, build_back_sheet, export_file_name


def _file_response(data: bytes, file_format: str, name: str, encoding: str) -> HttpResponse:
    if file_format == "xlsx":
        content_type = XLSX_CONTENT_TYPE
    else:
        charset = "utf-8" if encoding.startswith("utf-8") else encoding
        content_type = f"text/csv; charset={charset}"
    response = HttpResponse(data, content_type=content_type)
    response["Content-Disposition"] = content_disposition_header(True, name)
    return response


@service_required
@require_GET
def export_job_back(request: HttpRequest, pk: int, fmt: str) -> HttpResponse:
    """The rows of one finished import with our status and answer, in the export's columns."""
    job = get_object_or_404(ImportJob, pk=pk)
    if fmt not in FORMATS:
        raise Http404
    try:
        sheet = build_back_sheet(job)
    except DomainError as exc:
        raise Http404(exc.message) from None
    return _file_response(sheet.render(fmt), fmt, export_file_name(job, fmt), sheet.encoding)


@service_required
@require_GET
def export_channel_back(request: HttpRequest, channel: str, fmt: str) -> HttpResponse:
    """Every imported post of a source (`?since=YYYY-MM-DD`: changed since that day), in its latest export's columns."""
    if fmt not in FORMATS:
        raise Http404
    since: dt.date | None = None
    raw = request.GET.get("since", "").strip()
    if raw:
        try:
            since = dt.date.fromisoformat(raw)
        except ValueError:
            return HttpResponseBadRequest(_("Write the date as YYYY-MM-DD."))
    try:
        sheet = build_back_sheet(channel, since=since)
    except DomainError as exc:
        raise Http404(exc.message) from None
    return _file_response(sheet.render(fmt), fmt, export_file_name(channel, fmt, since=since), sheet.encoding)
