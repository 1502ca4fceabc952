from __future__ import annotations

from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _


class TaskRunStatus(models.TextChoices):
    RUNNING = "running", _("Running")
    DONE = "done", _("Done")
    FAILED = "failed", _("Failed")
    RETRYING = "retrying", _("Retrying")


class TaskRun(models.Model):
    """The recorded outcome of one background job, keyed so that a redelivery is recognised."""

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

    def __str__(self) -> str:
        return self.key


class Heartbeat(models.Model):
    """Last sign of life of a background process (`worker`, `beat`)."""

    name = models.CharField(_("process"), max_length=32, unique=True)
    hostname = models.CharField(_("host"), max_length=255, blank=True)
    last_seen = models.DateTimeField(_("last seen"))

    class Meta:
        verbose_name = _("heartbeat")
        verbose_name_plural = _("heartbeats")

    def __str__(self) -> str:
        return self.name
