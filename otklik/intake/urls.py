from __future__ import annotations

from django.urls import URLPattern, URLResolver, path

from otklik.intake import views

urlpatterns: list[URLPattern | URLResolver] = [
    path("import/", views.import_upload, name="import"),
    path("import/sample.csv", views.import_sample, name="import-sample"),
    path("import/<int:pk>/", views.import_job, name="import-job"),
    path("import/<int:pk>/preview/", views.import_preview, name="import-preview"),
    path("import/<int:pk>/progress/", views.import_progress, name="import-progress"),
    path("import/<int:pk>/run/", views.import_run, name="import-run"),
    path("import/<int:pk>/reread/", views.import_reread, name="import-reread"),
    path("import/<int:pk>/report.<str:fmt>", views.import_report, name="import-report"),
]
