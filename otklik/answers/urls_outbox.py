"""URLs of the answers app: outbox (owned by one area; included from otklik.urls)."""

from __future__ import annotations

from django.urls import URLPattern

urlpatterns: list[URLPattern] = []
