from __future__ import annotations

from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _


class SpikeKind(models.TextChoices):
    TOPIC = "topic", _("Topic")
    PLACE = "place", _("Place")


class SpikeWindow(models.TextChoices):
    HOUR = "hour", _("Hour")
    DAY = "day", _("Day")


class Spike(models.Model):
    """A topic or a place whose volume in the last hour or day is far above its weekly baseline.

    One row per spike while it lasts: the partial unique constraint allows one active row per (kind, key, window),
    so two concurrent detections cannot both create one. A spike ends when it has not been seen above the
    threshold for a whole window.
    """

    kind = models.CharField(_("kind"), max_length=8, choices=SpikeKind.choices)
    key = models.CharField(_("topic or place"), max_length=255)
    window = models.CharField(_("window"), max_length=8, choices=SpikeWindow.choices)
    count = models.PositiveIntegerField(_("posts in the window"))
    baseline = models.FloatField(_("weekly average per window"))
    incident_ids = models.JSONField(_("incidents"), default=list, blank=True)
    is_active = models.BooleanField(_("active"), default=True)
    detected_at = models.DateTimeField(_("detected"), default=timezone.now, db_index=True)
    last_seen_at = models.DateTimeField(_("last seen above the threshold"), default=timezone.now)
    ended_at = models.DateTimeField(_("ended"), null=True, blank=True)
    notified_at = models.DateTimeField(_("notified"), null=True, blank=True)

    class Meta:
        ordering = ["-detected_at", "-id"]
        verbose_name = _("spike")
        verbose_name_plural = _("spikes")
        constraints = [
            models.UniqueConstraint(
                fields=["kind", "key", "window"], condition=Q(is_active=True), name="spike_one_active_per_key"
            )
        ]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} «{self.key}» ({self.get_window_display()}): {self.count}"
