from __future__ import annotations

from django.apps import AppConfig


class ApiConfig(AppConfig):
    name = "otklik.api"
    label = "api"

    def ready(self) -> None:
        # Registers the OpenAPI description of our token authentication.
        from otklik.api import auth  # noqa: F401
