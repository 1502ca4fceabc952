from __future__ import annotations

from django.urls import URLPattern, URLResolver, path

from otklik.cases.views import inbox

urlpatterns: list[URLPattern | URLResolver] = [
    path("inbox/", inbox.inbox, name="inbox"),
    path("inbox/counts/", inbox.inbox_counts, name="inbox-counts"),
    path("inbox/new-count/", inbox.inbox_new_count, name="inbox-new-count"),
    path("inbox/export.xlsx", inbox.inbox_export, name="inbox-export"),
]
