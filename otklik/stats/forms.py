"""The dashboard's period and filters (GET, kept in the URL)."""

from __future__ import annotations

import datetime as dt
from typing import Any

from django import forms
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from otklik.intake.choices import Channel
from otklik.org.models import Department, TopicGroup
from otklik.stats.params import MAX_DAYS
from otklik.stats.selectors import StatsFilters

# Rolling periods ending today: how many days back the first day is.
PRESETS: dict[str, tuple[Any, int]] = {
    "today": (_("Today"), 0),
    "week": (_("7 days"), 6),
    "month": (_("30 days"), 29),
    "quarter": (_("90 days"), 89),
}
DEFAULT_PERIOD = "week"
DATE_ATTRS = {"type": "date", "class": "form-control form-control-sm"}


def _select() -> forms.Select:
    return forms.Select(attrs={"class": "form-select form-select-sm"})


class DashboardForm(forms.Form):
    period = forms.ChoiceField(
        label=_("Period"),
        choices=[*((key, label) for key, (label, _days) in PRESETS.items()), ("custom", _("Dates"))],
        required=False,
        widget=_select(),
    )
    date_from = forms.DateField(
        label=_("from"), required=False, widget=forms.DateInput(attrs=DATE_ATTRS, format="%Y-%m-%d")
    )
    date_to = forms.DateField(
        label=_("to"), required=False, widget=forms.DateInput(attrs=DATE_ATTRS, format="%Y-%m-%d")
    )
    group = forms.ModelChoiceField(
        label=_("group"),
        queryset=TopicGroup.objects.order_by("name"),
        required=False,
        empty_label=_("All groups"),
        widget=_select(),
    )
    department = forms.ModelChoiceField(
        label=_("lead department"),
        queryset=Department.objects.order_by("name"),
        required=False,
        empty_label=_("All departments"),
        widget=_select(),
    )
    source = forms.ChoiceField(
        label=_("source"), choices=[("", _("All sources")), *Channel.choices], required=False, widget=_select()
    )

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        start, end = data.get("date_from"), data.get("date_to")
        if start and end and start > end:
            raise forms.ValidationError(_("The end of the period is before its start — swap the dates."))
        if start and end and (end - start).days > MAX_DAYS:
            raise forms.ValidationError(_("Choose at most three years."))
        return data

    def _data(self) -> dict[str, Any]:
        return self.cleaned_data if self.is_bound and self.is_valid() else {}

    def bounds(self) -> tuple[dt.date, dt.date]:
        """The custom dates when the period is «custom» or absent and dates are given (a missing end is today, a
        missing start a week before the end); else the preset ending today. An invalid form: the default preset."""
        today = timezone.localdate()
        data = self._data()
        period = data.get("period") or ""
        if period == "custom" or (not period and (data.get("date_from") or data.get("date_to"))):
            end = data.get("date_to") or today
            return data.get("date_from") or min(end, today) - dt.timedelta(days=6), end
        _label, days = PRESETS.get(period or DEFAULT_PERIOD, PRESETS[DEFAULT_PERIOD])
        return today - dt.timedelta(days=days), today

    def filters(self) -> StatsFilters:
        data = self._data()
        return StatsFilters(
            group=data.get("group"), department=data.get("department"), channel=data.get("source") or ""
        )
