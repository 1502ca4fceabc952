"""URLs of the answers app: outbox (owned by one area; included from otklik.urls)."""

from __future__ import annotations

from django.urls import URLPattern, path

from otklik.answers import views_outbox

urlpatterns: list[URLPattern] = [
    path("publications/<int:pk>/manual/", views_outbox.record_manual, name="publication-manual"),
    path("publications/<int:pk>/retry/", views_outbox.retry, name="publication-retry"),
]
