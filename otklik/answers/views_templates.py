"""Answer templates of the head of the service (/settings/answer-templates/): list, create, edit, (de)activate,
and a live preview of the text being typed — rendered with a sample incident or a real one, with its quality
findings (the same `run_checks` as the editor) linking to the knowledge base.

Templates are reference data: edited directly and logged in the admin log like routing rules
(`otklik.org.forms.save_logged`).
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

from django.contrib import messages
from django.db.models import Case, Prefetch, Q, Value, When
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from otklik.answers.checks import ERROR, run_checks
from otklik.answers.choices import AnswerKind
from otklik.answers.drafting import (
    SAMPLE_COMPLAINT,
    incident_context,
    render_template,
    sample_context,
    template_errors,
    template_variables,
)
from otklik.answers.forms_templates import AnswerTemplateForm, TemplatePreviewForm
from otklik.answers.models import AnswerTemplate
from otklik.core.decorators import head_required
from otklik.core.htmx import render_page
from otklik.core.xlsx import absolute, export_filename, field_header, wants_xlsx, xlsx_response
from otklik.org.forms import changed_fields_message, log_change, save_logged
from otklik.org.models import TopicGroup
from otklik.org.views import active_param, filter_active, int_param, paginate, search

if TYPE_CHECKING:
    from otklik.accounts.models import User
    from otklik.cases.models import Incident

# The `group` filter's value for templates without a group and topic.
GENERAL = "general"


def _user(request: HttpRequest) -> User:
    return request.user  # type: ignore[return-value]


def export_templates(request: HttpRequest, templates: Any) -> HttpResponse:
    headers = [
        "ID",
        (field_header(AnswerTemplate, "name"), 40),
        field_header(AnswerTemplate, "kind"),
        field_header(AnswerTemplate, "group"),
        field_header(AnswerTemplate, "topic"),
        (field_header(AnswerTemplate, "text"), 80),
        field_header(AnswerTemplate, "is_active"),
        field_header(AnswerTemplate, "updated_by"),
        field_header(AnswerTemplate, "updated_at"),
        _("Link"),
    ]

    def lines() -> Iterator[list[Any]]:
        for t in templates.iterator(chunk_size=1000):
            group = t.group or (t.topic.group if t.topic else None)
            yield [
                t.pk,
                t.name,
                t.get_kind_display(),
                group.name if group else _("general"),
                t.topic.name if t.topic else "",
                t.text,
                t.is_active,
                t.updated_by.display_name if t.updated_by else "",
                t.updated_at,
                absolute(request, f"/settings/answer-templates/{t.pk}/"),
            ]

    return xlsx_response(export_filename("answer-templates"), [(_("Answer templates"), headers, lines())])


@head_required
def template_list(request: HttpRequest) -> HttpResponse:
    q = request.GET.get("q", "").strip()
    kind = request.GET.get("kind", "")
    kind = kind if kind in AnswerKind.values else ""
    group_param = request.GET.get("group", "")
    group_id = int_param(request, "group")
    general = group_param == GENERAL
    active = active_param(request)
    templates = search(filter_active(AnswerTemplate.objects.all(), active), q, ["name", "text", "topic__name"])
    if kind:
        templates = templates.filter(kind=kind)
    if general:
        templates = templates.filter(group__isnull=True, topic__isnull=True)
    elif group_id is not None:
        templates = templates.filter(Q(group_id=group_id) | Q(topic__group_id=group_id))
    # Kinds in the order an incident goes through them (primary → refusal), not alphabetically.
    kind_order = Case(*(When(kind=value, then=Value(i)) for i, value in enumerate(AnswerKind.values)), default=Value(9))
    templates = templates.select_related("group", "topic", "topic__group", "updated_by").order_by(
        kind_order, "name", "id"
    )
    if wants_xlsx(request):
        return export_templates(request, templates)
    context = {
        "page": paginate(request, templates),
        "q": q,
        "kind": kind,
        "kinds": AnswerKind.choices,
        "group_id": group_id,
        "general": general,
        "groups": TopicGroup.objects.order_by("name"),
        "active": active,
    }
    return render_page(request, "answers/template_list.html", context, partial="results")


def _load_incident(number: int) -> Incident | None:
    from otklik.answers.models import Answer
    from otklik.cases.models import Incident
    from otklik.intake.models import Post

    return (
        Incident.objects.select_related("topic", "group", "lead_department")
        .prefetch_related(
            Prefetch("posts", queryset=Post.objects.order_by("posted_at", "id")),
            Prefetch("answers", queryset=Answer.objects.order_by("created_at", "id")),
            "assignments",
        )
        .filter(pk=number)
        .first()
    )


def _lead_info(incident: Incident) -> str:
    """The lead department's accepted information (the latest accepted lead assignment), else ""."""
    from otklik.cases.choices import AssignmentRole, AssignmentStatus

    accepted = [
        a
        for a in incident.assignments.all()
        if a.role == AssignmentRole.LEAD and a.status == AssignmentStatus.ACCEPTED and a.information.strip()
    ]
    if not accepted:
        return ""
    return max(accepted, key=lambda a: (a.accepted_at or a.created_at, a.pk)).information


