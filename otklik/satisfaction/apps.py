from __future__ import annotations

from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class SatisfactionConfig(AppConfig):
    name = "otklik.satisfaction"
    label = "satisfaction"
    verbose_name = _("Citizens' satisfaction")

    def ready(self) -> None:
        from otklik.satisfaction import outcomes, signals  # noqa: F401  (a new publication starts following its thread)

        outcomes.connect()  # the answers' kept classification (otklik.satisfaction.outcomes)
