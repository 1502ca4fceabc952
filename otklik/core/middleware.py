from __future__ import annotations

from collections.abc import Callable

from django.http import HttpRequest, HttpResponse
from django.utils.csp import CSP

# Django admin and Swagger UI come with inline scripts and styles of their own: they get this policy instead.
VENDOR_PAGES_CSP = {
    "default-src": [CSP.SELF],
    "script-src": [CSP.SELF, CSP.UNSAFE_INLINE],
    "style-src": [CSP.SELF, CSP.UNSAFE_INLINE],
    "img-src": [CSP.SELF, "data:"],
    "font-src": [CSP.SELF, "data:"],
    "object-src": [CSP.NONE],
    "frame-ancestors": [CSP.NONE],
}
VENDOR_PREFIXES = ("/admin/", "/api/docs")


class RelaxedCspForVendorPagesMiddleware:
    """Sits after Django's CSP middleware, so its response pass runs first and can choose the policy."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        response = self.get_response(request)
        if request.path.startswith(VENDOR_PREFIXES):
            response._csp_config = VENDOR_PAGES_CSP  # type: ignore[attr-defined]
        return response
