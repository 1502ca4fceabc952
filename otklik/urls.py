from __future__ import annotations

from django.conf import settings
from django.contrib import admin
from django.urls import include, path

from otklik.core.views import home
from otklik.ops.views import healthz

urlpatterns = [
    path("", home, name="home"),
    path("admin/", admin.site.urls),
    path("", include("otklik.accounts.urls")),
    path("", include("otklik.notifications.urls")),
    path("", include("otklik.cases.urls")),
    path("", include("otklik.intake.urls")),
    path("", include("otklik.org.urls")),
    path("", include("otklik.nlp.urls")),
    path("", include("otklik.sla.urls")),
    path("", include("otklik.stats.urls")),
    path("", include("otklik.answers.urls_templates")),
    path("", include("otklik.answers.urls_kb")),
    path("", include("otklik.answers.urls_approval")),
    path("", include("otklik.answers.urls_editor")),
    path("", include("otklik.answers.urls_outbox")),
    path("healthz", healthz, name="healthz"),
    path("healthz/", healthz),
    path("", include("otklik.api.urls")),
    path("", include("otklik.documents.urls")),
    path("", include("otklik.privacy.urls")),
    path("", include("otklik.audit.urls")),
]

# A database that is away answers 503 with Retry-After (JSON under /api/), never a traceback: otklik.ops.errors.
handler500 = "otklik.ops.errors.server_error"

if settings.DEBUG:
    from django.conf.urls.static import static

    urlpatterns += static(settings.MEDIA_URL, document_root=settings.MEDIA_ROOT)
