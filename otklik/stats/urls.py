from __future__ import annotations

from django.urls import URLPattern, URLResolver, path

from otklik.stats import views, views_report

urlpatterns: list[URLPattern | URLResolver] = [
    path("dashboard/", views.dashboard, name="dashboard"),
    path("dashboard/report/", views_report.download_report, name="stats-report"),
    path("settings/reports/", views_report.subscription_list, name="settings-reports"),
    path("settings/reports/<int:pk>/remove/", views_report.subscription_remove, name="settings-reports-remove"),
]
