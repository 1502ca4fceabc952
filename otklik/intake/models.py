from __future__ import annotations

from django.db import models
from django.utils.translation import gettext_lazy as _

from otklik.intake.choices import AnalysisStatus, Channel, ImportOutcome, ImportStatus, PostKind, SourceState


class Source(models.Model):
    """A channel plus an account in it (a VK community, a Telegram bot…). Each channel has a default source."""

    channel = models.CharField(_("channel"), max_length=16, choices=Channel.choices)
    account = models.CharField(_("account"), max_length=255, blank=True, help_text=_("Empty for the default."))
    name = models.CharField(_("name"), max_length=255)
    is_active = models.BooleanField(_("active"), default=True)
    created_at = models.DateTimeField(_("created"), auto_now_add=True)
    # Polling a network (otklik.intake.connectors); sources without a token are filled by imports and the API.
    config = models.JSONField(
        _("settings"),
        default=dict,
        blank=True,
        help_text=_("Connector settings: group id, API address, chat ids, search keywords."),
    )
    token_encrypted = models.TextField(_("token (encrypted)"), blank=True, editable=False)
    cursor = models.JSONField(_("cursor"), default=dict, blank=True, help_text=_("Where the next poll starts."))
    poll_interval = models.PositiveIntegerField(_("poll every, seconds"), default=60)
    next_poll_at = models.DateTimeField(_("next poll"), null=True, blank=True, db_index=True)
    last_polled_at = models.DateTimeField(_("last polled"), null=True, blank=True)
    state = models.CharField(_("state"), max_length=16, choices=SourceState.choices, default=SourceState.OK)
    failures = models.PositiveIntegerField(_("failures in a row"), default=0)
    last_error = models.TextField(_("last error"), blank=True)
    broken_reason = models.TextField(_("why it is broken"), blank=True)
    broken_at = models.DateTimeField(_("broken since"), null=True, blank=True)

    class Meta:
        ordering = ["channel", "account"]
        verbose_name = _("source")
        verbose_name_plural = _("sources")
        constraints = [models.UniqueConstraint(fields=["channel", "account"], name="source_channel_account_uniq")]

    def __str__(self) -> str:
        return self.name

    @property
    def token(self) -> str:
        """The clear token (never shown back in the UI; "" when none or unreadable)."""
        from otklik.core.secrets import decrypt

        return decrypt(self.token_encrypted)

    def set_token(self, token: str) -> None:
        from otklik.core.secrets import encrypt

        self.token_encrypted = encrypt(token.strip())


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
    kind = models.CharField(_("kind"), max_length=16, choices=PostKind.choices, blank=True)
    negative = models.FloatField(_("negativity"), null=True, blank=True, help_text=_("From 0 to 1."))
    created_at = models.DateTimeField(_("received at"), auto_now_add=True, db_index=True)
    personal_data_removed_at = models.DateTimeField(
        _("personal data removed"),
        null=True,
        blank=True,
        help_text=_("The author's name, profile and link were erased and the text masked (retention or request)."),
    )

    class Meta:
        ordering = ["posted_at", "id"]
        verbose_name = _("post")
        verbose_name_plural = _("posts")
        constraints = [models.UniqueConstraint(fields=["source", "external_id"], name="post_source_external_id_uniq")]
        indexes = [
            models.Index(fields=["analysis_status", "created_at"]),
            # The inbox's «source» filter: a channel's incidents from the index alone (docs/BENCHMARKS.md).
            models.Index(fields=["source", "incident"], name="intake_post_source_incident"),
        ]

    def __str__(self) -> str:
        return f"{self.source.channel}:{self.external_id}"


