from __future__ import annotations

from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class OpsConfig(AppConfig):
    name = "otklik.ops"
    label = "ops"
    verbose_name = _("Background work")

    def ready(self) -> None:
        from otklik.ops import signals  # noqa: F401  (connects the Celery signal handlers)
