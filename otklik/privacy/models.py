"""A request of a citizen about their personal data (152-ФЗ, art. 14 and 21): an export or an erasure.

The request is the proof that it was fulfilled: who asked, who did it, when, how much was found and erased. It does
not keep the person's identifier in clear (that would defeat the erasure): only a SHA-256 digest of it, enough to
answer «was this person's data erased, and when?» when the same identifier is given again.
"""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _


class RequestKind(models.TextChoices):
    EXPORT = "export", _("Export of the data")
    ERASURE = "erasure", _("Erasure of the data")


class PersonalDataRequest(models.Model):
    kind = models.CharField(_("request"), max_length=16, choices=RequestKind.choices)
    channel = models.CharField(_("channel"), max_length=16, blank=True)
    person_digest = models.CharField(_("person (digest)"), max_length=64, db_index=True)
    person_hint = models.CharField(
        _("person"), max_length=64, help_text=_("The identifier with its middle hidden, to recognise the request.")
    )
    reason = models.CharField(_("basis"), max_length=500, blank=True)
    posts = models.PositiveIntegerField(_("posts"), default=0)
    incidents = models.PositiveIntegerField(_("incidents"), default=0)
    done_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, verbose_name=_("done by"), null=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(_("when"), default=timezone.now, db_index=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        verbose_name = _("personal data request")
        verbose_name_plural = _("personal data requests")

    def __str__(self) -> str:
        return f"{self.get_kind_display()} {self.person_hint} ({self.created_at:%Y-%m-%d})"
