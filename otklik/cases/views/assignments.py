"""«Мои поручения»: a department's assignments and the one page where an executor answers one of them.

Executors come here a few times a week: every page must be understood at first sight. An executor sees the open
assignments given to him or to nobody in his department; the department head sees all of the department's and can
give one to an executor. Another department's assignment is a 404, as if it did not exist.
"""

from __future__ import annotations

import datetime as dt
from typing import TYPE_CHECKING, Any

from django.contrib import messages
from django.core.paginator import Paginator
from django.db.models import F, OuterRef, Q, QuerySet, Subquery
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from otklik.accounts.choices import Role
from otklik.cases.choices import ASSIGNMENT_OPEN, AssignmentStatus
from otklik.cases.forms_assignments import (
    ACCEPT_ATTRIBUTE,
    MAX_FILES,
    AssignExecutorForm,
    AssignmentReplyForm,
    department_executors,
)
from otklik.cases.models import Assignment
from otklik.cases.selectors import visible_assignments
from otklik.cases.services import do_assign_executor, do_decline, do_submit_information
from otklik.core.decorators import department_required
from otklik.core.errors import DomainError
from otklik.core.htmx import render_page
from otklik.core.xlsx import absolute, export_filename, field_header, wants_xlsx, xlsx_response
from otklik.documents.masking import mask_personal_data

if TYPE_CHECKING:
    from otklik.accounts.models import User

A = AssignmentStatus
FINISHED = (A.SUBMITTED, A.ACCEPTED, A.DECLINED)
FINISHED_DAYS = 30
PAGE_SIZE = 50


def _user(request: HttpRequest) -> User:
    return request.user  # type: ignore[return-value]


def first_post_text(incident_ref: str = "incident_id") -> Subquery:
    """The text of the incident's first post (the outer row's `incident_ref`), for one-line previews in lists."""
    from otklik.intake.models import Post

    return Subquery(
        Post.objects.filter(incident_id=OuterRef(incident_ref)).order_by("posted_at", "id").values("text")[:1]
    )


def first_line(text: str | None, limit: int = 160) -> str:
    for line in (text or "").splitlines():
        line = line.strip()
        if line:
            return line if len(line) <= limit else line[: limit - 1].rstrip() + "…"
    return ""


def default_request() -> str:
    return _("Tell what has been done or will be done about this problem, by whom and by what date.")


def my_department_assignments(user: User) -> QuerySet[Assignment]:
    if user.department_id is None:
        return Assignment.objects.none()
    return visible_assignments(user).filter(department_id=user.department_id)


def my_assignments(user: User) -> QuerySet[Assignment]:
    """The department's assignments `user` works on: the head all of them, an executor his own and unassigned ones."""
    queryset = my_department_assignments(user)
    if user.role != Role.DEPT_HEAD:
        queryset = queryset.filter(Q(assignee=user) | Q(assignee__isnull=True))
    return queryset


@department_required
def assignment_list(request: HttpRequest) -> HttpResponse:
    """Open assignments by time left (nothing else), and a tab with those finished in the last 30 days."""
    user = _user(request)
    tab = "done" if request.GET.get("tab") == "done" else "open"
    mine = my_assignments(user)
    open_qs = mine.filter(status__in=ASSIGNMENT_OPEN)
    done_qs = mine.filter(status__in=FINISHED, updated_at__gte=timezone.now() - dt.timedelta(days=FINISHED_DAYS))
    if tab == "open":
        rows = open_qs.order_by(F("due_at").asc(nulls_last=True), "id")
    else:
        rows = done_qs.order_by("-updated_at", "-id")
    rows = rows.select_related("assignee").annotate(first_text=first_post_text())
    if wants_xlsx(request):
        return export_assignments(request, rows, tab)
    page = Paginator(rows, PAGE_SIZE).get_page(request.GET.get("page"))
    for assignment in page:
        assignment.preview = first_line(assignment.first_text)  # type: ignore[attr-defined]
    # The paginator has counted the tab shown already: only the other tab is counted again.
    context = {
        "tab": tab,
        "page": page,
        "open_count": page.paginator.count if tab == "open" else open_qs.count(),
        "done_count": page.paginator.count if tab == "done" else done_qs.count(),
        "is_dept_head": user.role == Role.DEPT_HEAD,
        "default_request": _("information for the answer: what has been done or will be done, and when"),
    }
    return render_page(request, "cases/assignment_list.html", context, partial="assignments")


def export_assignments(request: HttpRequest, rows: QuerySet[Assignment], tab: str) -> HttpResponse:
    """The list as XLSX: every row of the tab (the same permissions: the user's department only)."""
    headers = [
        _("Incident №"),
        field_header(Assignment, "due_at"),
        field_header(Assignment, "updated_at"),
        field_header(Assignment, "status"),
        field_header(Assignment, "role"),
        (_("Text of the first post"), 60),
        (field_header(Assignment, "request"), 50),
        field_header(Assignment, "assignee"),
        _("Link"),
    ]

    def lines() -> Any:
        for a in rows.iterator(chunk_size=1000):
            yield [
                a.incident_id,
                a.due_at,
                a.updated_at,
                a.get_status_display(),
                a.get_role_display(),
                mask_personal_data(a.first_text or ""),  # type: ignore[attr-defined]
                a.request or default_request(),
                a.assignee.display_name if a.assignee else _("anyone in the department"),
                absolute(request, f"/assignments/{a.pk}/"),
            ]

    title = _("To do") if tab == "open" else _("Answered in the last 30 days")
    return xlsx_response(export_filename(f"assignments-{tab}"), [(title, headers, lines())])


