from __future__ import annotations

from django.apps import AppConfig


class AnswersConfig(AppConfig):
    name = "otklik.answers"
    label = "answers"
