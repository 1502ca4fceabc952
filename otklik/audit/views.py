"""`/audit/`: the security log for the head of the service and administrators — search, filters, paging, export
(`?format=xlsx` through otklik.core.xlsx, `?format=csv` streamed). Viewing and exporting the log are recorded in it
(otklik.audit.views_registry lists this page).

The log grows forever, so the page never counts it: pages are read by keyset (`?before=<id>`, one row more than a
page tells whether there is an older one).
"""

from __future__ import annotations

import csv
import datetime as dt
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from django.apps import apps
from django.contrib.auth import get_user_model
from django.db.models import Q, QuerySet
from django.http import HttpRequest, HttpResponse, StreamingHttpResponse
from django.utils import timezone
from django.utils.dateparse import parse_date
from django.utils.http import content_disposition_header
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET

from otklik.audit.choices import AuditAction
from otklik.audit.models import AuditRecord
from otklik.audit.signals import tracked_labels
from otklik.core.decorators import head_required
from otklik.core.htmx import render_page
from otklik.core.worktime import city_zone
from otklik.core.xlsx import export_filename, field_header, wants_xlsx, xlsx_response

PAGE_SIZE = 50


@dataclass
class AuditQuery:
    q: str = ""
    user: str = ""
    action: str = ""
    object_type: str = ""
    object_id: str = ""
    date_from: dt.date | None = None
    date_to: dt.date | None = None

    @classmethod
    def from_request(cls, request: HttpRequest) -> AuditQuery:
        get = request.GET
        action = get.get("action", "")
        return cls(
            q=get.get("q", "").strip()[:200],
            user=get.get("user", "").strip()[:150],
            action=action if action in AuditAction.values else "",
            object_type=get.get("object_type", "").strip()[:100],
            object_id=get.get("object_id", "").strip()[:64],
            date_from=_date(get.get("date_from")),
            date_to=_date(get.get("date_to")),
        )

    def filter(self, queryset: QuerySet[AuditRecord]) -> QuerySet[AuditRecord]:
        if self.q:
            queryset = queryset.filter(
                Q(username__icontains=self.q)
                | Q(object_repr__icontains=self.q)
                | Q(path__icontains=self.q)
                | Q(ip__startswith=self.q)
                | Q(note__icontains=self.q)
                | Q(request_id=self.q)
                | Q(object_id=self.q)
            )
        if self.user:
            queryset = queryset.filter(username__iexact=self.user)
        if self.action:
            queryset = queryset.filter(action=self.action)
        if self.object_type:
            queryset = queryset.filter(object_type=self.object_type)
        if self.object_id:
            queryset = queryset.filter(object_id=self.object_id)
        zone = city_zone()
        if self.date_from:
            start = dt.datetime.combine(self.date_from, dt.time.min, tzinfo=zone)
            queryset = queryset.filter(at__gte=start)
        if self.date_to:
            end = dt.datetime.combine(self.date_to + dt.timedelta(days=1), dt.time.min, tzinfo=zone)
            queryset = queryset.filter(at__lt=end)
        return queryset


def _date(value: str | None) -> dt.date | None:
    try:
        return parse_date(value or "")
    except ValueError:
        return None


def object_types() -> list[tuple[str, str]]:
    """The object types a record can name: the tracked models, by their verbose names."""
    labels = tracked_labels() | {"audit.auditrecord"}
    out = []
    for label in sorted(labels):
        try:
            model = apps.get_model(label)
        except LookupError:
            continue
        out.append((label, f"{model._meta.verbose_name} ({label})"))
    return sorted(out, key=lambda item: item[1].lower())


@dataclass
class LogPage:
    """One page of the log, newest first, read by keyset: `before` is the id the page starts below, so records
    written meanwhile (the views of this very page among them) never shift the pages."""

    rows: list[AuditRecord]
    before: int | None
    has_next: bool

    @property
    def has_previous(self) -> bool:
        return self.before is not None

    @property
    def next_before(self) -> int | None:
        return self.rows[-1].pk if self.rows and self.has_next else None


