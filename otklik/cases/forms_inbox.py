"""Forms of the operator's inbox: the filters (GET, kept in the URL) and the bulk actions (POST)."""

from __future__ import annotations

from typing import Any

from django import forms
from django.utils.translation import gettext_lazy as _

from otklik.cases.choices import NoAnswerReason
from otklik.core.widgets import FastSelect
from otklik.intake.choices import Channel
from otklik.org.models import Department, Territory, TopicGroup

DATE_WIDGET = forms.DateInput(attrs={"type": "date", "class": "form-control form-control-sm"}, format="%Y-%m-%d")


def _select(label: Any) -> forms.Select:
    return FastSelect(attrs={"class": "form-select form-select-sm", "aria-label": label})


class InboxFilterForm(forms.Form):
    """The filters above the list. An invalid value is reported next to its field and left out of the filter."""

    q = forms.CharField(
        label=_("Search"),
        required=False,
        max_length=200,
        widget=forms.TextInput(
            attrs={
                "type": "search",
                "class": "form-control form-control-sm",
                "placeholder": _("Text, address or incident number"),
                "data-search-box": "",
                "autocomplete": "off",
            }
        ),
    )
    group = forms.ModelChoiceField(
        label=_("group"),
        queryset=TopicGroup.objects.order_by("name"),
        required=False,
        empty_label=_("All groups"),
        widget=_select(_("group")),
    )
    department = forms.ModelChoiceField(
        label=_("lead department"),
        queryset=Department.objects.order_by("name"),
        required=False,
        empty_label=_("All departments"),
        widget=_select(_("lead department")),
    )
    channel = forms.ChoiceField(
        label=_("source"),
        choices=[("", _("All sources")), *Channel.choices],
        required=False,
        widget=_select(_("source")),
    )
    territory = forms.ModelChoiceField(
        label=_("territory"),
        queryset=Territory.objects.order_by("name"),
        required=False,
        empty_label=_("All places"),
        widget=_select(_("territory")),
    )
    date_from = forms.DateField(label=_("Created from"), required=False, widget=DATE_WIDGET)
    date_to = forms.DateField(label=_("Created to"), required=False, widget=DATE_WIDGET)
    # Incident numbers, comma-separated: the spikes page links to the incidents behind a spike.
    ids = forms.CharField(label=_("incidents"), required=False, max_length=4000, widget=forms.HiddenInput)

    def clean_ids(self) -> list[int] | None:
        raw = (self.cleaned_data.get("ids") or "").replace(" ", "")
        if not raw:
            return None
        parts = raw.split(",")
        if not all(part.isdigit() for part in parts):
            raise forms.ValidationError(_("Incident numbers separated by commas."))
        return sorted({int(part) for part in parts})

    # Hidden filters the dashboard links to (docs/STATS.md, "Click-through"): shown as removable chips.
    answered = forms.ChoiceField(
        label=_("answered"), choices=[("", ""), ("1", "1")], required=False, widget=forms.HiddenInput
    )
    on_time = forms.ChoiceField(
        label=_("on time"), choices=[("", ""), ("1", "1"), ("0", "0")], required=False, widget=forms.HiddenInput
    )
    reopened = forms.ChoiceField(
        label=_("reopened"), choices=[("", ""), ("1", "1")], required=False, widget=forms.HiddenInput
    )
    merged = forms.ChoiceField(
        label=_("merged"), choices=[("", ""), ("0", "0")], required=False, widget=forms.HiddenInput
    )
    address = forms.CharField(label=_("address"), required=False, max_length=500, widget=forms.HiddenInput)
    # Posts written in [posts_from, posts_to] (city-local dates), optionally negative ones («Posts», «Negative posts»).
    posts_from = forms.DateField(label=_("posts from"), required=False, widget=forms.HiddenInput)
    posts_to = forms.DateField(label=_("posts to"), required=False, widget=forms.HiddenInput)
    negative = forms.ChoiceField(
        label=_("negative posts"), choices=[("", ""), ("1", "1")], required=False, widget=forms.HiddenInput
    )
    # The first answer published («First answer» time); a final answer published in [final_from, final_to],
    # satisfied after the first one («Satisfied»).
    first_answered = forms.ChoiceField(
        label=_("first answer"), choices=[("", ""), ("1", "1")], required=False, widget=forms.HiddenInput
    )
    final_from = forms.DateField(label=_("final answer from"), required=False, widget=forms.HiddenInput)
    final_to = forms.DateField(label=_("final answer to"), required=False, widget=forms.HiddenInput)
    satisfied = forms.ChoiceField(
        label=_("satisfied"), choices=[("", ""), ("1", "1")], required=False, widget=forms.HiddenInput
    )
    # Incidents having a non-cancelled assignment of a department created in [assigned_from, assigned_to_date]
    # (the departments' bars: every assignment, lead or co-executor, as the scorecard counts them).
    assigned_to = forms.ModelChoiceField(
        label=_("assigned to"), queryset=Department.objects.all(), required=False, widget=forms.HiddenInput
    )
    assigned_from = forms.DateField(label=_("assigned from"), required=False, widget=forms.HiddenInput)
    assigned_to_date = forms.DateField(label=_("assigned to date"), required=False, widget=forms.HiddenInput)

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        start, end = data.get("date_from"), data.get("date_to")
        if start and end and start > end:
            self.add_error("date_to", _("The end of the period is before its start — swap the dates."))
        return data

    def valid_data(self) -> dict[str, Any]:
        """The values that passed validation (a wrong one is left out, the others still filter)."""
        self.is_valid()
        for name in self.errors:
            if name in self.fields:
                widget = self.fields[name].widget
                widget.attrs["class"] = f"{widget.attrs.get('class', '')} is-invalid".strip()
        return {name: value for name, value in self.cleaned_data.items() if name not in self.errors}


