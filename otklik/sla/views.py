"""The department scorecard page (the head of the service and the director)."""

from __future__ import annotations

import datetime as dt

from django import forms
from django.http import HttpRequest, HttpResponse
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from otklik.cases.views.board import bar_bucket
from otklik.core.decorators import reader_required
from otklik.core.htmx import render_page
from otklik.sla.scorecard import scorecard

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
    return render_page(
        request,
        "sla/scorecard.html",
        {"form": form, "rows": rows, "start": start, "end": end, "totals": totals},
        partial="scorecard",
    )