def _get_assignment(request: HttpRequest, pk: int) -> Assignment:
    """The assignment if it is the user's department's; otherwise 404 (its existence is not revealed)."""
    user = _user(request)
    return get_object_or_404(
        my_department_assignments(user).select_related("incident", "department", "assignee", "submitted_by"),
        pk=pk,
    )


def _next_step(assignment: Assignment) -> str:
    """What happens next, in one sentence, once the department has answered."""
    return {
        A.SUBMITTED: _(
            "The information has been sent to the feedback service. If anything needs clarifying, the assignment "
            "will come back to you with a comment."
        ),
        A.ACCEPTED: _("The feedback service has accepted the information; an operator is preparing the answer."),
        A.DECLINED: _(
            "The assignment has gone back to the feedback service: an operator will send the incident to the right "
            "department."
        ),
        A.CANCELLED: _("The feedback service has cancelled this assignment; nothing needs to be done."),
    }.get(A(assignment.status), "")


def _detail_context(
    request: HttpRequest,
    assignment: Assignment,
    *,
    form: AssignmentReplyForm | None = None,
    assign_form: AssignExecutorForm | None = None,
) -> dict[str, Any]:
    from otklik.intake.models import Post

    user = _user(request)
    posts = list(Post.objects.filter(incident_id=assignment.incident_id).order_by("posted_at", "id"))
    for post in posts:
        # Only a web link becomes a link: a `javascript:` URL from a network must never be clickable.
        post.safe_url = post.url if post.url.lower().startswith(("https://", "http://")) else ""  # type: ignore[attr-defined]
    is_open = assignment.status in ASSIGNMENT_OPEN
    mine = assignment.assignee_id in (None, user.pk) or user.role == Role.DEPT_HEAD
    can_answer = is_open and mine
    is_dept_head = user.role == Role.DEPT_HEAD
    if can_answer and form is None:
        initial = {"information": assignment.information} if assignment.status == A.REWORK else {}
        form = AssignmentReplyForm(initial=initial)
    if is_dept_head and is_open and assign_form is None:
        assign_form = AssignExecutorForm(
            initial={"assignee": assignment.assignee_id}, executors=department_executors(assignment)
        )
    rework = list(assignment.rework_comments.order_by("created_at", "id"))
    from otklik.sla.views import extension_context

    return {
        **extension_context(assignment, can_ask=can_answer),
        "assignment": assignment,
        "incident": assignment.incident,
        "posts": posts,
        "request_text": assignment.request.strip() or default_request(),
        "rework_comments": rework,
        "last_rework": rework[-1] if rework and assignment.status == A.REWORK else None,
        "attachments": list(assignment.attachments.order_by("created_at", "id")),
        "is_open": is_open,
        "can_answer": can_answer,
        "form": form if can_answer else None,
        "assign_form": assign_form if is_dept_head and is_open else None,
        "next_step": _next_step(assignment),
        "accept_attribute": ACCEPT_ATTRIBUTE,
        "max_files": MAX_FILES,
    }


@department_required
def assignment_detail(request: HttpRequest, pk: int) -> HttpResponse:
    """The citizen's posts, what the service asks, the due time and one form; read-only once answered."""
    assignment = _get_assignment(request, pk)
    if request.method != "POST":
        return render_page(request, "cases/assignment_detail.html", _detail_context(request, assignment))

    form = AssignmentReplyForm(request.POST, request.FILES)
    if form.is_valid():
        user = _user(request)
        try:
            if form.cleaned_data["choice"] == AssignmentReplyForm.DECLINE:
                do_decline(assignment, actor=user, reason=form.cleaned_data["reason"])
            else:
                do_submit_information(assignment, actor=user, text=form.cleaned_data["information"], files=form.uploads)
        except DomainError as error:
            field = error.field if error.field in form.fields else None
            form.add_error(field, error.message)
        else:
            # The page now shows what happens next.
            return redirect("assignment-detail", pk=assignment.pk)
    context = _detail_context(request, assignment, form=form)
    if context["form"] is None:
        # Finished meanwhile, or given to another executor: the page is read-only, the reason goes on top.
        for message in form.non_field_errors():
            messages.error(request, str(message))
        return redirect("assignment-detail", pk=assignment.pk)
    if form.files and form.data.get("choice") != AssignmentReplyForm.DECLINE:
        # A browser cannot put chosen files back into the form: say so, or they would be silently lost.
        form.add_error("attachments", _("Choose the files again: a browser does not keep them after an error."))
    return render_page(request, "cases/assignment_detail.html", context)


@department_required
@require_POST
def assignment_assign(request: HttpRequest, pk: int) -> HttpResponse:
    """The department head gives the assignment to an executor of the department (or back to everyone)."""
    assignment = _get_assignment(request, pk)
    user = _user(request)
    form = AssignExecutorForm(request.POST, executors=department_executors(assignment))
    if form.is_valid():
        try:
            do_assign_executor(assignment, actor=user, assignee=form.chosen)
        except DomainError as error:
            form.add_error("assignee" if error.field == "assignee" else None, error.message)
        else:
            if form.chosen is None:
                messages.success(request, _("The assignment is open to everyone in the department."))
            else:
                messages.success(
                    request, _("The assignment is given to %(name)s.") % {"name": form.chosen.display_name}
                )
            return redirect("assignment-detail", pk=assignment.pk)
    context = _detail_context(request, assignment, assign_form=form)
    if context["assign_form"] is None:
        # Not a department head, or the assignment is finished: the service's message says which.
        for message in form.non_field_errors():
            messages.error(request, str(message))
        return redirect("assignment-detail", pk=assignment.pk)
    return render_page(request, "cases/assignment_detail.html", context)