class ImportJob(models.Model):
    """One uploaded export of «Инцидент Менеджмент» or ПОС: the file, how it is read and mapped, and the outcome.

    The counters and `processed_rows` are a running summary written by the import every few rows (the progress
    bar); the rows themselves are in `ImportRow`, one per data row of the file.
    """

    created_by = models.ForeignKey(
        "accounts.User",
        verbose_name=_("uploaded by"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    created_at = models.DateTimeField(_("uploaded at"), auto_now_add=True, db_index=True)
    file = models.FileField(_("file"), upload_to="imports/%Y/%m/", max_length=500)
    file_name = models.CharField(_("file name"), max_length=255)
    file_format = models.CharField(_("format"), max_length=8)
    encoding = models.CharField(_("encoding"), max_length=16, blank=True)
    delimiter = models.CharField(_("delimiter"), max_length=2, blank=True)
    channel = models.CharField(_("source"), max_length=16, choices=Channel.choices, default=Channel.IM)
    headers = models.JSONField(_("columns"), default=list, blank=True)
    mapping = models.JSONField(
        _("mapping"), default=dict, blank=True, help_text=_("Target field → 0-based column number.")
    )
    status = models.CharField(_("status"), max_length=16, choices=ImportStatus.choices, default=ImportStatus.MAPPING)
    total_rows = models.PositiveIntegerField(_("rows"), default=0)
    processed_rows = models.PositiveIntegerField(_("rows processed"), default=0)
    imported = models.PositiveIntegerField(_("imported"), default=0)
    updated = models.PositiveIntegerField(_("updated"), default=0)
    skipped = models.PositiveIntegerField(_("unchanged"), default=0)
    rejected = models.PositiveIntegerField(_("rejected"), default=0)
    warned = models.PositiveIntegerField(_("with warnings"), default=0)
    error = models.TextField(_("error"), blank=True)
    started_at = models.DateTimeField(_("started at"), null=True, blank=True)
    finished_at = models.DateTimeField(_("finished at"), null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        verbose_name = _("import")
        verbose_name_plural = _("imports")

    def __str__(self) -> str:
        return f"{self.file_name} ({self.created_at:%Y-%m-%d %H:%M})" if self.created_at else self.file_name

    @property
    def is_finished(self) -> bool:
        return self.status in (ImportStatus.DONE, ImportStatus.FAILED)

    @property
    def percent(self) -> int:
        if self.status == ImportStatus.DONE:
            return 100
        if not self.total_rows:
            return 0
        return min(100, self.processed_rows * 100 // self.total_rows)

    @property
    def id_from_hash(self) -> bool:
        """No column gives the external id: each row's id is a hash of its content."""
        return "external_id" not in self.mapping


class ImportRow(models.Model):
    """One data row of an imported file: what became of it, and why (a rejection is never silent)."""

    job = models.ForeignKey(ImportJob, verbose_name=_("import"), on_delete=models.CASCADE, related_name="rows")
    row_number = models.PositiveIntegerField(_("row"), help_text=_("As in the file: the header is row 1."))
    outcome = models.CharField(_("result"), max_length=16, choices=ImportOutcome.choices)
    message = models.TextField(_("reason or warning"), blank=True)
    values = models.JSONField(
        _("values in the file"), default=list, blank=True, help_text=_("Kept for rejected rows and warnings.")
    )
    external_id = models.CharField(_("external id"), max_length=255, blank=True)
    post = models.ForeignKey(
        Post, verbose_name=_("post"), null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )

    class Meta:
        ordering = ["job", "row_number"]
        verbose_name = _("imported row")
        verbose_name_plural = _("imported rows")
        constraints = [models.UniqueConstraint(fields=["job", "row_number"], name="importrow_job_row_uniq")]
        indexes = [models.Index(fields=["job", "outcome", "row_number"])]

    def __str__(self) -> str:
        return f"{self.job_id}:{self.row_number} {self.outcome}"


class AnalysisTicket(models.Model):
    """The analysis message queued for the newest posts (otklik.intake.dispatch): one row.

    Armed (`from_post_id` set, `armed_at` recent): an `analyze_post(from_post_id)` message is queued and not yet
    started; it will analyse every post from that id on that is pending when it starts, so a post arriving now
    sends no message of its own.
    """

    from_post_id = models.BigIntegerField(_("from post"), null=True, blank=True)
    armed_at = models.DateTimeField(_("armed at"), null=True, blank=True)

    class Meta:
        verbose_name = _("analysis ticket")
        verbose_name_plural = _("analysis tickets")

    def __str__(self) -> str:
        return f"analysis ticket from {self.from_post_id}" if self.from_post_id else "analysis ticket (not armed)"
