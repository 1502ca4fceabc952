from __future__ import annotations

from typing import Any

from django.apps import AppConfig


class NlpConfig(AppConfig):
    name = "otklik.nlp"
    label = "nlp"

    def ready(self) -> None:
        from celery.signals import worker_process_init, worker_ready

        worker_process_init.connect(_warm_up_child, weak=False, dispatch_uid="otklik.nlp.warm_up_child")
        worker_ready.connect(_warm_up_ready, weak=False, dispatch_uid="otklik.nlp.warm_up_ready")


def _warm_up_child(**_kwargs: Any) -> None:
    """A prefork child, which runs the tasks, warms itself up (in the background: the child must report itself up
    within seconds)."""
    from otklik.nlp.warmup import warm_up_in_background

    warm_up_in_background()


def _warm_up_ready(sender: Any = None, **_kwargs: Any) -> None:
    """The solo and thread pools run the tasks in the process that becomes ready; a prefork parent only hands tasks
    to its children (which warm up on their own) and keeps no models."""
    pool = getattr(sender, "pool", None)
    if pool is not None and "prefork" in type(pool).__module__:
        return
    from otklik.nlp.warmup import warm_up_in_background

    warm_up_in_background()
