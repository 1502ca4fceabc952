from __future__ import annotations

from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class SlaConfig(AppConfig):
    name = "otklik.sla"
    label = "sla"
    verbose_name = _("Deadlines and working time")

    def ready(self) -> None:
        from otklik.sla import signals  # noqa: F401  (resets the cached calendar when the admin edits it)
