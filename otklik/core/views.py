from __future__ import annotations

from django.conf import settings
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render


def home(request: HttpRequest) -> HttpResponse:
    """The start page until the workstation (issue 3) takes over: where to go and who is logged in."""
    return render(request, "core/home.html", {"city": settings.OTKLIK_CITY_NAME})
