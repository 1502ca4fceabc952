from __future__ import annotations

from django.db import models
from django.utils.translation import gettext_lazy as _


class Channel(models.TextChoices):
    VK = "vk", _("VKontakte")
    OK = "ok", _("Odnoklassniki")
    TELEGRAM = "telegram", _("Telegram")
    MAX = "max", _("MAX")
    IM = "im", _("Incident Management")
    POS = "pos", _("Feedback platform (POS)")
    EMAIL = "email", _("E-mail")
    API = "api", _("API")


class AnalysisStatus(models.TextChoices):
    PENDING = "pending", _("Waiting for analysis")
    DONE = "done", _("Analysed")
    FAILED = "failed", _("Analysis failed")


class ImportStatus(models.TextChoices):
    MAPPING = "mapping", _("Waiting for the column mapping")
    QUEUED = "queued", _("Queued")
    RUNNING = "running", _("Running")
    DONE = "done", _("Done")
    FAILED = "failed", _("Failed")


class ImportOutcome(models.TextChoices):
    """What became of one row of an imported file."""

    IMPORTED = "imported", _("Imported")
    UPDATED = "updated", _("Updated")
    SKIPPED = "skipped", _("Unchanged (already imported)")
    REJECTED = "rejected", _("Rejected")


class PostKind(models.TextChoices):
    """What a post is (otklik.nlp.kind); abusive and spam posts need no answer."""

    COMPLAINT = "complaint", _("Complaint")
    QUESTION = "question", _("Question")
    SUGGESTION = "suggestion", _("Suggestion")
    GRATITUDE = "gratitude", _("Gratitude")
    NEUTRAL = "neutral", _("Neutral")
    ABUSIVE = "abusive", _("Insults or profanity")
    SPAM = "spam", _("Spam or off-topic")


class SourceState(models.TextChoices):
    """Whether a polled source works (otklik.intake.connectors): a broken one is not polled until the admin fixes it."""

    OK = "ok", _("Works")
    BROKEN = "broken", _("Broken")