def _page(request: HttpRequest, queryset: QuerySet[AuditRecord]) -> LogPage:
    raw = request.GET.get("before", "")
    before = int(raw) if raw.isdigit() and len(raw) < 19 else None
    if before is not None:
        queryset = queryset.filter(id__lt=before)
    rows = list(queryset[: PAGE_SIZE + 1])
    return LogPage(rows=rows[:PAGE_SIZE], before=before, has_next=len(rows) > PAGE_SIZE)


def _headers() -> list[Any]:
    return [
        ("ID", 10),
        (field_header(AuditRecord, "at"), 18),
        (field_header(AuditRecord, "username"), 16),
        (field_header(AuditRecord, "role"), 12),
        (field_header(AuditRecord, "ip"), 16),
        (field_header(AuditRecord, "action"), 18),
        (field_header(AuditRecord, "object_type"), 22),
        (field_header(AuditRecord, "object_id"), 10),
        (field_header(AuditRecord, "object_repr"), 30),
        (field_header(AuditRecord, "changes"), 60),
        (field_header(AuditRecord, "method"), 8),
        (field_header(AuditRecord, "path"), 40),
        (field_header(AuditRecord, "origin"), 20),
        (field_header(AuditRecord, "request_id"), 20),
        (field_header(AuditRecord, "note"), 30),
    ]


def _row(entry: AuditRecord) -> list[Any]:
    import json

    return [
        entry.pk,
        entry.at,
        entry.username,
        entry.role,
        entry.ip,
        entry.get_action_display(),
        entry.object_type,
        entry.object_id,
        entry.object_repr,
        json.dumps(entry.changes, ensure_ascii=False) if entry.changes else "",
        entry.method,
        entry.path,
        entry.origin,
        entry.request_id,
        entry.note,
    ]


def export_xlsx(queryset: QuerySet[AuditRecord]) -> HttpResponse:
    rows = (_row(entry) for entry in queryset.iterator(chunk_size=2000))
    return xlsx_response(export_filename("audit"), [(_("Security log"), _headers(), rows)])


class _Echo:
    def write(self, value: str) -> str:
        return value


def export_csv(queryset: QuerySet[AuditRecord]) -> StreamingHttpResponse:
    """UTF-8 with a BOM (Excel reads it), streamed: memory stays bounded on millions of rows."""
    writer = csv.writer(_Echo())
    zone = city_zone()

    def lines() -> Iterator[str]:
        yield "\ufeff"
        yield writer.writerow([h[0] if isinstance(h, tuple) else h for h in _headers()])
        for entry in queryset.iterator(chunk_size=2000):
            row = _row(entry)
            row[1] = timezone.localtime(entry.at, zone).strftime("%Y-%m-%d %H:%M:%S")
            yield writer.writerow(["" if v is None else str(v) for v in row])

    response = StreamingHttpResponse(lines(), content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = content_disposition_header(
        True, export_filename("audit").removesuffix(".xlsx") + ".csv"
    )
    return response


@head_required
@require_GET
def audit_list(request: HttpRequest) -> HttpResponse:
    query = AuditQuery.from_request(request)
    queryset = query.filter(AuditRecord.objects.all()).order_by("-id")
    if wants_xlsx(request) or request.GET.get("format") == "csv":
        # The rows as they are now: not the export's own record, written before the file is streamed.
        top = AuditRecord.objects.order_by("-id").values_list("id", flat=True).first() or 0
        queryset = queryset.filter(id__lte=top)
    if wants_xlsx(request):
        return export_xlsx(queryset)
    if request.GET.get("format") == "csv":
        return export_csv(queryset)  # type: ignore[return-value]  # streamed: a file of any size
    context = {
        "query": query,
        "page": _page(request, queryset),
        "actions": AuditAction.choices,
        "object_types": object_types(),
        "usernames": get_user_model().objects.order_by("username").values_list("username", flat=True),
    }
    return render_page(request, "audit/audit_list.html", context, partial="results")
