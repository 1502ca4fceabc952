from __future__ import annotations

from decimal import Decimal

from django.db import models
from django.utils.translation import gettext_lazy as _

from otklik.org.choices import DepartmentKind, StreetType, TerritoryKind


class Department(models.Model):
    """Who provides the facts for an answer: a unit of the administration, an institution or an enterprise."""

    name = models.CharField(_("name"), max_length=255, unique=True)
    short_name = models.CharField(_("short name"), max_length=64, blank=True)
    kind = models.CharField(_("kind"), max_length=16, choices=DepartmentKind.choices, default=DepartmentKind.UNIT)
    parent = models.ForeignKey(
        "self", verbose_name=_("parent"), null=True, blank=True, on_delete=models.PROTECT, related_name="children"
    )
    email = models.EmailField(_("e-mail"), blank=True)
    phone = models.CharField(_("phone"), max_length=64, blank=True)
    contacts = models.TextField(_("contacts"), blank=True)
    is_active = models.BooleanField(_("active"), default=True)

    class Meta:
        ordering = ["name"]
        verbose_name = _("department")
        verbose_name_plural = _("departments")

    def __str__(self) -> str:
        return self.short_name or self.name


class Territory(models.Model):
    name = models.CharField(_("name"), max_length=128, unique=True)
    kind = models.CharField(_("kind"), max_length=16, choices=TerritoryKind.choices, default=TerritoryKind.DISTRICT)
    keywords = models.TextField(
        _("keywords"), blank=True, help_text=_("Comma-separated words that place a post in this territory.")
    )

    class Meta:
        ordering = ["name"]
        verbose_name = _("territory")
        verbose_name_plural = _("territories")

    def __str__(self) -> str:
        return self.name


class TopicGroup(models.Model):
    """A group of the rubricator («ЖКХ», «Дороги», …)."""

    name = models.CharField(_("name"), max_length=255, unique=True)

    class Meta:
        ordering = ["name"]
        verbose_name = _("topic group")
        verbose_name_plural = _("topic groups")

    def __str__(self) -> str:
        return self.name


class Topic(models.Model):
    """A topic of the rubricator; `priority` is the ★ mark (stored without the star in `name`)."""

    name = models.CharField(_("name"), max_length=255, unique=True)
    group = models.ForeignKey(TopicGroup, verbose_name=_("group"), on_delete=models.PROTECT, related_name="topics")
    priority = models.BooleanField(_("priority"), default=False)
    keywords = models.TextField(
        _("keywords"), blank=True, help_text=_("Extra comma-separated words for the keyword classifier.")
    )
    is_active = models.BooleanField(_("active"), default=True)

    class Meta:
        ordering = ["group__name", "name"]
        verbose_name = _("topic")
        verbose_name_plural = _("topics")

    def __str__(self) -> str:
        return f"★ {self.name}" if self.priority else self.name


class RoutingRule(models.Model):
    """Group or topic (+ optional territory and keywords) → lead department, co-executors, due time.

    The most specific active rule wins: topic over group, with territory over without, with keywords over
    without; then the lowest `order`.
    """

    name = models.CharField(_("name"), max_length=255)
    group = models.ForeignKey(
        TopicGroup, verbose_name=_("group"), null=True, blank=True, on_delete=models.CASCADE, related_name="rules"
    )
    topic = models.ForeignKey(
        Topic, verbose_name=_("topic"), null=True, blank=True, on_delete=models.CASCADE, related_name="rules"
    )
    territory = models.ForeignKey(
        Territory, verbose_name=_("territory"), null=True, blank=True, on_delete=models.CASCADE, related_name="rules"
    )
    keywords = models.TextField(
        _("keywords"), blank=True, help_text=_("Comma-separated; the rule applies when any of them is in the text.")
    )
    lead = models.ForeignKey(
        Department, verbose_name=_("lead department"), on_delete=models.PROTECT, related_name="lead_rules"
    )
    co_executors = models.ManyToManyField(
        Department, verbose_name=_("co-executors"), blank=True, related_name="co_rules"
    )
    due_hours = models.DecimalField(_("due time, working hours"), max_digits=6, decimal_places=2, default=Decimal("8"))
    lead_from_building = models.BooleanField(
        _("lead: the managing company of the building"),
        default=False,
        help_text=_(
            "When the post names a building known to the gazetteer, its managing company leads instead of the "
            "department above."
        ),
    )
    order = models.PositiveIntegerField(_("order"), default=100)
    is_active = models.BooleanField(_("active"), default=True)

    class Meta:
        ordering = ["order", "id"]
        verbose_name = _("routing rule")
        verbose_name_plural = _("routing rules")
        constraints = [
            models.CheckConstraint(
                condition=models.Q(group__isnull=False) | models.Q(topic__isnull=False),
                name="routingrule_group_or_topic",
                violation_error_message=_("A rule needs a group or a topic."),
            )
        ]

    def __str__(self) -> str:
        return self.name

    @property
    def keyword_list(self) -> list[str]:
        return [k.strip().lower() for k in self.keywords.split(",") if k.strip()]


