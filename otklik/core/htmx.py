"""HTMX regions are template partials (`{% partialdef %}`), chosen by one helper.

A plain request or a boosted one renders the full page; an HTMX request for a region renders only that partial
(`template.html#partial`).
"""

from __future__ import annotations

from typing import Any

from django.http import HttpRequest, HttpResponse
from django.shortcuts import render


def is_region_request(request: HttpRequest) -> bool:
    htmx = getattr(request, "htmx", None)
    return bool(htmx) and not htmx.boosted  # type: ignore[union-attr]


def render_page(
    request: HttpRequest,
    template: str,
    context: dict[str, Any],
    *,
    partial: str | None = None,
    status: int = 200,
) -> HttpResponse:
    """Render `template`, or only its `partial` for an HTMX (non-boosted) request."""
    name = f"{template}#{partial}" if partial and is_region_request(request) else template
    return render(request, name, context, status=status)
