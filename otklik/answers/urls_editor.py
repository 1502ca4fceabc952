"""URLs of the answers app: editor (owned by one area; included from otklik.urls)."""

from __future__ import annotations

from django.urls import URLPattern, path

from otklik.answers import views_editor

urlpatterns: list[URLPattern] = [
    path("incidents/<int:pk>/answers/check/", views_editor.check_answer, name="answer-editor-check"),
    path("incidents/<int:pk>/answers/similar/", views_editor.similar, name="answer-editor-similar"),
]
