"""Polled sources (/settings/sources/): the list with each source's health, the form, «poll now» and «repair».

For the head of the service, admins and staff. The token is write-only: pages say whether one is stored, never
what it is.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps
from typing import TYPE_CHECKING, Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.db.models import Count, QuerySet
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from otklik.core.errors import DomainError
from otklik.core.xlsx import absolute, export_filename, field_header, wants_xlsx, xlsx_response
from otklik.intake.forms_sources import SourceForm
from otklik.intake.models import Source
from otklik.intake.polling import can_manage_sources, do_repair_source, do_request_poll, do_save_source, max_failures

if TYPE_CHECKING:
    from otklik.accounts.models import User

View = Callable[..., HttpResponse]


def sources_admin_required(view: View) -> View:
    """The head of the service, admins and staff; others get 403."""

    @login_required
    @wraps(view)
    def wrapped(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        if not can_manage_sources(request.user):  # type: ignore[arg-type]
            raise PermissionDenied(_("This page is for the head of the service."))
        return view(request, *args, **kwargs)

    return wrapped


def _user(request: HttpRequest) -> User:
    return request.user  # type: ignore[return-value]


def export_sources(request: HttpRequest, sources: QuerySet[Source]) -> HttpResponse:
    """The sources without their secrets (no token, no config)."""
    headers = [
        "ID",
        field_header(Source, "channel"),
        (field_header(Source, "name"), 40),
        field_header(Source, "account"),
        field_header(Source, "is_active"),
        field_header(Source, "state"),
        _("Posts"),
        field_header(Source, "poll_interval"),
        field_header(Source, "last_polled_at"),
        field_header(Source, "failures"),
        (field_header(Source, "last_error"), 40),
        (field_header(Source, "broken_reason"), 40),
        field_header(Source, "broken_at"),
        _("Link"),
    ]
    lines = (
        [
            s.pk,
            s.get_channel_display(),
            s.name,
            s.account,
            s.is_active,
            s.get_state_display(),
            s.post_count,  # type: ignore[attr-defined]
            s.poll_interval,
            s.last_polled_at,
            s.failures,
            s.last_error,
            s.broken_reason,
            s.broken_at,
            absolute(request, f"/settings/sources/{s.pk}/"),
        ]
        for s in sources.iterator(chunk_size=1000)
    )
    return xlsx_response(export_filename("sources"), [(_("Sources"), headers, lines)])


@sources_admin_required
def source_list(request: HttpRequest) -> HttpResponse:
    sources = Source.objects.annotate(post_count=Count("posts")).order_by("channel", "name", "id")
    if wants_xlsx(request):
        return export_sources(request, sources)
    return render(
        request,
        "intake/source_list.html",
        {"sources": sources, "max_failures": max_failures()},
    )


def _form_page(request: HttpRequest, source: Source | None) -> HttpResponse:
    form = SourceForm(request.POST if request.method == "POST" else None, source=source)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            saved, _created = do_save_source(
                source,
                actor=_user(request),
                channel=data["channel"],
                name=data["name"],
                config=form.config(),
                token=data.get("token", ""),
                poll_interval=data["poll_interval"],
                is_active=data["is_active"],
            )
        except DomainError as exc:
            field = exc.field if exc.field in form.fields else None
            form.add_error(field, exc.message)
        else:
            messages.success(request, _("The source «%(name)s» is saved.") % {"name": saved.name})
            return redirect("settings-sources")
    return render(request, "intake/source_form.html", {"form": form, "source": source})


@sources_admin_required
def source_create(request: HttpRequest) -> HttpResponse:
    return _form_page(request, None)


@sources_admin_required
def source_edit(request: HttpRequest, pk: int) -> HttpResponse:
    return _form_page(request, get_object_or_404(Source, pk=pk))


@sources_admin_required
@require_POST
def source_poll(request: HttpRequest, pk: int) -> HttpResponse:
    source = get_object_or_404(Source, pk=pk)
    if do_request_poll(source, _user(request)):
        messages.success(request, _("The source «%(name)s» will be polled in a moment.") % {"name": source.name})
    else:
        messages.error(
            request,
            _("The source «%(name)s» cannot be polled: it is off, broken, or has no token.") % {"name": source.name},
        )
    return redirect("settings-sources")


@sources_admin_required
@require_POST
def source_repair(request: HttpRequest, pk: int) -> HttpResponse:
    source = do_repair_source(get_object_or_404(Source, pk=pk), _user(request))
    messages.success(request, _("The source «%(name)s» is polled again.") % {"name": source.name})
    return redirect("settings-sources")
