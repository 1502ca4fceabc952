"""The users page of the head of the service: who works in Otklik, in which role and department.

A new user's generated password is shown once: it is kept in the session only until the next page shows it.
Every change is logged in the admin log, like the other reference data.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.db.models import QuerySet
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_POST

from otklik.accounts.choices import Role
from otklik.accounts.forms import UserForm, can_manage, generate_password
from otklik.accounts.models import User
from otklik.core.decorators import head_required
from otklik.core.htmx import render_page
from otklik.core.xlsx import absolute, export_filename, field_header, wants_xlsx, xlsx_response
from otklik.org.forms import changed_fields_message, log_change, save_logged
from otklik.org.models import Department
from otklik.org.views import active_param, filter_active, int_param, paginate, search

SHOWN_ONCE_KEY = "otklik_new_password"


def _actor(request: HttpRequest) -> User:
    return request.user  # type: ignore[return-value]


def _remember_password(request: HttpRequest, user: User, password: str) -> None:
    request.session[SHOWN_ONCE_KEY] = {"user_id": user.pk, "password": password}


def _pop_password(request: HttpRequest, user: User) -> str | None:
    shown = request.session.get(SHOWN_ONCE_KEY)
    if not shown or shown.get("user_id") != user.pk:
        return None
    del request.session[SHOWN_ONCE_KEY]
    return shown.get("password")


def _managed_user(request: HttpRequest, pk: int) -> User:
    target = get_object_or_404(User, pk=pk)
    if not can_manage(_actor(request), target):
        raise PermissionDenied(_("Only an administrator can change an administrator's account."))
    return target


def export_users(request: HttpRequest, users: QuerySet[User]) -> HttpResponse:
    """The filtered users as XLSX (no passwords, no tokens)."""
    headers = [
        "ID",
        field_header(User, "username"),
        field_header(User, "last_name"),
        field_header(User, "first_name"),
        field_header(User, "email"),
        field_header(User, "phone"),
        field_header(User, "role"),
        field_header(User, "department"),
        field_header(User, "is_active"),
        field_header(User, "last_login"),
        _("Link"),
    ]

    def lines() -> Iterator[list[Any]]:
        for u in users.iterator(chunk_size=1000):
            yield [
                u.pk,
                u.username,
                u.last_name,
                u.first_name,
                u.email,
                u.phone,
                u.get_role_display(),
                u.department.name if u.department else "",
                u.is_active,
                u.last_login,
                absolute(request, f"/settings/users/{u.pk}/"),
            ]

    return xlsx_response(export_filename("users"), [(_("Users"), headers, lines())])


@head_required
def user_list(request: HttpRequest) -> HttpResponse:
    q = request.GET.get("q", "").strip()
    role = request.GET.get("role", "")
    role = role if role in Role.values else ""
    department_id = int_param(request, "department")
    active = active_param(request)
    users = search(
        filter_active(User.objects.all(), active),
        q,
        ["username", "first_name", "last_name", "email", "department__name"],
    )
    if role:
        users = users.filter(role=role)
    if department_id is not None:
        users = users.filter(department_id=department_id)
    users = users.select_related("department").order_by("last_name", "first_name", "username")
    if wants_xlsx(request):
        return export_users(request, users)
    context = {
        "page": paginate(request, users),
        "q": q,
        "role": role,
        "roles": Role.choices,
        "department_id": department_id,
        "departments": Department.objects.order_by("name"),
        "active": active,
    }
    return render_page(request, "accounts/user_list.html", context, partial="results")


@head_required
def user_create(request: HttpRequest) -> HttpResponse:
    actor = _actor(request)
    form = UserForm(request.POST if request.method == "POST" else None, actor=actor)
    if request.method == "POST" and form.is_valid():
        password = form.new_password()
        user = save_logged(form, actor, prepare_new=lambda u: u.set_password(password))
        if form.cleaned_data.get("password_mode") == UserForm.GENERATE:
            _remember_password(request, user, password)
        messages.success(request, _("The user %(name)s is created.") % {"name": user.username})
        return redirect("settings-user-edit", pk=user.pk)
    return render(request, "accounts/user_form.html", {"form": form, "target": None})


@head_required
@never_cache
def user_edit(request: HttpRequest, pk: int) -> HttpResponse:
    actor = _actor(request)
    target = _managed_user(request, pk)
    form = UserForm(request.POST if request.method == "POST" else None, instance=target, actor=actor)
    if request.method == "POST" and form.is_valid():
        save_logged(form, actor)
        messages.success(request, _("The user %(name)s is saved.") % {"name": target.username})
        return redirect("settings-users")
    context = {"form": form, "target": target, "new_password": _pop_password(request, target)}
    return render(request, "accounts/user_form.html", context)


@head_required
@require_POST
def user_new_password(request: HttpRequest, pk: int) -> HttpResponse:
    """Replace a user's password by a generated one, shown once on the next page."""
    target = _managed_user(request, pk)
    password = generate_password()
    target.set_password(password)
    target.save(update_fields=["password"])
    log_change(_actor(request), target, added=False, message=changed_fields_message(User, "password"))
    _remember_password(request, target, password)
    return redirect("settings-user-edit", pk=target.pk)
