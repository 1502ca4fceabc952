"""The server error page (`handler500`): a database that is away is a 503 to retry, not a 500.

Django calls the handler inside the `except` block of the failed request, wherever the exception came from (a view,
a middleware, the token authentication), so `sys.exc_info()` names it. A database that cannot be reached or lost
the connection (`OperationalError`, `InterfaceError`: a restart, a failover, too many connections) is temporary:
503 with `Retry-After`, and clients and load balancers retry. Anything else is a 500. API paths answer JSON
(`{"detail": …, "code": …}`, as the API's other errors), pages a minimal HTML page. Neither renders a template or
touches the database (they may be what is broken), and neither shows anything of the exception.
"""

from __future__ import annotations

import sys

from django.db import InterfaceError, OperationalError
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.utils.html import escape
from django.utils.translation import gettext as _

RETRY_AFTER_SECONDS = 5


def server_error(request: HttpRequest) -> HttpResponse:
    exc = sys.exc_info()[1]
    unavailable = isinstance(exc, OperationalError | InterfaceError)
    if unavailable:
        status, code = 503, "unavailable"
        message = _("The service is temporarily unavailable. Try again in a few seconds.")
    else:
        status, code = 500, "server_error"
        message = _("Something went wrong on our side. The error has been logged; try again later.")
    response: HttpResponse
    if request.path.startswith("/api/"):
        response = JsonResponse({"detail": message, "code": code}, status=status)
    else:
        page = f'<!doctype html><html lang="ru"><meta charset="utf-8"><title>{status}</title><p>{escape(message)}</p>'
        response = HttpResponse(page, status=status)
    if unavailable:
        response["Retry-After"] = str(RETRY_AFTER_SECONDS)
    return response
