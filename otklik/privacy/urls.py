from __future__ import annotations

from django.urls import URLPattern, URLResolver, path

from otklik.privacy import views

urlpatterns: list[URLPattern | URLResolver] = [
    path("settings/personal-data/", views.person_search, name="privacy"),
    path("settings/personal-data/export/", views.person_export, name="privacy-export"),
    path("settings/personal-data/erase/", views.person_erase, name="privacy-erase"),
]
