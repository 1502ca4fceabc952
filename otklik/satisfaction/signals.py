"""A new publication of an answer (otklik.answers.outbox.do_enqueue_publications, inside do_publish_answer's
transaction) starts following its thread, and schedules the "solved?" survey of a final answer."""

from __future__ import annotations

from typing import Any

from django.db.models.signals import post_save
from django.dispatch import receiver

from otklik.answers.models import Publication


@receiver(post_save, sender=Publication)
def _publication_created(sender: Any, instance: Publication, created: bool, raw: bool = False, **kwargs: Any) -> None:
    if created and not raw:
        from otklik.satisfaction.services import start_following

        start_following(instance)
