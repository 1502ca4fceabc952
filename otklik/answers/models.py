from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from otklik.answers.choices import AnswerKind, AnswerStatus


class Answer(models.Model):
    incident = models.ForeignKey(
        "cases.Incident", verbose_name=_("incident"), on_delete=models.CASCADE, related_name="answers"
    )
    kind = models.CharField(_("kind"), max_length=16, choices=AnswerKind.choices)
    status = models.CharField(_("status"), max_length=16, choices=AnswerStatus.choices, default=AnswerStatus.DRAFT)
    text = models.TextField(_("text"))
    promised_date = models.DateField(_("promised date"), null=True, blank=True)
    author = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("author"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    approved_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("approved by"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    published_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("published by"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    override_reason = models.TextField(_("reason to publish without accepted information"), blank=True)
    published_at = models.DateTimeField(_("published"), null=True, blank=True)
    link = models.URLField(_("link to the published reply"), max_length=1000, blank=True)
    created_at = models.DateTimeField(_("created"), default=timezone.now)
    updated_at = models.DateTimeField(_("updated"), auto_now=True)

    class Meta:
        ordering = ["created_at", "id"]
        verbose_name = _("answer")
        verbose_name_plural = _("answers")

    def __str__(self) -> str:
        return f"#{self.incident_id} {self.get_kind_display()}"
