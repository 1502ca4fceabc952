from __future__ import annotations

from django.apps import AppConfig


class CoreConfig(AppConfig):
    name = "otklik.core"
    label = "core"

    def ready(self) -> None:
        from django.db.backends.signals import connection_created

        from otklik.core.sqlite import install_unicode_like

        connection_created.connect(install_unicode_like, dispatch_uid="otklik-unicode-like")
