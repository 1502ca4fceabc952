from __future__ import annotations

from django.db import models
from django.utils.translation import gettext_lazy as _


class DepartmentKind(models.TextChoices):
    UNIT = "unit", _("Structural unit of the administration")
    INSTITUTION = "institution", _("Municipal institution")
    ENTERPRISE = "enterprise", _("Municipal enterprise")
    COMPANY = "company", _("Managing company")


class TerritoryKind(models.TextChoices):
    DISTRICT = "district", _("District")
    MICRODISTRICT = "microdistrict", _("Microdistrict")
    SETTLEMENT = "settlement", _("Settlement")
