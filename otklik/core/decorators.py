"""Role checks for views. A user without the role gets 403 with a Russian page, never a redirect loop."""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps
from typing import Any

from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse
from django.utils.translation import gettext as _

View = Callable[..., HttpResponse]


def _require(check: Callable[[Any], bool], message: str) -> Callable[[View], View]:
    def decorator(view: View) -> View:
        @login_required
        @wraps(view)
        def wrapped(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
            if not check(request.user):
                raise PermissionDenied(message)
            return view(request, *args, **kwargs)

        return wrapped

    return decorator


def service_required(view: View) -> View:
    """Operators, the head of the service, admins."""
    return _require(lambda u: u.is_service, _("This page is for the feedback service."))(view)


def reader_required(view: View) -> View:
    """The service and the director (read-only pages)."""
    return _require(lambda u: u.can_read_all, _("This page is for the feedback service."))(view)


def head_required(view: View) -> View:
    return _require(
        lambda u: u.is_superuser or u.role in {"head", "admin"}, _("This page is for the head of the service.")
    )(view)


def department_required(view: View) -> View:
    """Executors and department heads."""
    return _require(lambda u: u.is_department_user, _("This page is for executors of departments."))(view)
