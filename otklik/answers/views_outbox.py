"""The outbox on the card: record a link published by hand, retry a failed publication (service users only).

An HTMX request gets the answer's publications partial (templates/answers/_publications.html) back, with the error
next to the link it concerns; a plain request is redirected to the incident's card with a message.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, cast

from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from otklik.answers.models import Publication
from otklik.answers.outbox import do_record_manual_publication, do_retry_publication
from otklik.core.decorators import service_required
from otklik.core.errors import DomainError
from otklik.core.htmx import is_region_request

if TYPE_CHECKING:
    from otklik.accounts.models import User

PARTIAL = "answers/_publications.html"


def _publication(pk: int) -> Publication:
    return get_object_or_404(Publication.objects.select_related("answer__incident"), pk=pk)


def _respond(request: HttpRequest, publication: Publication, *, message: str = "", **extra: Any) -> HttpResponse:
    incident_id = publication.answer.incident_id
    error = extra.get("outbox_error", "")
    if is_region_request(request):
        context = {"answer": publication.answer, "can_act": True, "outbox_message": message, **extra}
        return render(request, PARTIAL, context)
    if error:
        messages.error(request, error)
    elif message:
        messages.success(request, message)
    return redirect(f"/incidents/{incident_id}/#publications-{publication.answer_id}")


@service_required
@require_POST
def record_manual(request: HttpRequest, pk: int) -> HttpResponse:
    publication = _publication(pk)
    url = request.POST.get("url", "")
    try:
        do_record_manual_publication(publication, actor=cast("User", request.user), url=url)
    except DomainError as exc:
        return _respond(request, publication, outbox_error=exc.message, outbox_error_pk=publication.pk, outbox_url=url)
    return _respond(request, publication, message=_("The link is recorded: the answer is published in this thread."))


@service_required
@require_POST
def retry(request: HttpRequest, pk: int) -> HttpResponse:
    publication = _publication(pk)
    try:
        do_retry_publication(publication, actor=cast("User", request.user))
    except DomainError as exc:
        return _respond(request, publication, outbox_error=exc.message, outbox_error_pk=publication.pk)
    return _respond(request, publication, message=_("The publication will be tried again."))
