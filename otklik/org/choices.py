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


class StreetType(models.TextChoices):
    """The street types of the gazetteer: the same words as the address extraction (otklik.nlp.address)."""

    STREET = "улица", _("street")
    AVENUE = "проспект", _("avenue")
    LANE = "переулок", _("lane")
    HIGHWAY = "шоссе", _("highway")
    BOULEVARD = "бульвар", _("boulevard")
    SQUARE = "площадь", _("square")
    PASSAGE = "проезд", _("passage")
    MICRODISTRICT = "микрорайон", _("microdistrict")
    EMBANKMENT = "набережная", _("embankment")
    DEAD_END = "тупик", _("dead end")
    OTHER = "other", _("other")
