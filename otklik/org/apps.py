from __future__ import annotations

from django.apps import AppConfig


class OrgConfig(AppConfig):
    name = "otklik.org"
    label = "org"
