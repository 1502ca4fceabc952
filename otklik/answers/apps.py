from __future__ import annotations

import sys

from django.apps import AppConfig


def _answers_changed(**kwargs: object) -> None:
    """An answer saved or deleted: the similar-answers index of this process (if it has one) checks the database on
    its next look-up instead of waiting for its interval (otklik.answers.similar.current_index)."""
    similar = sys.modules.get("otklik.answers.similar")
    if similar is not None:
        similar.answers_changed()


class AnswersConfig(AppConfig):
    name = "otklik.answers"
    label = "answers"

    def ready(self) -> None:
        from django.db.models.signals import post_delete, post_save

        post_save.connect(_answers_changed, sender="answers.Answer", dispatch_uid="answers-similar-changed")
        post_delete.connect(_answers_changed, sender="answers.Answer", dispatch_uid="answers-similar-deleted")
