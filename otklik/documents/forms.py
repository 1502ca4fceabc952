"""Forms of the documents app."""

from __future__ import annotations

import datetime as dt
from typing import Any

from django import forms
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from otklik.documents.letters import unknown_variables


class LetterTemplateForm(forms.Form):
    name = forms.CharField(label=_("Name"), max_length=255, widget=forms.TextInput(attrs={"class": "form-control"}))
    subject = forms.CharField(
        label=_("Subject"), max_length=255, required=False, widget=forms.TextInput(attrs={"class": "form-control"})
    )
    body = forms.CharField(
        label=_("Text"), widget=forms.Textarea(attrs={"class": "form-control font-monospace", "rows": 14})
    )

    def __init__(self, *args: Any, kind: str, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.kind = kind

    def _check(self, field: str) -> str:
        value: str = self.cleaned_data.get(field, "")
        unknown = unknown_variables(self.kind, value)
        if unknown:
            raise forms.ValidationError(
                _("Unknown variables: %(names)s."),
                code="unknown_variable",
                params={"names": ", ".join("{{ " + n + " }}" for n in unknown)},
            )
        return value

    def clean_subject(self) -> str:
        return self._check("subject")

    def clean_body(self) -> str:
        return self._check("body")


class MediaStatementForm(forms.Form):
    statement = forms.CharField(
        label=_("Draft statement"),
        required=False,
        max_length=20000,
        widget=forms.Textarea(attrs={"class": "form-control", "rows": 10}),
    )


class SummaryForm(forms.Form):
    start = forms.DateField(label=_("From"), required=False, widget=forms.DateInput(attrs={"type": "date"}))
    end = forms.DateField(label=_("To"), required=False, widget=forms.DateInput(attrs={"type": "date"}))
    deputy = forms.CharField(label=_("Deputy head"), required=False, max_length=255)

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        today = timezone.localdate()
        end = data.get("end") or today
        start = data.get("start") or end - dt.timedelta(days=6)
        if start > end:
            raise forms.ValidationError(_("The start of the period is after its end."), code="period")
        if (end - start).days > 366:
            raise forms.ValidationError(_("The period is longer than a year."), code="period")
        data["start"], data["end"] = start, end
        return data
