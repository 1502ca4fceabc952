"""The report from the UI (download for the dashboard's period and filters) and the weekly delivery's settings."""

from __future__ import annotations

from typing import Any, cast

from django import forms
from django.contrib import messages
from django.core.exceptions import ValidationError
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from otklik.accounts.models import User
from otklik.core.decorators import head_required, reader_required
from otklik.stats.forms import DashboardForm
from otklik.stats.models import ReportFormat, ReportSubscription
from otklik.stats.report import CONTENT_TYPES, FORMATS, build_report
from otklik.stats.report import render as render_report
from otklik.stats.services import do_add_report_subscription, do_remove_report_subscription


@reader_required
@require_GET
def download_report(request: HttpRequest) -> HttpResponse:
    """The note for the dashboard's period and filters (the same parameters as /dashboard/) + `format`."""
    fmt = request.GET.get("format", "docx")
    if fmt not in FORMATS:
        return HttpResponse(_("Unknown format: choose DOCX or XLSX."), status=400, content_type="text/plain")
    form = DashboardForm(request.GET or None)
    if form.is_bound and not form.is_valid():
        errors = " ".join(str(e) for errs in form.errors.values() for e in errs)
        return HttpResponse(errors, status=400, content_type="text/plain; charset=utf-8")
    start, end = form.bounds()
    report = build_report(start, end, form.filters())
    response = HttpResponse(render_report(report, fmt), content_type=CONTENT_TYPES[fmt])
    response["Content-Disposition"] = f'attachment; filename="{report.filename(fmt)}"'
    return response


class SubscriptionForm(forms.Form):
    user = forms.ModelChoiceField(
        label=gettext_lazy("User"),
        queryset=User.objects.filter(is_active=True).exclude(email="").order_by("last_name", "first_name", "username"),
        required=False,
        empty_label=gettext_lazy("— an e-mail address instead —"),
        widget=forms.Select(attrs={"class": "form-select form-select-sm"}),
    )
    email = forms.EmailField(
        label=gettext_lazy("E-mail"),
        required=False,
        widget=forms.EmailInput(attrs={"class": "form-control form-control-sm", "placeholder": "name@example.org"}),
    )
    format = forms.ChoiceField(
        label=gettext_lazy("Format"),
        choices=ReportFormat.choices,
        initial=ReportFormat.DOCX,
        widget=forms.Select(attrs={"class": "form-select form-select-sm"}),
    )

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        if bool(data.get("user")) == bool(data.get("email")):
            raise ValidationError(_("Choose a user or enter an e-mail address (one of the two)."))
        return data


@head_required
@require_http_methods(["GET", "POST"])
def subscription_list(request: HttpRequest) -> HttpResponse:
    form = SubscriptionForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        actor = cast(User, request.user)
        try:
            subscription = do_add_report_subscription(
                actor=actor,
                user=form.cleaned_data["user"],
                email=form.cleaned_data["email"] or "",
                format=form.cleaned_data["format"],
            )
        except ValidationError as exc:
            form.add_error(None, exc)
        else:
            messages.success(
                request,
                _("%(recipient)s will receive the weekly report.") % {"recipient": subscription.recipient_label},
            )
            return redirect("settings-reports")
    subscriptions = ReportSubscription.objects.filter(is_active=True).select_related("user").order_by("pk")
    return render(
        request,
        "stats/report_subscriptions.html",
        {"section": "reports", "form": form, "subscriptions": subscriptions},
        status=400 if form.errors else 200,
    )


@head_required
@require_POST
def subscription_remove(request: HttpRequest, pk: int) -> HttpResponse:
    subscription = get_object_or_404(ReportSubscription, pk=pk, is_active=True)
    actor = cast(User, request.user)
    do_remove_report_subscription(subscription, actor=actor)
    messages.success(
        request, _("%(recipient)s will no longer receive the report.") % {"recipient": subscription.recipient_label}
    )
    return redirect("settings-reports")
