from __future__ import annotations

from django.urls import path

from otklik.sla import views

urlpatterns = [
    path("departments/scorecard/", views.department_scorecard, name="department-scorecard"),
    path("assignments/<int:pk>/extension/", views.assignment_extension, name="assignment-extension"),
    path("extensions/", views.extension_list, name="extensions"),
]
