"""The approval rules page of the head of the service (/settings/approval/).

Rules are reference data: edited directly, every change logged in the admin log (otklik.org.forms.save_logged), and
never deleted — a rule is deactivated instead. What a rule means: otklik.answers.approval.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from django.contrib import messages
from django.db.models import Q, QuerySet
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from otklik.answers.approval import describe_rule
from otklik.answers.choices import AnswerKind
from otklik.answers.forms_approval import ApprovalRuleForm
from otklik.answers.models import ApprovalRule
from otklik.core.decorators import head_required
from otklik.core.htmx import render_page
from otklik.core.xlsx import absolute, export_filename, field_header, wants_xlsx, xlsx_response
from otklik.org.forms import changed_fields_message, log_change, save_logged
from otklik.org.views import active_param, filter_active, paginate

if TYPE_CHECKING:
    from otklik.accounts.models import User


def _user(request: HttpRequest) -> User:
    return request.user  # type: ignore[return-value]


def export_approval_rules(request: HttpRequest, rules: QuerySet[ApprovalRule]) -> HttpResponse:
    headers = [
        "ID",
        (_("Conditions"), 50),
        field_header(ApprovalRule, "group"),
        field_header(ApprovalRule, "kind"),
        field_header(ApprovalRule, "high_priority_only"),
        field_header(ApprovalRule, "new_operator_days"),
        (field_header(ApprovalRule, "note"), 40),
        field_header(ApprovalRule, "is_active"),
        _("Link"),
    ]
    lines = (
        [
            rule.pk,
            describe_rule(rule),
            rule.group.name if rule.group else "",
            rule.get_kind_display() if rule.kind else "",
            rule.high_priority_only,
            rule.new_operator_days,
            rule.note,
            rule.is_active,
            absolute(request, f"/settings/approval/{rule.pk}/"),
        ]
        for rule in rules.iterator(chunk_size=1000)
    )
    return xlsx_response(export_filename("approval-rules"), [(_("Approval rules"), headers, lines)])


@head_required
def approval_list(request: HttpRequest) -> HttpResponse:
    q = request.GET.get("q", "").strip()
    kind = request.GET.get("kind", "")
    kind = kind if kind in AnswerKind.values else ""
    active = active_param(request)
    rules = filter_active(ApprovalRule.objects.select_related("group"), active)
    if q:
        rules = rules.filter(Q(note__icontains=q) | Q(group__name__icontains=q))
    if kind:
        rules = rules.filter(kind=kind)
    if wants_xlsx(request):
        return export_approval_rules(request, rules.order_by("id"))
    page = paginate(request, rules.order_by("id"))
    rows = [(rule, describe_rule(rule)) for rule in page.object_list]
    context = {
        "page": page,
        "rows": rows,
        "q": q,
        "kind": kind,
        "kinds": AnswerKind.choices,
        "active": active,
        "active_count": ApprovalRule.objects.filter(is_active=True).count(),
    }
    return render_page(request, "answers/approval_list.html", context, partial="results")


def _form_page(request: HttpRequest, rule: ApprovalRule | None) -> HttpResponse:
    form = ApprovalRuleForm(request.POST if request.method == "POST" else None, instance=rule)
    if request.method == "POST" and form.is_valid():
        saved = save_logged(form, _user(request))
        messages.success(request, _("The approval rule «%(rule)s» is saved.") % {"rule": _title(saved)})
        return redirect("settings-approval")
    return render(request, "answers/approval_form.html", {"form": form, "rule": rule})


def _title(rule: ApprovalRule) -> str:
    return rule.note or describe_rule(rule)


@head_required
def approval_create(request: HttpRequest) -> HttpResponse:
    return _form_page(request, None)


@head_required
def approval_edit(request: HttpRequest, pk: int) -> HttpResponse:
    return _form_page(request, get_object_or_404(ApprovalRule, pk=pk))


@head_required
@require_POST
def approval_toggle(request: HttpRequest, pk: int) -> HttpResponse:
    """Deactivate an active rule or activate an inactive one."""
    rule = get_object_or_404(ApprovalRule, pk=pk)
    rule.is_active = not rule.is_active
    rule.save(update_fields=["is_active"])
    log_change(_user(request), rule, added=False, message=changed_fields_message(ApprovalRule, "is_active"))
    if rule.is_active:
        messages.success(request, _("The approval rule «%(rule)s» is active again.") % {"rule": _title(rule)})
    else:
        messages.success(request, _("The approval rule «%(rule)s» is deactivated.") % {"rule": _title(rule)})
    target = request.POST.get("next", "")
    if target.startswith("/settings/approval/") and "//" not in target:
        return redirect(target)
    return redirect("settings-approval")
