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