_COMPANY = {"kind": DepartmentKind.COMPANY}


class Street(models.Model):
    """A street (or a microdistrict: type «микрорайон», name «10») of the city's gazetteer.

    `name` is as on the street sign («Ленина», «Садовая», «50 лет Октября»); `aliases` are other names people
    use (old names, short forms), comma-separated. The district and the managing company are the defaults for
    the street's buildings that name none.
    """

    name = models.CharField(_("name"), max_length=128)
    street_type = models.CharField(_("type"), max_length=16, choices=StreetType.choices, default=StreetType.STREET)
    aliases = models.TextField(_("other names"), blank=True, help_text=_("Comma-separated: old names, short forms."))
    territory = models.ForeignKey(
        Territory, verbose_name=_("district"), null=True, blank=True, on_delete=models.SET_NULL, related_name="streets"
    )
    company = models.ForeignKey(
        Department,
        verbose_name=_("managing company"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        limit_choices_to=_COMPANY,
        related_name="streets",
    )
    updated_at = models.DateTimeField(_("updated"), auto_now=True, db_index=True)

    class Meta:
        ordering = ["name", "street_type"]
        verbose_name = _("street")
        verbose_name_plural = _("streets")
        constraints = [models.UniqueConstraint(fields=["name", "street_type"], name="street_name_type_unique")]

    def __str__(self) -> str:
        if self.street_type == StreetType.MICRODISTRICT:
            return f"{self.name} {self.street_type}"
        if self.street_type == StreetType.OTHER:
            return self.name
        return f"{self.street_type} {self.name}"

    @property
    def alias_list(self) -> list[str]:
        return [a.strip() for a in self.aliases.split(",") if a.strip()]


class Building(models.Model):
    """A building: street + house as written, normalised («7а», «15/2», «97к2»), its district and managing company."""

    street = models.ForeignKey(Street, verbose_name=_("street"), on_delete=models.CASCADE, related_name="buildings")
    house = models.CharField(_("house"), max_length=32)
    territory = models.ForeignKey(
        Territory,
        verbose_name=_("district"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="buildings",
    )
    company = models.ForeignKey(
        Department,
        verbose_name=_("managing company"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        limit_choices_to=_COMPANY,
        related_name="buildings",
    )
    updated_at = models.DateTimeField(_("updated"), auto_now=True, db_index=True)

    class Meta:
        ordering = ["street__name", "house"]
        verbose_name = _("building")
        verbose_name_plural = _("buildings")
        constraints = [models.UniqueConstraint(fields=["street", "house"], name="building_street_house_unique")]

    def __str__(self) -> str:
        return f"{self.street}, {self.house}"


class Landmark(models.Model):
    """A place people name instead of an address: «школа №5», «ТЦ Европа», «парк Победы»."""

    name = models.CharField(_("name"), max_length=255, unique=True)
    aliases = models.TextField(_("other names"), blank=True, help_text=_("Comma-separated: «СОШ №5», «пятая школа»."))
    building = models.ForeignKey(
        Building, verbose_name=_("building"), null=True, blank=True, on_delete=models.SET_NULL, related_name="landmarks"
    )
    territory = models.ForeignKey(
        Territory,
        verbose_name=_("district"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="landmarks",
    )
    updated_at = models.DateTimeField(_("updated"), auto_now=True, db_index=True)

    class Meta:
        ordering = ["name"]
        verbose_name = _("landmark")
        verbose_name_plural = _("landmarks")

    def __str__(self) -> str:
        return self.name

    @property
    def alias_list(self) -> list[str]:
        return [a.strip() for a in self.aliases.split(",") if a.strip()]
