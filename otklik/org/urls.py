"""Reference data pages of the head of the service (routing rules, departments) and their index."""

from __future__ import annotations

from django.urls import path

from otklik.org import views, views_gazetteer

urlpatterns = [
    path("settings/", views.settings_index, name="settings"),
    path("settings/rules/", views.rule_list, name="settings-rules"),
    path("settings/rules/new/", views.rule_create, name="settings-rule-create"),
    path("settings/rules/<int:pk>/", views.rule_edit, name="settings-rule-edit"),
    path("settings/rules/<int:pk>/toggle/", views.rule_toggle, name="settings-rule-toggle"),
    path("settings/departments/", views.department_list, name="settings-departments"),
    path("settings/departments/new/", views.department_create, name="settings-department-create"),
    path("settings/departments/<int:pk>/", views.department_edit, name="settings-department-edit"),
    path("settings/gazetteer/", views_gazetteer.gazetteer, name="settings-gazetteer"),
    path("settings/gazetteer/import/", views_gazetteer.gazetteer_import, name="settings-gazetteer-import"),
]
