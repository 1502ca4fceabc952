from __future__ import annotations

from django.urls import path

from otklik.sla import views, views_settings

urlpatterns = [
    path("departments/scorecard/", views.department_scorecard, name="department-scorecard"),
    path("assignments/<int:pk>/extension/", views.assignment_extension, name="assignment-extension"),
    path("extensions/", views.extension_list, name="extensions"),
    # The deadline settings of the head of the service.
    path("settings/sla/", views_settings.sla_index, name="settings-sla"),
    path("settings/sla/policies/", views_settings.policy_list, name="settings-sla-policies"),
    path("settings/sla/policies/new/", views_settings.policy_create, name="settings-sla-policy-create"),
    path("settings/sla/policies/<int:pk>/", views_settings.policy_edit, name="settings-sla-policy-edit"),
    path("settings/sla/policies/<int:pk>/toggle/", views_settings.policy_toggle, name="settings-sla-policy-toggle"),
    path("settings/sla/duty/", views_settings.duty_list, name="settings-sla-duty"),
    path("settings/sla/duty/new/", views_settings.duty_create, name="settings-sla-duty-create"),
    path("settings/sla/duty/<int:pk>/end/", views_settings.duty_end, name="settings-sla-duty-end"),
    path("settings/sla/calendar/", views_settings.calendar_view, name="settings-sla-calendar"),
    path("settings/sla/calendar/schedule/", views_settings.schedule_edit, name="settings-sla-schedule"),
    path("settings/sla/calendar/days/new/", views_settings.day_create, name="settings-sla-day-create"),
    path("settings/sla/calendar/days/<int:pk>/", views_settings.day_edit, name="settings-sla-day-edit"),
    path("settings/sla/calendar/days/<int:pk>/delete/", views_settings.day_delete, name="settings-sla-day-delete"),
    path("settings/sla/delegations/", views_settings.delegation_list, name="settings-sla-delegations"),
    path("settings/sla/delegations/new/", views_settings.delegation_create, name="settings-sla-delegation-create"),
    path(
        "settings/sla/delegations/<int:pk>/revoke/",
        views_settings.delegation_revoke,
        name="settings-sla-delegation-revoke",
    ),
]
