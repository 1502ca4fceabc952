"""Pages of the documents app."""

from __future__ import annotations

from django.urls import path

from otklik.documents import views

app_name = "documents"

urlpatterns = [
    path("documents/media/<str:subject>/<int:pk>/", views.media_brief_page, name="media-brief"),
    path("documents/media/<str:subject>/<int:pk>/docx/", views.media_brief_docx, name="media-brief-docx"),
    path("documents/media/<str:subject>/<int:pk>/send/", views.media_brief_send, name="media-brief-send"),
    path("documents/letters/assignment/<int:pk>/<str:kind>/", views.assignment_letter, name="assignment-letter"),
    path("documents/letters/summary/", views.summary_letter, name="summary-letter"),
    path("settings/letters/", views.letter_template_list, name="letter-templates"),
    path("settings/letters/<str:kind>/", views.letter_template_edit, name="letter-template"),
    path("settings/letters/<str:kind>/preview/", views.letter_template_preview, name="letter-template-preview"),
]
