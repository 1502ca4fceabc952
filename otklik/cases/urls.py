"""The workstation's pages for incidents and assignments; each area keeps its own URL module."""

from __future__ import annotations

from django.urls import include, path

urlpatterns = [
    path("", include("otklik.cases.urls_inbox")),
    path("", include("otklik.cases.urls_card")),
    path("", include("otklik.cases.urls_assignments")),
    path("", include("otklik.cases.urls_board")),
]
