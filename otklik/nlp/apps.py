from __future__ import annotations

from django.apps import AppConfig


class NlpConfig(AppConfig):
    name = "otklik.nlp"
    label = "nlp"
