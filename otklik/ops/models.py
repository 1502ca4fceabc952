from __future__ import annotations

import datetime as dt

from django.conf import settings
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _


class TaskRunStatus(models.TextChoices):
    RUNNING = "running", _("Running")
    DONE = "done", _("Done")
    FAILED = "failed", _("Failed")
    RETRYING = "retrying", _("Retrying")


class TaskRun(models.Model):
    """The recorded outcome of one background job, keyed so that a redelivery is recognised.

    Written only by `otklik.ops.recording`; periodic tasks keep one row each (their latest run).
    """

    name = models.CharField(_("task"), max_length=255)
    key = models.CharField(_("key"), max_length=255, help_text=_("Task name and its arguments."))
    status = models.CharField(_("status"), max_length=16, choices=TaskRunStatus.choices)
    attempts = models.PositiveIntegerField(_("attempts"), default=0)
    last_task_id = models.CharField(max_length=64, blank=True)
    result = models.JSONField(_("result"), default=dict, blank=True)
    error = models.TextField(_("error"), blank=True)
    started_at = models.DateTimeField(_("started"), default=timezone.now)
    finished_at = models.DateTimeField(_("finished"), null=True, blank=True)

    class Meta:
        ordering = ["-started_at"]
        verbose_name = _("task run")
        verbose_name_plural = _("task runs")
        constraints = [models.UniqueConstraint(fields=["key"], name="taskrun_key_uniq")]
        indexes = [models.Index(fields=["started_at"], name="taskrun_started_idx")]

    def __str__(self) -> str:
        return self.key

    @property
    def duration(self) -> dt.timedelta | None:
        return self.finished_at - self.started_at if self.finished_at else None


class Process(models.TextChoices):
    WORKER = "worker", _("Celery worker")
    BEAT = "beat", _("Celery beat")


class Heartbeat(models.Model):
    """Last sign of life of a background process (`worker`, `beat`)."""

    name = models.CharField(_("process"), max_length=32, unique=True, choices=Process.choices)
    hostname = models.CharField(_("host"), max_length=255, blank=True)
    last_seen = models.DateTimeField(_("last seen"))

    class Meta:
        verbose_name = _("heartbeat")
        verbose_name_plural = _("heartbeats")

    def __str__(self) -> str:
        return self.name

    def age_seconds(self, now: dt.datetime | None = None) -> float:
        return max(0.0, ((now or timezone.now()) - self.last_seen).total_seconds())

    def is_stale(self, now: dt.datetime | None = None) -> bool:
        """Older than HEARTBEAT_MAX_AGE_SECONDS: the process is presumed dead (and /healthz fails for the worker)."""
        return self.age_seconds(now) > settings.HEARTBEAT_MAX_AGE_SECONDS
