from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from otklik.answers.choices import AnswerKind, AnswerStatus, PublicationStatus, VersionReason


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
    quality_override_reason = models.TextField(
        _("reason to publish despite quality errors"),
        blank=True,
        help_text=_("Given by the head of the service when an answer with quality errors is published."),
    )
    quality_override_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("quality override by"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    findings = models.JSONField(
        _("quality findings at publication"),
        default=list,
        blank=True,
        help_text=_("The findings of the quality checks when the answer was published (kept for the record)."),
    )
    published_at = models.DateTimeField(_("published"), null=True, blank=True)
    link = models.URLField(_("link to the published reply"), max_length=1000, blank=True)
    created_at = models.DateTimeField(_("created"), default=timezone.now)
    updated_at = models.DateTimeField(_("updated"), auto_now=True)
    # Derived, for the satisfaction figures (docs/STATS.md, «satisfied_share»), of a published final answer only;
    # kept by otklik.satisfaction.outcomes on every change of the incident's final answers, replies, surveys and
    # reopenings. The publication time of the incident's previous published final answer (by time, then id): the
    # answer is the first final answer of a period starting at `since` when this is empty or earlier than `since`.
    previous_final_at = models.DateTimeField(_("previous final answer published"), null=True, editable=False)
    # Whether the incident is classified satisfied since this answer: a `satisfied` reply or a survey answered
    # «solved» since it, and no reopening since it (otklik.satisfaction.stats.classify_incidents).
    satisfied_after = models.BooleanField(_("the citizen satisfied since"), default=False, editable=False)

    class Meta:
        ordering = ["created_at", "id"]
        verbose_name = _("answer")
        verbose_name_plural = _("answers")
        indexes = [
            # The newest published answers (otklik.answers.similar: the index of similar answers reads the newest
            # 5,000 and asks every few seconds whether they changed — ~1 ms with this index, ~190 ms without at
            # 800,000 answers).
            models.Index(
                fields=["published_at", "id"],
                name="answer_published_recent",
                condition=models.Q(status=AnswerStatus.PUBLISHED),
            ),
        ]

    def __str__(self) -> str:
        return f"#{self.incident_id} {self.get_kind_display()}"


class AnswerVersion(models.Model):
    """Every version of an answer's text is kept: drafted, edited, returned with comments, approved, published."""

    answer = models.ForeignKey(Answer, verbose_name=_("answer"), on_delete=models.CASCADE, related_name="versions")
    number = models.PositiveIntegerField(_("version"))
    text = models.TextField(_("text"))
    promised_date = models.DateField(_("promised date"), null=True, blank=True)
    reason = models.CharField(_("reason"), max_length=16, choices=VersionReason.choices)
    comment = models.TextField(_("comment"), blank=True)
    author = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("author"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    created_at = models.DateTimeField(_("created"), default=timezone.now)

    class Meta:
        ordering = ["answer", "number"]
        verbose_name = _("version of an answer")
        verbose_name_plural = _("versions of answers")
        constraints = [models.UniqueConstraint(fields=["answer", "number"], name="answer_version_number_uniq")]

    def __str__(self) -> str:
        return f"{self.answer} v{self.number}"


class AnswerTemplate(models.Model):
    """A template of an answer by group/topic and kind, with variables ({{ citizen }}, {{ address }} …).

    The most specific active template wins: topic, then group, then the general one (neither); see
    otklik.answers.drafting.
    """

    name = models.CharField(_("name"), max_length=255)
    kind = models.CharField(_("kind of answer"), max_length=16, choices=AnswerKind.choices)
    group = models.ForeignKey(
        "org.TopicGroup",
        verbose_name=_("group"),
        null=True,
        blank=True,
        on_delete=models.CASCADE,
        related_name="+",
        help_text=_("Empty: any group."),
    )
    topic = models.ForeignKey(
        "org.Topic",
        verbose_name=_("topic"),
        null=True,
        blank=True,
        on_delete=models.CASCADE,
        related_name="+",
        help_text=_("Empty: any topic of the group."),
    )
    text = models.TextField(_("text"))
    is_active = models.BooleanField(_("active"), default=True)
    updated_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("edited by"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    updated_at = models.DateTimeField(_("updated"), auto_now=True)

    class Meta:
        ordering = ["kind", "name"]
        verbose_name = _("answer template")
        verbose_name_plural = _("answer templates")

    def __str__(self) -> str:
        return self.name


class Article(models.Model):
    """The knowledge base: the service's methodological recommendations, with good and bad examples.

    `codes` lists the quality-finding codes (otklik.answers.checks.CODES) the article explains: each finding links
    to its articles.
    """

    title = models.CharField(_("title"), max_length=255)
    slug = models.SlugField(_("address"), max_length=100, unique=True, allow_unicode=False)
    body = models.TextField(_("text"))
    good_example = models.TextField(_("good example"), blank=True)
    bad_example = models.TextField(_("bad example"), blank=True)
    codes = models.JSONField(_("quality checks"), default=list, blank=True)
    is_published = models.BooleanField(_("published"), default=True)
    updated_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("edited by"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    created_at = models.DateTimeField(_("created"), default=timezone.now)
    updated_at = models.DateTimeField(_("updated"), auto_now=True)

    class Meta:
        ordering = ["title"]
        verbose_name = _("recommendation")
        verbose_name_plural = _("recommendations")

    def __str__(self) -> str:
        return self.title


class ApprovalRule(models.Model):
    """When an answer must be approved by the head of the service before it is published.

    A rule applies when every condition it sets holds (empty = any): the incident's group, the answer's kind, a
    priority (★) topic, an author who joined less than `new_operator_days` days ago. An answer needs approval when
    any active rule applies (otklik.answers.approval).
    """

    group = models.ForeignKey(
        "org.TopicGroup",
        verbose_name=_("group"),
        null=True,
        blank=True,
        on_delete=models.CASCADE,
        related_name="+",
        help_text=_("Empty: any group."),
    )
    kind = models.CharField(
        _("kind of answer"), max_length=16, choices=AnswerKind.choices, blank=True, help_text=_("Empty: any kind.")
    )
    high_priority_only = models.BooleanField(_("priority topics only"), default=False)
    new_operator_days = models.PositiveIntegerField(
        _("operators newer than, days"),
        null=True,
        blank=True,
        help_text=_("Set: only answers of operators who joined less than this many days ago."),
    )
    is_active = models.BooleanField(_("active"), default=True)
    note = models.CharField(_("note"), max_length=255, blank=True)

    class Meta:
        ordering = ["id"]
        verbose_name = _("approval rule")
        verbose_name_plural = _("approval rules")

    def __str__(self) -> str:
        return self.note or f"{_('approval rule')} {self.pk}"


class Publication(models.Model):
    """The outbox: one row per publication of an answer in one thread of the incident (otklik.answers.outbox).

    `idempotency_key` is unique and sent to the channel where it supports one; before any retry the adapter
    reconciles (looks for a reply already posted with that key), so a worker that died after the network call
    never publishes twice.
    """

    answer = models.ForeignKey(Answer, verbose_name=_("answer"), on_delete=models.CASCADE, related_name="publications")
    post = models.ForeignKey(
        "intake.Post",
        verbose_name=_("post answered"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="publications",
    )
    channel = models.CharField(_("channel"), max_length=16)
    thread_key = models.CharField(_("thread"), max_length=500)
    status = models.CharField(
        _("status"), max_length=16, choices=PublicationStatus.choices, default=PublicationStatus.PENDING
    )
    attempts = models.PositiveIntegerField(_("attempts"), default=0)
    next_attempt_at = models.DateTimeField(_("next attempt"), null=True, blank=True)
    idempotency_key = models.CharField(_("idempotency key"), max_length=64, unique=True)
    external_id = models.CharField(_("external id"), max_length=255, blank=True)
    url = models.URLField(_("link"), max_length=1000, blank=True)
    last_error = models.TextField(_("last error"), blank=True)
    created_at = models.DateTimeField(_("created"), default=timezone.now)
    sent_at = models.DateTimeField(_("sent"), null=True, blank=True)
    updated_at = models.DateTimeField(_("updated"), auto_now=True)

    class Meta:
        ordering = ["answer", "id"]
        verbose_name = _("publication")
        verbose_name_plural = _("publications")
        constraints = [models.UniqueConstraint(fields=["answer", "thread_key"], name="publication_answer_thread_uniq")]
        indexes = [models.Index(fields=["status", "next_attempt_at"])]

    def __str__(self) -> str:
        return f"{self.answer} → {self.thread_key}"
