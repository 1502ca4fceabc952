from __future__ import annotations

from typing import Any

from django.core.paginator import Paginator
from django.utils.translation import gettext as _
from rest_framework.exceptions import ValidationError
from rest_framework.pagination import PageNumberPagination
from rest_framework.request import Request

MAX_PAGE_SIZE = 200


def _positive_int(request: Request, name: str, message: str) -> int | None:
    raw = request.query_params.get(name)
    if raw is None or raw.strip() == "":
        return None
    try:
        value = int(raw)
    except ValueError:
        raise ValidationError({name: [message]}) from None
    if value < 1:
        raise ValidationError({name: [message]})
    return value


class Pagination(PageNumberPagination):
    """`?page=&page_size=`: `page_size` defaults to 50 and is clamped to 200; a value that is not a positive
    integer is a 400 naming the parameter (not silently ignored); a page past the last one is a 404."""

    page_size = 50
    page_size_query_param = "page_size"
    max_page_size = MAX_PAGE_SIZE

    def get_page_size(self, request: Request) -> int:
        size = _positive_int(request, self.page_size_query_param, _("The page size must be a positive integer."))
        if size is None:
            return self.page_size
        return min(size, self.max_page_size)

    def get_page_number(self, request: Request, paginator: Paginator) -> Any:
        raw = request.query_params.get(self.page_query_param)
        if raw in self.last_page_strings:
            return raw
        number = _positive_int(request, self.page_query_param, _("The page number must be a positive integer."))
        return number or 1

    def get_schema_operation_parameters(self, view: Any) -> list[dict[str, Any]]:
        parameters = super().get_schema_operation_parameters(view)
        for parameter in parameters:
            if parameter["name"] == self.page_size_query_param:
                parameter["description"] = (
                    f"Results per page: 50 by default, at most {MAX_PAGE_SIZE} (larger is clamped)."
                )
                parameter["schema"] = {"type": "integer", "minimum": 1, "default": self.page_size}
            elif parameter["name"] == self.page_query_param:
                parameter["schema"] = {"type": "integer", "minimum": 1, "default": 1}
        return parameters
