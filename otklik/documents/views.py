"""Views of the documents app: media briefs, letter drafts (DOCX) and the editor of letter templates."""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseBadRequest
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from otklik.cases.models import Assignment, Incident
from otklik.core.decorators import head_required, reader_required, service_required
from otklik.core.errors import DomainError
from otklik.documents import letters, media_brief
from otklik.documents.choices import LetterKind
from otklik.documents.forms import LetterTemplateForm, MediaStatementForm, SummaryForm
from otklik.documents.models import LetterTemplate
from otklik.documents.services import DOCX_MIME, dispatch_for, do_save_letter_template, do_send_media_brief
from otklik.nlp.models import Spike
from otklik.stats.params import ParamError, parse_filters

ASSIGNMENT_LETTERS = (LetterKind.INFO_REQUEST, LetterKind.OVERDUE_NOTICE)


def docx_response(content: bytes, filename: str) -> HttpResponse:
    response = HttpResponse(content, content_type=DOCX_MIME)
    response["Content-Disposition"] = f'attachment; filename="{filename}"'
    return response


def _subject(subject: str, pk: int) -> dict[str, Any]:
    if subject == "spike":
        return {"spike": get_object_or_404(Spike, pk=pk)}
    if subject == "incident":
        return {"incident": get_object_or_404(Incident, pk=pk)}
    raise Http404


def _brief(target: dict[str, Any]) -> media_brief.Brief:
    if "spike" in target:
        return media_brief.collect_for_spike(target["spike"])
    return media_brief.collect_for_incident(target["incident"])


@reader_required
def media_brief_page(request: HttpRequest, subject: str, pk: int) -> HttpResponse:
    target = _subject(subject, pk)
    brief = _brief(target)
    form = MediaStatementForm(initial={"statement": media_brief.default_statement(brief)})
    context = {
        "brief": brief,
        "form": form,
        "dispatch": dispatch_for(**target),
        "media_email": media_brief.media_email(),
        "base_url": f"/documents/media/{subject}/{pk}/",
        "back_url": "/spikes/" if subject == "spike" else f"/incidents/{pk}/",
    }
    return render(request, "documents/media_brief.html", context)


@reader_required
def media_brief_docx(request: HttpRequest, subject: str, pk: int) -> HttpResponse:
    """GET: the brief with the default statement; POST: with the statement the user edited."""
    brief = _brief(_subject(subject, pk))
    statement = None
    if request.method == "POST":
        form = MediaStatementForm(request.POST)
        if not form.is_valid():
            return HttpResponseBadRequest(_("The statement is too long."))
        statement = form.cleaned_data["statement"] or None
    return docx_response(media_brief.render_docx(brief, statement), brief.filename)


@require_POST
@service_required
def media_brief_send(request: HttpRequest, subject: str, pk: int) -> HttpResponse:
    target = _subject(subject, pk)
    form = MediaStatementForm(request.POST)
    statement = form.cleaned_data["statement"] if form.is_valid() else ""
    try:
        do_send_media_brief(actor=request.user, statement=statement, **target)  # type: ignore[arg-type]
    except DomainError as exc:
        messages.error(request, str(exc))
    else:
        messages.success(request, _("The media brief is sent to the media department."))
    return redirect(f"/documents/media/{subject}/{pk}/")


def _can_get_assignment_letter(user: Any, assignment: Assignment) -> bool:
    if user.can_read_all:
        return True
    return bool(user.is_department_user and user.department_id == assignment.department_id)


@login_required
def assignment_letter(request: HttpRequest, pk: int, kind: str) -> HttpResponse:
    if kind not in ASSIGNMENT_LETTERS:
        raise Http404
    assignment = get_object_or_404(Assignment.objects.select_related("incident__topic", "department"), pk=pk)
    if not _can_get_assignment_letter(request.user, assignment):
        raise PermissionDenied(_("This assignment belongs to another department."))
    if kind == LetterKind.OVERDUE_NOTICE and not assignment.is_overdue:
        raise Http404(_("The assignment is not overdue."))
    letter = letters.letter_for_assignment(kind, assignment)
    return docx_response(letters.render_docx(letter), letter.filename)


@reader_required
def summary_letter(request: HttpRequest) -> HttpResponse:
    # The API's names of the period (`from`, `to`) are accepted too.
    data = {
        "start": request.GET.get("start") or request.GET.get("from") or "",
        "end": request.GET.get("end") or request.GET.get("to") or "",
        "deputy": request.GET.get("deputy", ""),
    }
    form = SummaryForm(data)
    if not form.is_valid():
        return HttpResponseBadRequest("; ".join(str(e) for errors in form.errors.values() for e in errors))
    # The dashboard's filters, by the stats API's names and rules (`source`; the dashboard's `channel` too).
    try:
        filters = parse_filters(
            request.GET.get("group"),
            request.GET.get("department"),
            request.GET.get("source") or request.GET.get("channel"),
        )
    except ParamError as error:
        return HttpResponseBadRequest("; ".join(str(e) for errors in error.errors.values() for e in errors))
    letter = letters.summary_letter(
        form.cleaned_data["start"], form.cleaned_data["end"], form.cleaned_data["deputy"], filters
    )
    return docx_response(letters.render_docx(letter), letter.filename)


@head_required
def letter_template_list(request: HttpRequest) -> HttpResponse:
    letters.ensure_templates()
    context = {"templates": LetterTemplate.objects.select_related("updated_by"), "section": "letters"}
    return render(request, "documents/letter_template_list.html", context)


@head_required
def letter_template_edit(request: HttpRequest, kind: str) -> HttpResponse:
    if kind not in LetterKind.values:
        raise Http404
    template = letters.get_template(kind)
    if request.method == "POST":
        form = LetterTemplateForm(request.POST, kind=kind)
        if form.is_valid():
            try:
                do_save_letter_template(template, actor=request.user, **form.cleaned_data)  # type: ignore[arg-type]
            except DomainError as exc:
                form.add_error(exc.field, str(exc))
            else:
                messages.success(request, _("The letter template «%(name)s» is saved.") % {"name": template.name})
                return redirect("documents:letter-templates")
    else:
        form = LetterTemplateForm(
            initial={"name": template.name, "subject": template.subject, "body": template.body}, kind=kind
        )
    context = {
        "template": template,
        "form": form,
        "variables": letters.VARIABLES[kind].items(),
        "preview": _preview(kind, form),
        "section": "letters",
    }
    status = 400 if form.is_bound and form.errors else 200
    return render(request, "documents/letter_template_edit.html", context, status=status)


def _preview(kind: str, form: LetterTemplateForm) -> dict[str, str] | None:
    if form.is_bound:
        if form.errors:
            return None
        subject, body = form.cleaned_data["subject"], form.cleaned_data["body"]
    else:
        subject, body = form.initial["subject"], form.initial["body"]
    values = letters.sample_values(kind)
    return {"subject": letters.fill(subject, values), "body": letters.fill(body, values)}


@require_POST
@head_required
def letter_template_preview(request: HttpRequest, kind: str) -> HttpResponse:
    if kind not in LetterKind.values:
        raise Http404
    form = LetterTemplateForm(request.POST, kind=kind)
    form.is_valid()
    context = {"form": form, "preview": _preview(kind, form)}
    return render(request, "documents/_letter_preview.html", context)
