from __future__ import annotations

from django.conf import settings
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


# --- learning: operators' decisions as labels, and the versions of the topic model ----------------------------


class LabelWhat(models.TextChoices):
    TOPIC = "topic", _("Topic")
    KIND = "kind", _("Post kind")
    MERGE = "merge", _("Merge")
    SPLIT = "split", _("Split")


class TrainingLabel(models.Model):
    """One decision of an operator, kept as a training label (otklik.nlp.labels writes them).

    `text` is a snapshot of the text at decision time: the label stays usable when the posts change or go. A later
    label about the same subject (the incident for topic, merge and split; the post for kind) supersedes the earlier
    ones: they keep `is_current=False` as history, and training uses the current ones only.
    """

    what = models.CharField(_("decision"), max_length=8, choices=LabelWhat.choices, db_index=True)
    incident = models.ForeignKey(
        "cases.Incident",
        verbose_name=_("incident"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="training_labels",
    )
    post = models.ForeignKey(
        "intake.Post", verbose_name=_("post"), null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    text = models.TextField(_("text at decision time"))
    value = models.CharField(
        _("value"), max_length=255, blank=True, help_text=_("Topic or group, post kind, or the incident number.")
    )
    topic = models.CharField(_("topic"), max_length=255, blank=True)
    group = models.CharField(_("group"), max_length=255, blank=True)
    previous = models.CharField(_("what the machine said"), max_length=255, blank=True)
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("who"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    is_current = models.BooleanField(_("current"), default=True)
    created_at = models.DateTimeField(_("when"), default=timezone.now, db_index=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        verbose_name = _("training label")
        verbose_name_plural = _("training labels")
        indexes = [models.Index(fields=["what", "is_current"])]

    def __str__(self) -> str:
        return f"{self.get_what_display()}: {self.value}"


class ModelStatus(models.TextChoices):
    TRAINING = "training", _("Training")
    CANDIDATE = "candidate", _("Candidate")
    ACTIVE = "active", _("Working")
    REJECTED = "rejected", _("Rejected")
    RETIRED = "retired", _("Retired")


M = ModelStatus

# from-status → statuses it may go to (otklik.nlp.training checks it). Any stored version may be made the working
# one again by hand (rollback or roll-forward), a rejected one included: the admin decides.
MODEL_TRANSITIONS: dict[str, frozenset[str]] = {
    M.TRAINING: frozenset({M.CANDIDATE, M.REJECTED}),
    M.CANDIDATE: frozenset({M.ACTIVE, M.REJECTED}),
    M.ACTIVE: frozenset({M.RETIRED}),
    M.REJECTED: frozenset({M.ACTIVE}),
    M.RETIRED: frozenset({M.ACTIVE}),
}


class TrainedBy(models.TextChoices):
    BEAT = "beat", _("Schedule")
    MANUAL = "manual", _("By hand")


class ModelVersion(models.Model):
    """One retrain of the topic model: its files, the data it saw, its metrics against the model it would replace.

    At most one row is `training` and at most one is `active` (partial unique constraints): two schedulers cannot
    train at once, and the working model is never ambiguous.
    """

    version = models.CharField(_("version"), max_length=64, unique=True)
    status = models.CharField(
        _("status"), max_length=16, choices=ModelStatus.choices, default=ModelStatus.TRAINING, db_index=True
    )
    path = models.CharField(_("directory"), max_length=500, blank=True)
    trained_by = models.CharField(_("started"), max_length=8, choices=TrainedBy.choices, default=TrainedBy.BEAT)
    data_hash = models.CharField(_("fingerprint of the data and the recipe"), max_length=64, blank=True)
    n_corpus = models.PositiveIntegerField(_("corpus posts"), default=0)
    n_labels = models.PositiveIntegerField(_("operators' labels"), default=0)
    metrics = models.JSONField(_("metrics"), default=dict, blank=True)
    note = models.TextField(_("note"), blank=True)
    created_at = models.DateTimeField(_("created"), default=timezone.now, db_index=True)
    finished_at = models.DateTimeField(_("finished"), null=True, blank=True)
    activated_at = models.DateTimeField(_("made working"), null=True, blank=True)
    activated_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("made working by"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )

    class Meta:
        ordering = ["-created_at", "-id"]
        verbose_name = _("model version")
        verbose_name_plural = _("model versions")
        constraints = [
            models.UniqueConstraint(
                fields=["status"], condition=Q(status="training"), name="modelversion_one_training"
            ),
            models.UniqueConstraint(fields=["status"], condition=Q(status="active"), name="modelversion_one_active"),
        ]

    def __str__(self) -> str:
        return self.version
