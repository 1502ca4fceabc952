from __future__ import annotations

from django.urls import URLPattern, URLResolver, path

from otklik.stats import views

urlpatterns: list[URLPattern | URLResolver] = [
    path("dashboard/", views.dashboard, name="dashboard"),
]
