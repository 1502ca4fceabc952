"""Reference data pages of the head of the service: the settings index, routing rules and departments.

Lists keep their search and filters in the URL (a link can be shared) and answer an HTMX request with the results
region only. Every create, edit and (de)activation is logged in the admin log (`otklik.org.forms.save_logged`).
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from typing import TYPE_CHECKING, Any

from django.contrib import messages
from django.contrib.admin.models import LogEntry
from django.contrib.contenttypes.models import ContentType
from django.core.paginator import Page, Paginator
from django.db.models import Count, Q, QuerySet
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from otklik.core.decorators import head_required
from otklik.core.htmx import render_page
from otklik.core.xlsx import absolute, export_filename, field_header, wants_xlsx, xlsx_response
from otklik.org.choices import DepartmentKind
from otklik.org.forms import DepartmentForm, RoutingRuleForm, changed_fields_message, log_change, save_logged
from otklik.org.models import Department, RoutingRule, TopicGroup

if TYPE_CHECKING:
    from otklik.accounts.models import User

PAGE_SIZE = 50
RECENT_CHANGES = 15


def _user(request: HttpRequest) -> User:
    return request.user  # type: ignore[return-value]


def _data(request: HttpRequest) -> Any:
    """The posted data for a bound form, None for an unbound one."""
    return request.POST if request.method == "POST" else None


def paginate(request: HttpRequest, queryset: QuerySet[Any]) -> Page:
    return Paginator(queryset, PAGE_SIZE).get_page(request.GET.get("page"))


def int_param(request: HttpRequest, name: str) -> int | None:
    value = request.GET.get(name, "").strip()
    return int(value) if value.isdigit() and len(value) < 10 else None


def active_param(request: HttpRequest) -> str:
    """`active` (default), `inactive` or `all`."""
    value = request.GET.get("active", "active")
    return value if value in {"active", "inactive", "all"} else "active"


def search(queryset: QuerySet[Any], q: str, fields: Sequence[str]) -> QuerySet[Any]:
    """Rows where any of `fields` contains `q`, case-insensitively (Cyrillic too: see otklik.core.sqlite)."""
    q = q.strip()
    if not q:
        return queryset
    condition = Q()
    for name in fields:
        condition |= Q(**{f"{name}__icontains": q})
    return queryset.filter(condition)


def filter_active(queryset: QuerySet[Any], active: str) -> QuerySet[Any]:
    if active == "active":
        return queryset.filter(is_active=True)
    if active == "inactive":
        return queryset.filter(is_active=False)
    return queryset


# --- index ------------------------------------------------------------------------------------------------


@head_required
def settings_index(request: HttpRequest) -> HttpResponse:
    """Links to the reference data pages, and the latest changes made to them (the admin log)."""
    from otklik.accounts.models import User

    types = ContentType.objects.get_for_models(RoutingRule, Department, User).values()
    recent = (
        LogEntry.objects.filter(content_type__in=types)
        .select_related("user", "content_type")
        .order_by("-action_time")[:RECENT_CHANGES]
    )
    context = {
        "recent": recent,
        "counts": {
            "rules": RoutingRule.objects.filter(is_active=True).count(),
            "departments": Department.objects.filter(is_active=True).count(),
            "users": User.objects.filter(is_active=True).count(),
        },
    }
    return render(request, "org/settings_index.html", context)


# --- routing rules ----------------------------------------------------------------------------------------


@head_required
def rule_list(request: HttpRequest) -> HttpResponse:
    q = request.GET.get("q", "").strip()
    group_id = int_param(request, "group")
    department_id = int_param(request, "department")
    active = active_param(request)
    rules = search(
        filter_active(RoutingRule.objects.all(), active), q, ["name", "keywords", "topic__name", "group__name"]
    )
    if group_id is not None:
        rules = rules.filter(Q(group_id=group_id) | Q(topic__group_id=group_id))
    if department_id is not None:
        rules = rules.filter(Q(lead_id=department_id) | Q(co_executors=department_id)).distinct()
    rules = (
        rules.select_related("group", "topic", "topic__group", "territory", "lead")
        .prefetch_related("co_executors")
        .order_by("order", "id")
    )
    if wants_xlsx(request):
        return export_rules(request, rules)
    context = {
        "page": paginate(request, rules),
        "q": q,
        "group_id": group_id,
        "department_id": department_id,
        "active": active,
        "groups": TopicGroup.objects.order_by("name"),
        "departments": Department.objects.order_by("name"),
    }
    return render_page(request, "org/rule_list.html", context, partial="results")


def export_rules(request: HttpRequest, rules: QuerySet[RoutingRule]) -> HttpResponse:
    """The filtered routing rules as XLSX (the co-executors prefetched per chunk)."""
    headers = [
        "ID",
        field_header(RoutingRule, "order"),
        (field_header(RoutingRule, "name"), 40),
        field_header(RoutingRule, "group"),
        field_header(RoutingRule, "topic"),
        field_header(RoutingRule, "territory"),
        (field_header(RoutingRule, "keywords"), 40),
        field_header(RoutingRule, "lead"),
        (field_header(RoutingRule, "co_executors"), 40),
        field_header(RoutingRule, "due_hours"),
        field_header(RoutingRule, "lead_from_building"),
        field_header(RoutingRule, "is_active"),
        _("Link"),
    ]

    def lines() -> Iterator[list[Any]]:
        for rule in rules.iterator(chunk_size=500):
            group = rule.group or (rule.topic.group if rule.topic else None)
            yield [
                rule.pk,
                rule.order,
                rule.name,
                group.name if group else "",
                rule.topic.name if rule.topic else "",
                str(rule.territory) if rule.territory else "",
                ", ".join(rule.keyword_list),
                rule.lead.name if rule.lead else "",
                ", ".join(d.name for d in rule.co_executors.all()),
                rule.due_hours,
                rule.lead_from_building,
                rule.is_active,
                absolute(request, f"/settings/rules/{rule.pk}/"),
            ]

    return xlsx_response(export_filename("routing-rules"), [(_("Routing rules"), headers, lines())])


def _rule_form_page(request: HttpRequest, rule: RoutingRule | None) -> HttpResponse:
    form = RoutingRuleForm(_data(request), instance=rule)
    if request.method == "POST" and form.is_valid():
        saved = save_logged(form, _user(request))
        messages.success(request, _("The routing rule «%(name)s» is saved.") % {"name": saved.name})
        return redirect("settings-rules")
    return render(request, "org/rule_form.html", {"form": form, "rule": rule})


@head_required
def rule_create(request: HttpRequest) -> HttpResponse:
    return _rule_form_page(request, None)


@head_required
def rule_edit(request: HttpRequest, pk: int) -> HttpResponse:
    return _rule_form_page(request, get_object_or_404(RoutingRule, pk=pk))


@head_required
@require_POST
def rule_toggle(request: HttpRequest, pk: int) -> HttpResponse:
    """Deactivate an active rule or activate an inactive one (rules are never deleted: incidents refer to them)."""
    rule = get_object_or_404(RoutingRule, pk=pk)
    rule.is_active = not rule.is_active
    rule.save(update_fields=["is_active"])
    log_change(_user(request), rule, added=False, message=changed_fields_message(RoutingRule, "is_active"))
    if rule.is_active:
        messages.success(request, _("The routing rule «%(name)s» is active again.") % {"name": rule.name})
    else:
        messages.success(request, _("The routing rule «%(name)s» is deactivated.") % {"name": rule.name})
    return redirect(request.POST["next"]) if _safe_next(request) else redirect("settings-rules")


def _safe_next(request: HttpRequest) -> bool:
    """Only a local path is followed (`next` keeps the list's filters)."""
    target = request.POST.get("next", "")
    return target.startswith("/settings/") and "//" not in target


# --- departments ------------------------------------------------------------------------------------------


@head_required
def department_list(request: HttpRequest) -> HttpResponse:
    q = request.GET.get("q", "").strip()
    kind = request.GET.get("kind", "")
    kind = kind if kind in DepartmentKind.values else ""
    active = active_param(request)
    departments = search(
        filter_active(Department.objects.all(), active), q, ["name", "short_name", "email", "contacts"]
    )
    if kind:
        departments = departments.filter(kind=kind)
    departments = (
        departments.select_related("parent")
        .annotate(user_count=Count("users", filter=Q(users__is_active=True), distinct=True))
        .order_by("name")
    )
    if wants_xlsx(request):
        return export_departments(request, departments)
    context = {
        "page": paginate(request, departments),
        "q": q,
        "kind": kind,
        "kinds": DepartmentKind.choices,
        "active": active,
    }
    return render_page(request, "org/department_list.html", context, partial="results")


def export_departments(request: HttpRequest, departments: QuerySet[Department]) -> HttpResponse:
    headers = [
        "ID",
        (field_header(Department, "name"), 40),
        field_header(Department, "short_name"),
        field_header(Department, "kind"),
        field_header(Department, "parent"),
        field_header(Department, "email"),
        field_header(Department, "phone"),
        (field_header(Department, "contacts"), 40),
        _("Users"),
        field_header(Department, "is_active"),
        _("Link"),
    ]

    def lines() -> Iterator[list[Any]]:
        for d in departments.iterator(chunk_size=1000):
            yield [
                d.pk,
                d.name,
                d.short_name,
                d.get_kind_display(),
                d.parent.name if d.parent else "",
                d.email,
                d.phone,
                d.contacts,
                d.user_count,  # type: ignore[attr-defined]
                d.is_active,
                absolute(request, f"/settings/departments/{d.pk}/"),
            ]

    return xlsx_response(export_filename("departments"), [(_("Departments"), headers, lines())])


def _department_form_page(request: HttpRequest, department: Department | None) -> HttpResponse:
    form = DepartmentForm(_data(request), instance=department)
    if request.method == "POST" and form.is_valid():
        saved = save_logged(form, _user(request))
        messages.success(request, _("The department «%(name)s» is saved.") % {"name": saved.name})
        return redirect("settings-departments")
    return render(request, "org/department_form.html", {"form": form, "department": department})


@head_required
def department_create(request: HttpRequest) -> HttpResponse:
    return _department_form_page(request, None)


@head_required
def department_edit(request: HttpRequest, pk: int) -> HttpResponse:
    return _department_form_page(request, get_object_or_404(Department, pk=pk))
