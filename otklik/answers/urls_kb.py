"""URLs of the answers app: the knowledge base of methodological recommendations (included from otklik.urls)."""

from __future__ import annotations

from django.urls import path

from otklik.answers import views_kb as views

urlpatterns = [
    path("kb/", views.kb_list, name="kb"),
    path("kb/new/", views.kb_create, name="kb-create"),
    path("kb/check/<str:code>/", views.kb_check, name="kb-check"),
    path("kb/<slug:slug>/", views.kb_article, name="kb-article"),
    path("kb/<slug:slug>/edit/", views.kb_edit, name="kb-edit"),
]
