"""The Celery application. Settings come from Django settings, prefixed CELERY_."""

from __future__ import annotations

import os
from typing import Any

from celery import Celery
from celery.signals import task_postrun, task_prerun

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "otklik.settings")

app = Celery("otklik")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()


def close_old_connections(sender: Any = None, **kwargs: Any) -> None:
    """Around each task run by a worker: close the database connections that are broken or older than CONN_MAX_AGE
    (Django does it around each request), keep the others (settings.CELERY_DB_REUSE_MAX: Celery's fix-up would
    close them all). Not for eager tasks, which run inside the caller's transaction."""
    if getattr(getattr(sender, "request", None), "is_eager", False):
        return
    from django.db import close_old_connections as close

    close()


task_prerun.connect(close_old_connections, dispatch_uid="otklik.close_old_connections.prerun")
task_postrun.connect(close_old_connections, dispatch_uid="otklik.close_old_connections.postrun")
