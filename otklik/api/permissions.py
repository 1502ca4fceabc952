"""API permission classes. Object visibility lives in `otklik.cases.selectors`; services check again."""

from __future__ import annotations

from typing import Any

from django.utils.translation import gettext_lazy as _
from rest_framework.permissions import SAFE_METHODS, BasePermission
from rest_framework.request import Request


class ReadOnlyForDirector(BasePermission):
    """The director reads everything and changes nothing."""

    message = _("The director has read-only access.")

    def has_permission(self, request: Request, view: Any) -> bool:
        user = request.user
        return request.method in SAFE_METHODS or not getattr(user, "is_director", False)


class CanSendPosts(BasePermission):
    """Operators, the head and admins, and integrations using a token of such a user."""

    message = _("Only the feedback service and its integrations may send posts.")

    def has_permission(self, request: Request, view: Any) -> bool:
        return bool(getattr(request.user, "is_service", False))


class IsServiceUser(BasePermission):
    """Operators, the head of the service and admins (and integrations using a token of such a user)."""

    message = _("Only the feedback service may check answers.")

    def has_permission(self, request: Request, view: Any) -> bool:
        return bool(getattr(request.user, "is_service", False))
