from __future__ import annotations

from django.db import models
from django.utils.translation import gettext_lazy as _

from otklik.intake.choices import AnalysisStatus, Channel


class Source(models.Model):
    """A channel plus an account in it (a VK community, a Telegram bot…). Each channel has a default source."""

    channel = models.CharField(_("channel"), max_length=16, choices=Channel.choices)
    account = models.CharField(_("account"), max_length=255, blank=True, help_text=_("Empty for the default."))
    name = models.CharField(_("name"), max_length=255)
    is_active = models.BooleanField(_("active"), default=True)
    created_at = models.DateTimeField(_("created"), auto_now_add=True)

    class Meta:
        ordering = ["channel", "account"]
        verbose_name = _("source")
        verbose_name_plural = _("sources")
        constraints = [models.UniqueConstraint(fields=["channel", "account"], name="source_channel_account_uniq")]

    def __str__(self) -> str:
        return self.name


class Post(models.Model):
    """One message from a network. Unique per source by its external id."""

    source = models.ForeignKey(Source, verbose_name=_("source"), on_delete=models.PROTECT, related_name="posts")
    external_id = models.CharField(_("external id"), max_length=255)
    author_name = models.CharField(_("author"), max_length=255, blank=True)
    author_id = models.CharField(_("author profile id"), max_length=255, blank=True)
    text = models.TextField(_("text"))
    url = models.URLField(_("link"), max_length=1000, blank=True)
    posted_at = models.DateTimeField(_("posted at"))
    thread_id = models.CharField(
        _("thread id"), max_length=255, blank=True, help_text=_("The post or comment it was written under.")
    )
    topic_hint = models.ForeignKey(
        "org.Topic",
        verbose_name=_("topic given by the sender"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    incident = models.ForeignKey(
        "cases.Incident",
        verbose_name=_("incident"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="posts",
    )
    analysis_status = models.CharField(
        _("analysis"), max_length=16, choices=AnalysisStatus.choices, default=AnalysisStatus.PENDING
    )
    analyzed_at = models.DateTimeField(_("analysed at"), null=True, blank=True)
    created_at = models.DateTimeField(_("received at"), auto_now_add=True, db_index=True)

    class Meta:
        ordering = ["posted_at", "id"]
        verbose_name = _("post")
        verbose_name_plural = _("posts")
        constraints = [models.UniqueConstraint(fields=["source", "external_id"], name="post_source_external_id_uniq")]
        indexes = [models.Index(fields=["analysis_status", "created_at"])]

    def __str__(self) -> str:
        return f"{self.source.channel}:{self.external_id}"
