"""Following the thread after an answer, the citizen's replies with their verdicts, and the "solved?" surveys."""

from __future__ import annotations

from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from otklik.satisfaction.choices import FollowUpAction, SurveyResult, SurveyStatus, Verdict


class FollowedThread(models.Model):
    """A thread where an answer went (one per publication of a final or intermediate answer): the author's posts
    there between `followed_from` and `followed_until` are follow-ups (otklik.satisfaction.services)."""

    incident = models.ForeignKey(
        "cases.Incident", verbose_name=_("incident"), on_delete=models.CASCADE, related_name="followed_threads"
    )
    answer = models.ForeignKey(
        "answers.Answer", verbose_name=_("answer"), on_delete=models.CASCADE, related_name="followed_threads"
    )
    publication = models.OneToOneField(
        "answers.Publication", verbose_name=_("publication"), on_delete=models.CASCADE, related_name="followed"
    )
    thread_key = models.CharField(_("thread"), max_length=500)
    author_id = models.CharField(_("author profile id"), max_length=255, blank=True)
    followed_from = models.DateTimeField(_("followed from"))
    followed_until = models.DateTimeField(_("followed until"))

    class Meta:
        ordering = ["-followed_from", "-id"]
        verbose_name = _("followed thread")
        verbose_name_plural = _("followed threads")
        indexes = [models.Index(fields=["thread_key", "followed_until"])]

    def __str__(self) -> str:
        return f"#{self.incident_id} {self.thread_key}"


class FollowUp(models.Model):
    """A reply of the incident's author in a followed thread, the classifier's verdict and what was done."""

    incident = models.ForeignKey(
        "cases.Incident", verbose_name=_("incident"), on_delete=models.CASCADE, related_name="follow_ups"
    )
    answer = models.ForeignKey(
        "answers.Answer", verbose_name=_("answer"), null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    post = models.OneToOneField(
        "intake.Post", verbose_name=_("reply"), on_delete=models.CASCADE, related_name="follow_up"
    )
    verdict = models.CharField(_("verdict"), max_length=16, choices=Verdict.choices)
    confidence = models.FloatField(_("confidence"))
    acted = models.CharField(_("action"), max_length=16, choices=FollowUpAction.choices, default=FollowUpAction.NONE)
    created_at = models.DateTimeField(_("created"), default=timezone.now)

    class Meta:
        ordering = ["-created_at", "-id"]
        verbose_name = _("follow-up")
        verbose_name_plural = _("follow-ups")
        indexes = [models.Index(fields=["incident", "verdict"])]

    def __str__(self) -> str:
        return f"#{self.incident_id} {self.verdict}"

    @property
    def reopened(self) -> bool:
        return self.acted == FollowUpAction.REOPENED


class Survey(models.Model):
    """ "Is the problem solved?" asked in one thread of a final answer, N days after it (otklik.satisfaction.surveys).

    `key` goes into the question (Telegram callback data `solved:<key>:yes|no`); `external_id` is the question's
    id in the network.
    """

    incident = models.ForeignKey(
        "cases.Incident", verbose_name=_("incident"), on_delete=models.CASCADE, related_name="surveys"
    )
    answer = models.ForeignKey("answers.Answer", verbose_name=_("answer"), on_delete=models.CASCADE, related_name="+")
    publication = models.OneToOneField(
        "answers.Publication", verbose_name=_("publication"), on_delete=models.CASCADE, related_name="survey"
    )
    channel = models.CharField(_("channel"), max_length=16)
    thread_key = models.CharField(_("thread"), max_length=500)
    author_id = models.CharField(_("author profile id"), max_length=255, blank=True)
    key = models.CharField(_("key"), max_length=32, unique=True)
    status = models.CharField(_("status"), max_length=16, choices=SurveyStatus.choices, default=SurveyStatus.SCHEDULED)
    scheduled_at = models.DateTimeField(_("to ask at"))
    sent_at = models.DateTimeField(_("asked at"), null=True, blank=True)
    answered_at = models.DateTimeField(_("answered at"), null=True, blank=True)
    result = models.CharField(_("result"), max_length=16, choices=SurveyResult.choices, blank=True)
    external_id = models.CharField(_("external id"), max_length=255, blank=True)
    attempts = models.PositiveIntegerField(_("attempts"), default=0)
    last_error = models.TextField(_("last error"), blank=True)
    created_at = models.DateTimeField(_("created"), default=timezone.now)

    class Meta:
        ordering = ["-scheduled_at", "-id"]
        verbose_name = _("survey")
        verbose_name_plural = _("surveys")
        indexes = [
            models.Index(fields=["status", "scheduled_at"]),
            models.Index(fields=["status", "sent_at"]),
            models.Index(fields=["thread_key", "status"]),
        ]

    def __str__(self) -> str:
        return f"#{self.incident_id} {self.status}"
