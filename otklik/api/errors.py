"""One place where exceptions become API responses; a domain refusal is never a 500.

- `DomainError` → 400 `{"<field>": [message]}` or `{"detail": [message]}` when the error names no field;
- `IllegalTransition` → 409 `{"detail": message, "code": "illegal_transition"}`;
- `NotAllowed` → 403 `{"detail": message, "code": "not_allowed"}`;
- Django's `ValidationError` → 400, `ObjectDoesNotExist` → 404, a lost race on a unique constraint → 409;
- everything DRF knows (validation, 401, 403, 404, 405, parse errors) as DRF renders it, except that a 400 is
  always `{"field": ["message", …]}` (`detail` when no field is to blame), as the schema documents it.
"""

from __future__ import annotations

import logging
from typing import Any

from django.core.exceptions import ObjectDoesNotExist
from django.core.exceptions import ValidationError as DjangoValidationError
from django.db import IntegrityError
from django.http import Http404
from django.utils.translation import gettext as _
from rest_framework import status
from rest_framework.response import Response
from rest_framework.views import exception_handler as drf_exception_handler
from rest_framework.views import set_rollback

from otklik.core.errors import DomainError, IllegalTransition, NotAllowed

logger = logging.getLogger(__name__)


def domain_error_response(exc: DomainError, *, field_map: dict[str, str] | None = None) -> Response:
    if isinstance(exc, IllegalTransition):
        return Response({"detail": exc.message, "code": exc.code}, status=status.HTTP_409_CONFLICT)
    if isinstance(exc, NotAllowed):
        return Response({"detail": exc.message, "code": exc.code}, status=status.HTTP_403_FORBIDDEN)
    field = exc.field or "detail"
    if field_map:
        field = field_map.get(field, field)
    return Response({field: [exc.message]}, status=status.HTTP_400_BAD_REQUEST)


def exception_handler(exc: Exception, context: dict[str, Any]) -> Response | None:
    if isinstance(exc, DomainError):
        set_rollback()
        view = context.get("view")
        return domain_error_response(exc, field_map=getattr(view, "domain_field_map", None))
    if isinstance(exc, DjangoValidationError):
        set_rollback()
        if hasattr(exc, "error_dict"):
            return Response(exc.message_dict, status=status.HTTP_400_BAD_REQUEST)
        return Response({"detail": exc.messages}, status=status.HTTP_400_BAD_REQUEST)
    if isinstance(exc, ObjectDoesNotExist | Http404):
        # Django's own text names the model in English; one translated message for every missing object.
        set_rollback()
        return Response({"detail": _("Not found.")}, status=status.HTTP_404_NOT_FOUND)
    if isinstance(exc, IntegrityError):
        # Two requests changed the same thing at once and the database kept one of them.
        logger.warning("API request lost a race: %s", exc)
        set_rollback()
        return Response(
            {"detail": _("Someone changed this at the same moment. Reload it and try again."), "code": "conflict"},
            status=status.HTTP_409_CONFLICT,
        )
    response = drf_exception_handler(exc, context)
    if response is not None and response.status_code == status.HTTP_400_BAD_REQUEST:
        response.data = as_field_errors(response.data)
    return response


def _messages(value: Any) -> list[str]:
    """Error details of any nesting as a flat list of strings; an item of a list field is named in front."""
    if isinstance(value, dict):
        return [f"{key}: {message}" for key, item in value.items() for message in _messages(item)]
    if isinstance(value, list | tuple):
        return [message for item in value for message in _messages(item)]
    return [str(value)]


def as_field_errors(data: Any) -> dict[str, list[str]]:
    """Every 400 as documented, `{"field": ["message", …]}`: a body that is not JSON (DRF's `{"detail": "…"}`),
    a list of messages, or the errors of the items of a list field (`{"ids": {"0": […]}}`) included."""
    if isinstance(data, dict):
        return {str(key): _messages(value) for key, value in data.items()}
    return {"detail": _messages(data)}
