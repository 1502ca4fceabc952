"""Sits right after AuthenticationMiddleware.

1. Sets the audit context of the request (the acting user, address, request id) for every record written while the
   request runs — changes recorded by the signal handlers included — and answers with `X-Request-ID`.
2. After a successful GET (or HEAD) of a page listed in `PERSONAL_DATA_VIEWS`, writes one record: `view`, or
   `export` for a download (`?format=xlsx|csv` or an export URL). One INSERT per request at most; a failure to
   write it turns the answer into an error (fail closed, see otklik.audit.services).
"""

from __future__ import annotations

from collections.abc import Callable

from django.http import HttpRequest, HttpResponse

from otklik.audit import context
from otklik.audit.choices import AuditAction
from otklik.audit.services import record
from otklik.audit.views_registry import EXPORT_FORMATS, PERSONAL_DATA_VIEWS


class AuditMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        ctx = context.for_request(request)
        token = context.activate(ctx)
        try:
            response = self.get_response(request)
            if request.method in {"GET", "HEAD"} and 200 <= response.status_code < 300:
                record_view(request)
        finally:
            context.deactivate(token)
        response["X-Request-ID"] = ctx.request_id
        return response


def record_view(request: HttpRequest) -> None:
    match = getattr(request, "resolver_match", None)
    if match is None:
        return
    spec = PERSONAL_DATA_VIEWS.get(match.view_name)
    if spec is None:
        return
    export = spec.export or request.GET.get("format") in EXPORT_FORMATS
    object_id = match.kwargs.get(spec.pk_kwarg, "") if spec.pk_kwarg else ""
    record(
        AuditAction.EXPORT if export else AuditAction.VIEW,
        object_type=spec.object_type,
        object_id=object_id,
        note=match.view_name,
    )
