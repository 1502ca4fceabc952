from __future__ import annotations

from django.urls import URLPattern, URLResolver, path

from otklik.intake import views, views_roundtrip, views_sources

urlpatterns: list[URLPattern | URLResolver] = [
    path("import/", views.import_upload, name="import"),
    path("import/sample.csv", views.import_sample, name="import-sample"),
    path("import/<int:pk>/", views.import_job, name="import-job"),
    path("import/<int:pk>/preview/", views.import_preview, name="import-preview"),
    path("import/<int:pk>/progress/", views.import_progress, name="import-progress"),
    path("import/<int:pk>/run/", views.import_run, name="import-run"),
    path("import/<int:pk>/reread/", views.import_reread, name="import-reread"),
    path("import/<int:pk>/report.<str:fmt>", views.import_report, name="import-report"),
    path("import/<int:pk>/back.<str:fmt>", views_roundtrip.export_job_back, name="import-export-back"),
    path("import/back/<str:channel>.<str:fmt>", views_roundtrip.export_channel_back, name="import-export-back-channel"),
    path("settings/sources/", views_sources.source_list, name="settings-sources"),
    path("settings/sources/new/", views_sources.source_create, name="settings-source-create"),
    path("settings/sources/<int:pk>/", views_sources.source_edit, name="settings-source-edit"),
    path("settings/sources/<int:pk>/poll/", views_sources.source_poll, name="settings-source-poll"),
    path("settings/sources/<int:pk>/repair/", views_sources.source_repair, name="settings-source-repair"),
]