def preview(text: str, kind: str, number: int | None) -> dict[str, Any]:
    """What the preview region shows: the rendered text, its findings, the template's errors, the incident used.

    1. The template's own errors (unknown variables, braces) are listed; the text still renders (unknown
       placeholders stay as written) so the head sees the rest.
    2. With `number` the incident's real values fill the variables (brackets for what it lacks yet); without it,
       or when there is no such incident, a sample incident does.
    3. The rendered text goes through the quality checks with the incident's first post as the complaint.
    """
    kind = kind if kind in AnswerKind.values else AnswerKind.FINAL
    incident = _load_incident(number) if number is not None else None
    if incident is not None:
        posts = list(incident.posts.all())
        lead_name = incident.lead_department.name if incident.lead_department else ""
        values = incident_context(incident, posts=posts, lead_info=_lead_info(incident), lead_name=lead_name)
        complaint = posts[0].text if posts else ""
    else:
        values = sample_context(kind)
        complaint = SAMPLE_COMPLAINT
    rendered = render_template(text, values)
    findings = run_checks(rendered, complaint) if rendered.strip() else []
    return {
        "rendered": rendered,
        "findings": [{**f.as_dict(), "fragment": rendered[f.start : f.end]} for f in findings],
        "has_errors": any(f.severity == ERROR for f in findings),
        "template_errors": template_errors(text),
        "incident": incident,
        "incident_missing": number is not None and incident is None,
        "number": number,
        "values": values,
    }


@head_required
@require_POST
def template_preview(request: HttpRequest) -> HttpResponse:
    """The preview region (HTMX, debounced while the head types)."""
    form = TemplatePreviewForm(request.POST)
    form.is_valid()
    data = form.cleaned_data
    context = preview(data.get("text", "") or "", data.get("kind", "") or "", data.get("incident"))
    context["incident_error"] = form.errors.get("incident")
    return render(request, "answers/template_preview.html", context)


def _form_page(request: HttpRequest, template: AnswerTemplate | None) -> HttpResponse:
    form = AnswerTemplateForm(request.POST if request.method == "POST" else None, instance=template)
    if request.method == "POST" and form.is_valid():
        actor = _user(request)

        def stamp(obj: AnswerTemplate) -> None:
            obj.updated_by = actor

        saved = save_logged(form, actor, prepare_new=stamp)
        if form.has_changed() and template is not None:
            # save_logged writes the changed columns only: who edited and when go with them.
            saved.updated_by = actor
            saved.save(update_fields=["updated_by", "updated_at"])
        messages.success(request, _("The answer template «%(name)s» is saved.") % {"name": saved.name})
        return redirect("settings-answer-templates")
    if request.method == "POST":
        text, kind = request.POST.get("text", ""), request.POST.get("kind", "")
    else:
        text = template.text if template else ""
        kind = template.kind if template else AnswerKind.PRIMARY
    context = {
        "form": form,
        "template": template,
        "variables": template_variables(),
        **preview(text, kind, None),
    }
    return render(request, "answers/template_form.html", context)


@head_required
def template_create(request: HttpRequest) -> HttpResponse:
    return _form_page(request, None)


@head_required
def template_edit(request: HttpRequest, pk: int) -> HttpResponse:
    return _form_page(request, get_object_or_404(AnswerTemplate, pk=pk))


@head_required
@require_POST
def template_toggle(request: HttpRequest, pk: int) -> HttpResponse:
    """Deactivate an active template or activate an inactive one (an inactive one is never drafted from)."""
    template = get_object_or_404(AnswerTemplate, pk=pk)
    template.is_active = not template.is_active
    template.updated_by = _user(request)
    template.save(update_fields=["is_active", "updated_by", "updated_at"])
    log_change(_user(request), template, added=False, message=changed_fields_message(AnswerTemplate, "is_active"))
    if template.is_active:
        messages.success(request, _("The answer template «%(name)s» is active again.") % {"name": template.name})
    else:
        messages.success(request, _("The answer template «%(name)s» is deactivated.") % {"name": template.name})
    target = request.POST.get("next", "")
    if target.startswith("/settings/answer-templates/") and "//" not in target:
        return redirect(target)
    return redirect("settings-answer-templates")
