"""The department scorecard page (the head of the service and the director)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from decimal import Decimal
from typing import Any, cast

from django import forms
from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.db.models import Case, QuerySet, When
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from django.views.decorators.http import require_POST

from otklik.accounts.models import User
from otklik.cases.models import Assignment
from otklik.cases.views.board import bar_bucket
from otklik.core.decorators import department_required, reader_required, service_required
from otklik.core.errors import DomainError
from otklik.core.htmx import render_page
from otklik.core.xlsx import absolute, export_filename, field_header, wants_xlsx, xlsx_response
from otklik.sla.choices import OPEN_STATES, ExtensionStatus
from otklik.sla.models import Clock, ExtensionRequest
from otklik.sla.scorecard import scorecard
from otklik.sla.services import (
    MAX_EXTENSION_HOURS,
    acts_as_head,
    do_decide_extension,
    do_request_extension,
)

PRESETS = {
    "week": (_("7 days"), 6),
    "month": (_("30 days"), 29),
    "quarter": (_("90 days"), 89),
    "year": (_("365 days"), 364),
}


DATE_ATTRS = {"type": "date", "class": "form-control form-control-sm"}


class PeriodForm(forms.Form):
    period = forms.ChoiceField(
        label=_("Period"),
        choices=[*((key, label) for key, (label, _days) in PRESETS.items()), ("custom", _("Dates"))],
        required=False,
        widget=forms.Select(attrs={"class": "form-select form-select-sm"}),
    )
    start = forms.DateField(label=_("from"), required=False, widget=forms.DateInput(attrs=DATE_ATTRS))
    end = forms.DateField(label=_("to"), required=False, widget=forms.DateInput(attrs=DATE_ATTRS))

    def clean(self) -> dict:
        data = super().clean() or {}
        start, end = data.get("start"), data.get("end")
        if start and end and start > end:
            raise forms.ValidationError(_("The period must end after it starts."))
        if start and end and (end - start).days > 3 * 366:
            raise forms.ValidationError(_("Choose at most three years."))
        return data

    def bounds(self) -> tuple[dt.date, dt.date]:
        today = timezone.localdate()
        data = self.cleaned_data if self.is_bound and self.is_valid() else {}
        if data.get("start") or data.get("end"):
            end = data.get("end") or today
            return data.get("start") or end - dt.timedelta(days=29), end
        _label, days = PRESETS.get(data.get("period") or "month", PRESETS["month"])
        return today - dt.timedelta(days=days), today


@reader_required
def department_scorecard(request: HttpRequest) -> HttpResponse:
    form = PeriodForm(request.GET or None)
    start, end = form.bounds()
    rows = scorecard(start, end)
    for row in rows:
        share = row.on_time_share
        row.bar_class = bar_bucket(round((share or 0) * 100), 100)  # type: ignore[attr-defined]
    judged = sum(r.judged for r in rows)
    on_time = sum(r.on_time for r in rows)
    totals = {
        "assignments": sum(r.assignments for r in rows),
        "share": on_time / judged if judged else None,
    }
    if wants_xlsx(request):
        return export_scorecard(rows, start, end)
    return render_page(
        request,
        "sla/scorecard.html",
        {"form": form, "rows": rows, "start": start, "end": end, "totals": totals},
        partial="scorecard",
    )


def _share(value: float | None) -> float | None:
    return round(value * 100, 1) if value is not None else None


def _hours(value: float | None) -> float | None:
    return round(value, 1) if value is not None else None


def export_scorecard(rows: list, start: dt.date, end: dt.date) -> HttpResponse:
    """The scorecard as XLSX: the same columns as the page (shares in %, hours as numbers)."""
    headers = [
        _("Department"),
        _("Assignments"),
        _("On time, %"),
        _("To information, working h (median)"),
        _("To information, working h (mean)"),
        _("To information, calendar h (median)"),
        _("To information, calendar h (mean)"),
        _("Rework, %"),
        _("Returns for rework"),
        _("Returns by criterion"),
        _("Not our competence"),
        _("Extensions"),
        _("Extensions approved"),
    ]

    def criteria(row: Any) -> str:
        parts = [f"{c.label}: {c.count}" for c in row.criteria_counts if c.count]
        if row.returns_without_criteria:
            parts.append(f"{_('no criterion given')}: {row.returns_without_criteria}")
        return "; ".join(parts)

    lines = [
        [
            row.department.name,
            row.assignments,
            _share(row.on_time_share),
            _hours(row.median_working_hours),
            _hours(row.mean_working_hours),
            _hours(row.median_calendar_hours),
            _hours(row.mean_calendar_hours),
            _share(row.rework_share),
            row.returns,
            criteria(row),
            row.declined,
            row.extensions,
            row.extensions_approved,
        ]
        for row in rows
    ]
    title = f"{start:%d.%m.%Y} — {end:%d.%m.%Y}"
    return xlsx_response(export_filename(f"scorecard-{start:%Y%m%d}-{end:%Y%m%d}"), [(title, headers, lines)])


def _user(request: HttpRequest) -> User:
    return cast("User", request.user)  # the decorators let only signed-in users in


# --- extensions -----------------------------------------------------------------------------------------------


class ExtensionForm(forms.Form):
    hours = forms.DecimalField(
        label=_("Extra working hours"),
        min_value=Decimal("0.5"),
        max_value=MAX_EXTENSION_HOURS,
        decimal_places=1,
        widget=forms.NumberInput(attrs={"class": "form-control form-control-sm", "step": "0.5", "min": "0.5"}),
    )
    reason = forms.CharField(
        label=_("Why more time is needed"),
        max_length=2000,
        widget=forms.Textarea(attrs={"class": "form-control form-control-sm", "rows": 2}),
    )


def extension_context(assignment: Assignment, *, can_ask: bool, form: ExtensionForm | None = None) -> dict:
    """For the assignment page: its open clock, the extension requests, and the form when one may be asked."""
    clock = Clock.objects.filter(assignment=assignment, state__in=OPEN_STATES).order_by("-created_at").first()
    requests = list(
        ExtensionRequest.objects.filter(clock__assignment=assignment)
        .select_related("requested_by", "decided_by")
        .order_by("-created_at")
    )
    pending = any(r.status == ExtensionStatus.PENDING for r in requests)
    return {
        "assignment_clock": clock,
        "extension_requests": requests,
        "extension_form": (form or ExtensionForm()) if can_ask and clock is not None and not pending else None,
    }


@department_required
@require_POST
def assignment_extension(request: HttpRequest, pk: int) -> HttpResponse:
    """A department asks for more time on its assignment; the acting head of the service decides."""
    from otklik.cases.views.assignments import _get_assignment

    assignment = _get_assignment(request, pk)
    form = ExtensionForm(request.POST)
    clock = Clock.objects.filter(assignment=assignment, state__in=OPEN_STATES).order_by("-created_at").first()
    if form.is_valid() and clock is not None:
        try:
            do_request_extension(
                clock, actor=_user(request), hours=form.cleaned_data["hours"], reason=form.cleaned_data["reason"]
            )
        except DomainError as error:
            messages.error(request, error.message)
        else:
            messages.success(request, _("The request is sent to the head of the service."))
    elif clock is None:
        messages.error(request, _("The deadline is already closed."))
    else:
        messages.error(request, " ".join(str(e) for errors in form.errors.values() for e in errors))
    return redirect("assignment-detail", pk=assignment.pk)


@service_required
def extension_list(request: HttpRequest) -> HttpResponse:
    """Extension requests: pending first; the acting head decides, others see them."""
    user = _user(request)
    may_decide = acts_as_head(user)
    if request.method == "POST":
        if not may_decide:
            raise PermissionDenied(_("Only the head of the service (or the acting head) decides on extensions."))
        extension = get_object_or_404(ExtensionRequest, pk=request.POST.get("request"))
        approve = request.POST.get("decision") == "approve"
        try:
            do_decide_extension(extension, actor=user, approve=approve, note=request.POST.get("note", ""))
        except DomainError as error:
            messages.error(request, error.message)
        else:
            messages.success(request, _("Extension approved.") if approve else _("Extension refused."))
        return redirect("extensions")
    queryset = ExtensionRequest.objects.select_related(
        "clock__incident", "clock__assignment__department", "requested_by", "decided_by"
    ).order_by(Case(When(status=ExtensionStatus.PENDING, then=0), default=1), "-created_at")
    if wants_xlsx(request):
        return export_extensions(request, queryset)
    requests = list(queryset[:200])
    return render_page(request, "sla/extensions.html", {"requests": requests, "may_decide": may_decide})


def export_extensions(request: HttpRequest, queryset: QuerySet[ExtensionRequest]) -> HttpResponse:
    """Every extension request (the page shows the latest 200) as XLSX."""
    headers = [
        _("Incident №"),
        _("Department"),
        field_header(ExtensionRequest, "hours"),
        field_header(ExtensionRequest, "requested_by"),
        field_header(ExtensionRequest, "created_at"),
        (field_header(ExtensionRequest, "reason"), 50),
        field_header(ExtensionRequest, "old_due_at"),
        field_header(ExtensionRequest, "new_due_at"),
        field_header(ExtensionRequest, "status"),
        field_header(ExtensionRequest, "decided_by"),
        field_header(ExtensionRequest, "decided_at"),
        (field_header(ExtensionRequest, "decision_note"), 40),
        _("Link"),
    ]

    def lines() -> Iterator[list[Any]]:
        for r in queryset.iterator(chunk_size=1000):
            assignment = r.clock.assignment
            yield [
                r.clock.incident_id,
                assignment.department.name if assignment else "",
                r.hours,
                r.requested_by.display_name if r.requested_by else "",
                r.created_at,
                r.reason,
                r.old_due_at,
                r.new_due_at,
                r.get_status_display(),
                r.decided_by.display_name if r.decided_by else "",
                r.decided_at,
                r.decision_note,
                absolute(request, f"/incidents/{r.clock.incident_id}/"),
            ]

    return xlsx_response(export_filename("extensions"), [(_("Extension requests"), headers, lines())])
