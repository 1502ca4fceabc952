from __future__ import annotations

from django.db import models
from django.utils.translation import gettext_lazy as _


class AuditAction(models.TextChoices):
    VIEW = "view", _("viewed")
    EXPORT = "export", _("exported")
    CREATE = "create", _("created")
    UPDATE = "update", _("changed")
    DELETE = "delete", _("deleted")
    LOGIN = "login", _("logged in")
    LOGOUT = "logout", _("logged out")
    LOGIN_FAILED = "login_failed", _("failed login")
    # Written by otklik.privacy through otklik.audit.services.record.
    PERSONAL_DATA_EXPORT = "personal_data_export", _("personal data exported")
    PERSONAL_DATA_ERASE = "personal_data_erase", _("personal data erased")
    PERSONAL_DATA_RETENTION = "personal_data_retention", _("personal data removed after retention")
