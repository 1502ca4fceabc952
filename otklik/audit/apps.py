from __future__ import annotations

from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class AuditConfig(AppConfig):
    name = "otklik.audit"
    label = "audit"
    verbose_name = _("Security log")

    def ready(self) -> None:
        from otklik.audit import signals

        signals.connect_all()
