from __future__ import annotations

from django.apps import AppConfig


class AccountsConfig(AppConfig):
    name = "otklik.accounts"
    label = "accounts"

    def ready(self) -> None:
        from otklik.accounts import signals  # noqa: F401 (connects the lockout counters)
