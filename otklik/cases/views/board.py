"""The head of the service's overdue board: which departments are late, and what the service itself is late on."""

from __future__ import annotations

import math
from dataclasses import dataclass, field

from django.db.models import Exists, OuterRef
from django.http import HttpRequest, HttpResponse
from django.utils import timezone
from django.utils.translation import gettext as _

from otklik.cases.choices import ASSIGNMENT_OPEN, OPEN_STATUSES
from otklik.cases.models import Assignment, Incident
from otklik.cases.views.assignments import first_line, first_post_text
from otklik.core.decorators import head_required
from otklik.core.htmx import render_page
from otklik.core.xlsx import Sheet, absolute, export_filename, field_header, wants_xlsx, xlsx_response
from otklik.documents.masking import mask_personal_data
from otklik.org.models import Department


@dataclass
class DepartmentRow:
    department: Department
    assignments: list[Assignment] = field(default_factory=list)
    bar_class: str = ""

    @property
    def count(self) -> int:
        return len(self.assignments)


def bar_bucket(count: int, maximum: int) -> str:
    """A width class `desk-bar-10` … `desk-bar-100` (tenths, rounded up): the CSP forbids inline widths."""
    if maximum <= 0 or count <= 0:
        return "desk-bar-0"
    return f"desk-bar-{min(10, math.ceil(10 * count / maximum)) * 10}"


def overdue_by_department() -> list[DepartmentRow]:
    """Departments with overdue open assignments, the worst first (most overdue, then the oldest due time).

    One query: open assignments past their due time with their incident's first line and status.
    """
    now = timezone.now()
    overdue = (
        Assignment.objects.filter(status__in=ASSIGNMENT_OPEN, due_at__lt=now)
        .select_related("department", "incident", "assignee")
        .annotate(first_text=first_post_text())
        .order_by("due_at", "id")
    )
    rows: dict[int, DepartmentRow] = {}
    for assignment in overdue:
        assignment.preview = first_line(assignment.first_text, 120)  # type: ignore[attr-defined]
        row = rows.setdefault(assignment.department_id, DepartmentRow(assignment.department))
        row.assignments.append(assignment)
    # Within a department the list is by due time already: its first item is the oldest.
    ordered = sorted(rows.values(), key=lambda r: (-r.count, r.assignments[0].due_at, r.department.name))
    maximum = ordered[0].count if ordered else 0
    for row in ordered:
        row.bar_class = bar_bucket(row.count, maximum)
    return ordered


def overdue_without_open_assignment() -> list[Incident]:
    """Open incidents past the answer deadline that no department is holding up: the service itself is late.

    That is an incident never routed, or whose departments have all answered (information waiting to be checked,
    or an answer waiting to be written).
    """
    now = timezone.now()
    open_assignment = Assignment.objects.filter(incident=OuterRef("pk"), status__in=ASSIGNMENT_OPEN)
    incidents: list[Incident] = list(
        Incident.objects.filter(status__in=OPEN_STATUSES, due_at__lt=now)
        .filter(~Exists(open_assignment))
        .select_related("owner", "lead_department")
        .annotate(first_text=first_post_text("pk"))
        .order_by("due_at", "id")
    )
    for incident in incidents:
        incident.preview = first_line(incident.first_text, 120)  # type: ignore[attr-defined]
    return incidents


@head_required
def overdue_board(request: HttpRequest) -> HttpResponse:
    departments = overdue_by_department()
    incidents = overdue_without_open_assignment()
    if wants_xlsx(request):
        return export_board(request, departments, incidents)
    context = {
        "departments": departments,
        "incidents": incidents,
        "total_assignments": sum(row.count for row in departments),
    }
    return render_page(request, "cases/board_overdue.html", context, partial="board")


def export_board(request: HttpRequest, departments: list[DepartmentRow], incidents: list[Incident]) -> HttpResponse:
    """The board as XLSX: the departments ranked, their overdue assignments, the incidents late in the service."""
    summary: Sheet = (
        _("Departments"),
        [field_header(Assignment, "department"), _("Overdue assignments"), _("Oldest due time")],
        [[row.department.name, row.count, row.assignments[0].due_at] for row in departments],
    )
    assignments: Sheet = (
        _("Overdue assignments"),
        [
            field_header(Assignment, "department"),
            _("Incident №"),
            field_header(Assignment, "due_at"),
            field_header(Assignment, "status"),
            field_header(Assignment, "assignee"),
            (_("Text of the first post"), 60),
            _("Link"),
        ],
        [
            [
                row.department.name,
                a.incident_id,
                a.due_at,
                a.get_status_display(),
                a.assignee.display_name if a.assignee else "",
                mask_personal_data(a.first_text or ""),  # type: ignore[attr-defined]
                absolute(request, f"/incidents/{a.incident_id}/"),
            ]
            for row in departments
            for a in row.assignments
        ],
    )
    late: Sheet = (
        _("Late in the service"),
        [
            "№",
            field_header(Incident, "due_at"),
            field_header(Incident, "status"),
            field_header(Incident, "lead_department"),
            field_header(Incident, "owner"),
            (_("Text of the first post"), 60),
            _("Link"),
        ],
        [
            [
                i.pk,
                i.due_at,
                i.get_status_display(),
                i.lead_department.name if i.lead_department else "",
                i.owner.display_name if i.owner else "",
                mask_personal_data(i.first_text or ""),  # type: ignore[attr-defined]
                absolute(request, f"/incidents/{i.pk}/"),
            ]
            for i in incidents
        ],
    )
    return xlsx_response(export_filename("overdue"), [summary, assignments, late])
