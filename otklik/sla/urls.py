from __future__ import annotations

from django.urls import path

from otklik.sla import views

urlpatterns = [
    path("departments/scorecard/", views.department_scorecard, name="department-scorecard"),
]
