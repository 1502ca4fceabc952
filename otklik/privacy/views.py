"""`/settings/personal-data/`: find what the service holds about a person, export it, erase it (head of service)."""

from __future__ import annotations

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.core.paginator import Paginator
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.utils.http import content_disposition_header
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_POST

from otklik.core.decorators import head_required
from otklik.core.xlsx import CONTENT_TYPE
from otklik.privacy.forms import ErasureForm, PersonForm
from otklik.privacy.models import PersonalDataRequest
from otklik.privacy.services import Person, do_erase_person, export_person, past_requests, person_posts, retention_days

POSTS_PER_PAGE = 50
RECENT_REQUESTS = 20


@head_required
@require_GET
def person_search(request: HttpRequest) -> HttpResponse:
    form = PersonForm(request.GET or None)
    context: dict[str, object] = {
        "form": form,
        "retention_days": retention_days(),
        "recent": PersonalDataRequest.objects.select_related("done_by")[:RECENT_REQUESTS],
        "section": "privacy",
    }
    if form.is_bound and form.is_valid():
        person: Person = form.cleaned_data["person"]
        posts = person_posts(person).select_related("source", "incident").order_by("-posted_at", "-pk")
        context.update(
            {
                "person": person,
                "posts_page": Paginator(posts, POSTS_PER_PAGE).get_page(request.GET.get("page")),
                "incidents": posts.exclude(incident=None).values("incident").distinct().count(),
                "erased": posts.exclude(personal_data_removed_at=None).count(),
                "past": past_requests(person).select_related("done_by"),
                "erasure_form": ErasureForm(initial=form.cleaned_data),
                "query": request.GET.urlencode(),
            }
        )
    return render(request, "privacy/person.html", context)


@head_required
@require_GET
def person_export(request: HttpRequest) -> HttpResponse:
    form = PersonForm(request.GET)
    if not form.is_valid():
        for error in form.non_field_errors():
            messages.error(request, str(error))
        return redirect("privacy")
    content = export_person(form.cleaned_data["person"], by=request.user)
    response = HttpResponse(content, content_type=CONTENT_TYPE)
    filename = f"otklik-personal-data-{timezone.localdate():%Y%m%d}.xlsx"
    response["Content-Disposition"] = content_disposition_header(True, filename)
    response["Cache-Control"] = "no-store"
    return response


@head_required
@require_POST
def person_erase(request: HttpRequest) -> HttpResponse:
    form = ErasureForm(request.POST)
    if not form.is_valid():
        errors = [str(e) for field_errors in form.errors.values() for e in field_errors]
        messages.error(request, _("Nothing was erased: %(errors)s") % {"errors": " ".join(errors)})
        return redirect(f"{_privacy_url()}?{_person_query(request)}")
    try:
        done = do_erase_person(form.cleaned_data["person"], by=request.user, reason=form.cleaned_data["reason"])
    except ValidationError as error:
        messages.error(request, " ".join(error.messages))
        return redirect(f"{_privacy_url()}?{_person_query(request)}")
    messages.success(
        request,
        _("The person's data is erased: posts %(posts)s, incidents %(incidents)s. The request is recorded.")
        % {"posts": done.posts, "incidents": done.incidents},
    )
    return redirect(f"{_privacy_url()}?{_person_query(request)}")


def _privacy_url() -> str:
    from django.urls import reverse

    return reverse("privacy")


def _person_query(request: HttpRequest) -> str:
    from django.http import QueryDict

    query = QueryDict(mutable=True)
    for name in ("channel", "author_id", "author_name"):
        if request.POST.get(name):
            query[name] = request.POST[name]
    return query.urlencode()
