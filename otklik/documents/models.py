"""Letter templates edited by the head of the service, and media briefs sent to the media department."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from otklik.documents.choices import DispatchStatus, LetterKind


class LetterTemplate(models.Model):
    """The text of one kind of letter; `body` holds variables such as {{ department }} (see letters.VARIABLES)."""

    kind = models.CharField(_("kind"), max_length=32, choices=LetterKind.choices, unique=True)
    name = models.CharField(_("name"), max_length=255)
    subject = models.CharField(_("subject"), max_length=255, blank=True)
    body = models.TextField(_("text"))
    updated_at = models.DateTimeField(_("updated"), auto_now=True)
    updated_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("updated by"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )

    class Meta:
        ordering = ["kind"]
        verbose_name = _("letter template")
        verbose_name_plural = _("letter templates")

    def __str__(self) -> str:
        return self.name


class MediaDispatch(models.Model):
    """A media brief on a spike or an incident sent to the media department: at most one per spike or incident."""

    spike = models.ForeignKey(
        "nlp.Spike", verbose_name=_("spike"), null=True, blank=True, on_delete=models.CASCADE, related_name="+"
    )
    incident = models.ForeignKey(
        "cases.Incident",
        verbose_name=_("incident"),
        null=True,
        blank=True,
        on_delete=models.CASCADE,
        related_name="+",
    )
    statement = models.TextField(_("draft statement"), blank=True)
    recipient = models.EmailField(_("sent to"))
    status = models.CharField(
        _("status"), max_length=16, choices=DispatchStatus.choices, default=DispatchStatus.PENDING
    )
    attempts = models.PositiveIntegerField(_("attempts"), default=0)
    error = models.TextField(_("error"), blank=True)
    filename = models.CharField(_("file"), max_length=255, blank=True)
    requested_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("requested by"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    created_at = models.DateTimeField(_("requested"), default=timezone.now)
    sent_at = models.DateTimeField(_("sent"), null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        verbose_name = _("media brief")
        verbose_name_plural = _("media briefs")
        constraints = [
            models.UniqueConstraint(fields=["spike"], condition=Q(spike__isnull=False), name="media_one_per_spike"),
            models.UniqueConstraint(
                fields=["incident"], condition=Q(incident__isnull=False), name="media_one_per_incident"
            ),
            models.CheckConstraint(
                condition=Q(spike__isnull=False, incident__isnull=True) | Q(spike__isnull=True, incident__isnull=False),
                name="media_spike_or_incident",
            ),
        ]

    def __str__(self) -> str:
        if self.spike_id:
            return f"spike {self.spike_id} → {self.recipient}"
        return f"#{self.incident_id} → {self.recipient}"