class BulkAction:
    ROUTE = "route"
    NO_ANSWER = "no_answer"
    MERGE = "merge"


class BulkActionForm(forms.Form):
    action = forms.ChoiceField(
        choices=[
            (BulkAction.ROUTE, _("Route by the rules")),
            (BulkAction.NO_ANSWER, _("No answer needed")),
            (BulkAction.MERGE, _("Merge")),
        ]
    )
    ids = forms.TypedMultipleChoiceField(coerce=int, choices=[], required=False)
    reason = forms.ChoiceField(
        label=_("reason for no answer"),
        choices=[("", "—"), *NoAnswerReason.choices],
        required=False,
        widget=_select(_("reason for no answer")),
    )
    note = forms.CharField(
        label=_("Note"),
        required=False,
        max_length=1000,
        widget=forms.TextInput(attrs={"class": "form-control form-control-sm", "placeholder": _("Note")}),
    )
    into = forms.IntegerField(
        label=_("Merge into №"),
        required=False,
        min_value=1,
        widget=forms.NumberInput(
            attrs={"class": "form-control form-control-sm", "placeholder": _("the oldest"), "min": "1"}
        ),
    )

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        # Any number is accepted here; the view keeps only the incidents the user can see.
        posted = self.data.getlist("ids") if hasattr(self.data, "getlist") else self.data.get("ids", [])
        self.fields["ids"].choices = [(value, value) for value in posted]  # type: ignore[attr-defined]

    def clean_ids(self) -> list[int]:
        ids = self.cleaned_data.get("ids") or []
        if not ids:
            raise forms.ValidationError(_("Tick the incidents first."))
        return sorted(set(ids))

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        if data.get("action") == BulkAction.NO_ANSWER:
            if not data.get("reason"):
                self.add_error("reason", _("Choose a reason why no answer is needed."))
            elif data["reason"] == NoAnswerReason.OTHER and not (data.get("note") or "").strip():
                self.add_error("note", _("Describe the reason."))
        return data
