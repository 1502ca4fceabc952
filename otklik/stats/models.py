"""Who receives the weekly report (docs/STATS.md, «Weekly delivery»), and which weeks were sent to whom."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _


class ReportFormat(models.TextChoices):
    DOCX = "docx", "DOCX"
    XLSX = "xlsx", "XLSX"


class DeliveryStatus(models.TextChoices):
    SENDING = "sending", _("Sending")
    SENT = "sent", _("Sent")
    FAILED = "failed", _("Failed")
    SKIPPED = "skipped", _("Skipped")


class ReportSubscription(models.Model):
    """A person who receives the weekly report: a user (his current e-mail) or a bare e-mail address."""

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("user"),
        null=True,
        blank=True,
        on_delete=models.CASCADE,
        related_name="report_subscriptions",
    )
    email = models.EmailField(_("e-mail"), blank=True)
    format = models.CharField(_("format"), max_length=8, choices=ReportFormat.choices, default=ReportFormat.DOCX)
    is_active = models.BooleanField(_("active"), default=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("added by"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    created_at = models.DateTimeField(_("created"), default=timezone.now)

    class Meta:
        ordering = ["pk"]
        verbose_name = _("report subscription")
        verbose_name_plural = _("report subscriptions")
        constraints = [
            models.CheckConstraint(
                condition=(Q(user__isnull=False) & Q(email="")) | (Q(user__isnull=True) & ~Q(email="")),
                name="report_subscription_user_xor_email",
            )
        ]

    def __str__(self) -> str:
        return f"{self.recipient_label} ({self.format})"

    @property
    def address(self) -> str:
        """Where the report goes now ("" when nowhere: a user without an e-mail or no longer active)."""
        if self.user_id is not None:
            return self.user.email if self.user and self.user.is_active else ""
        return self.email

    @property
    def recipient_label(self) -> str:
        if self.user is not None:
            name = self.user.get_full_name() or self.user.get_username()
            return f"{name} <{self.user.email}>" if self.user.email else name
        return self.email


class ReportDelivery(models.Model):
    """One week's report to one subscription: the row is the claim (unique per subscription and week), so any
    number of runs of the weekly job send it once."""

    subscription = models.ForeignKey(
        ReportSubscription, verbose_name=_("subscription"), on_delete=models.CASCADE, related_name="deliveries"
    )
    week_start = models.DateField(_("week from"))
    status = models.CharField(_("status"), max_length=8, choices=DeliveryStatus.choices, default=DeliveryStatus.SENDING)
    address = models.CharField(_("sent to"), max_length=254, blank=True)
    error = models.TextField(_("error"), blank=True)
    created_at = models.DateTimeField(_("claimed"), default=timezone.now)
    sent_at = models.DateTimeField(_("sent"), null=True, blank=True)

    class Meta:
        ordering = ["-week_start", "pk"]
        verbose_name = _("report delivery")
        verbose_name_plural = _("report deliveries")
        constraints = [
            models.UniqueConstraint(fields=["subscription", "week_start"], name="report_delivery_once_per_week")
        ]

    def __str__(self) -> str:
        return f"{self.subscription_id} {self.week_start} {self.status}"


class FigureSnapshot(models.Model):
    """The dashboard's figures of one default view (a preset period, no filters), computed by the beat task
    `otklik.stats.tasks.refresh_figure_snapshots` (otklik.stats.snapshots): the dashboard shows them while they
    are fresh instead of computing them in the request. The row is also the claim of a refresh."""

    key = models.CharField(_("view"), max_length=32, unique=True)
    start = models.DateField(_("from"), null=True, blank=True)
    end = models.DateField(_("to"), null=True, blank=True)
    computed_at = models.DateTimeField(_("computed"), null=True, blank=True)
    claimed_at = models.DateTimeField(_("refresh claimed"), null=True, blank=True)
    # `otklik.stats.figures_json.stats_to_json`: plain JSON, never a pickle (reading a pickle runs code); null
    # until the first refresh.
    data = models.JSONField(_("figures"), null=True, blank=True, editable=False)

    class Meta:
        ordering = ["key"]
        verbose_name = _("figures snapshot")
        verbose_name_plural = _("figures snapshots")

    def __str__(self) -> str:
        return f"{self.key} {self.start}–{self.end} @ {self.computed_at}"
