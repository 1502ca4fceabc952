"""URLs of the answers app: the head of the service's answer templates (included from otklik.urls)."""

from __future__ import annotations

from django.urls import path

from otklik.answers import views_templates as views

urlpatterns = [
    path("settings/answer-templates/", views.template_list, name="settings-answer-templates"),
    path("settings/answer-templates/new/", views.template_create, name="settings-answer-template-create"),
    path("settings/answer-templates/preview/", views.template_preview, name="settings-answer-template-preview"),
    path("settings/answer-templates/<int:pk>/", views.template_edit, name="settings-answer-template-edit"),
    path("settings/answer-templates/<int:pk>/toggle/", views.template_toggle, name="settings-answer-template-toggle"),
]
