"""URLs of the answers app: approval rules (owned by one area; included from otklik.urls)."""

from __future__ import annotations

from django.urls import path

from otklik.answers import views_approval as views

urlpatterns = [
    path("settings/approval/", views.approval_list, name="settings-approval"),
    path("settings/approval/new/", views.approval_create, name="settings-approval-create"),
    path("settings/approval/<int:pk>/", views.approval_edit, name="settings-approval-edit"),
    path("settings/approval/<int:pk>/toggle/", views.approval_toggle, name="settings-approval-toggle"),
]
