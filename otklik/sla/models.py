"""The city's working calendar as the admin edits it: extra days off, working days, shortened days; the schedule."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

from django.core.exceptions import ValidationError
from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from otklik.core.worktime import DayKind, Schedule
from otklik.intake.choices import Channel
from otklik.sla.choices import OPEN_STATES, ClockKind, ClockState, ExtensionStatus, PolicyPriority


class CalendarDayKind(models.TextChoices):
    OFF = DayKind.OFF, _("Day off")
    WORKING = DayKind.WORKING, _("Working day")
    SHORTENED = DayKind.SHORTENED, _("Shortened working day")


class CalendarDay(models.Model):
    """One day whose kind the city sets itself, over the production calendar (e.g. a local holiday)."""

    date = models.DateField(_("date"), unique=True)
    kind = models.CharField(_("kind"), max_length=16, choices=CalendarDayKind.choices)
    note = models.CharField(_("note"), max_length=255, blank=True)
    updated_at = models.DateTimeField(_("updated"), auto_now=True)

    class Meta:
        ordering = ["date"]
        verbose_name = _("calendar day")
        verbose_name_plural = _("calendar days")

    def __str__(self) -> str:
        return f"{self.date:%d.%m.%Y}: {self.get_kind_display()}"


class WorkSchedule(models.Model):
    """The working hours of an ordinary day (one row; without it the default 09:00–18:00, break 13:00–14:00)."""

    start = models.TimeField(_("working day starts"), default=dt.time(9, 0))
    end = models.TimeField(_("working day ends"), default=dt.time(18, 0))
    break_start = models.TimeField(_("break starts"), null=True, blank=True, default=dt.time(13, 0))
    break_end = models.TimeField(_("break ends"), null=True, blank=True, default=dt.time(14, 0))
    shortened_by_minutes = models.PositiveSmallIntegerField(_("a pre-holiday day is shorter by, minutes"), default=60)
    updated_at = models.DateTimeField(_("updated"), auto_now=True)

    class Meta:
        verbose_name = _("working schedule")
        verbose_name_plural = _("working schedule")

    def __str__(self) -> str:
        return f"{self.start:%H:%M}–{self.end:%H:%M}"

    def clean(self) -> None:
        if self.start >= self.end:
            raise ValidationError(_("The working day must end after it starts."))
        if (self.break_start is None) != (self.break_end is None):
            raise ValidationError(_("Give both the start and the end of the break, or neither."))
        if self.break_start and self.break_end and not (self.start < self.break_start < self.break_end < self.end):
            raise ValidationError(_("The break must lie inside the working day."))

    def as_schedule(self) -> Schedule:
        return Schedule(
            start=self.start,
            end=self.end,
            break_start=self.break_start,
            break_end=self.break_end,
            shortened_by=dt.timedelta(minutes=self.shortened_by_minutes),
        )

    @classmethod
    def current(cls) -> Schedule:
        row = cls.objects.order_by("pk").first()
        return row.as_schedule() if row else Schedule()


class SlaPolicy(models.Model):
    """Deadlines for incidents matching group/topic, priority and source; the most specific active policy wins.

    Hours are working hours unless `calendar_time` (24/7: e.g. no hot water in winter, a burst pipe).
    """

    name = models.CharField(_("name"), max_length=255)
    group = models.ForeignKey(
        "org.TopicGroup", verbose_name=_("group"), null=True, blank=True, on_delete=models.CASCADE, related_name="+"
    )
    topic = models.ForeignKey(
        "org.Topic", verbose_name=_("topic"), null=True, blank=True, on_delete=models.CASCADE, related_name="+"
    )
    priority = models.CharField(_("priority"), max_length=8, choices=PolicyPriority.choices, default=PolicyPriority.ANY)
    channel = models.CharField(
        _("channel"), max_length=16, blank=True, choices=Channel.choices, help_text=_("Empty: any channel.")
    )
    first_answer_hours = models.DecimalField(
        _("first (primary) answer, hours"),
        max_digits=6,
        decimal_places=2,
        null=True,
        blank=True,
        help_text=_("Empty: no separate clock for the first answer."),
    )
    assignment_hours = models.DecimalField(
        _("department's information, hours"), max_digits=6, decimal_places=2, default=Decimal("8")
    )
    answer_hours = models.DecimalField(_("answer, hours"), max_digits=6, decimal_places=2, default=Decimal("9"))
    final_answer_days = models.PositiveSmallIntegerField(
        _("final answer after an intermediate one, working days"), default=7
    )
    calendar_time = models.BooleanField(
        _("count calendar time (24/7)"),
        default=False,
        help_text=_("For urgent topics: the clock runs at night and on days off; the operator on duty is notified."),
    )
    warn_at_percent = models.PositiveSmallIntegerField(_("warn when this share of the time is used, %"), default=80)
    long_overdue_hours = models.DecimalField(
        _("long overdue after the due time, hours"), max_digits=6, decimal_places=2, default=Decimal("8")
    )
    long_overdue_roles = models.CharField(
        _("long overdue goes to (roles)"),
        max_length=128,
        default="director",
        help_text=_("Comma-separated roles notified when a clock is long overdue, e.g. director."),
    )
    order = models.PositiveIntegerField(_("order"), default=100)
    is_active = models.BooleanField(_("active"), default=True)

    class Meta:
        ordering = ["order", "pk"]
        verbose_name = _("deadline policy")
        verbose_name_plural = _("deadline policies")

    def __str__(self) -> str:
        return self.name

    def clean(self) -> None:
        if self.topic is not None and self.group_id and self.topic.group_id != self.group_id:
            raise ValidationError(_("The topic belongs to another group."))
        if not 1 <= self.warn_at_percent <= 99:
            raise ValidationError(_("The warning share must be between 1 and 99 %."))


class Clock(models.Model):
    """One deadline of an incident or an assignment, with its escalation levels stored so a sweep can claim them.

    `warn_at`, `due_at`, `long_due_at` are absolute moments computed when the clock starts (or resumes). The sweep
    sets `warned_at` / `overdue_at` / `long_overdue_at` with a conditional UPDATE … RETURNING, so each level fires
    once per clock whatever the number of sweeps racing.
    """

    kind = models.CharField(_("kind"), max_length=16, choices=ClockKind.choices)
    incident = models.ForeignKey(
        "cases.Incident", verbose_name=_("incident"), on_delete=models.CASCADE, related_name="clocks"
    )
    assignment = models.ForeignKey(
        "cases.Assignment",
        verbose_name=_("assignment"),
        null=True,
        blank=True,
        on_delete=models.CASCADE,
        related_name="clocks",
    )
    policy = models.ForeignKey(
        SlaPolicy, verbose_name=_("policy"), null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    state = models.CharField(_("state"), max_length=8, choices=ClockState.choices, default=ClockState.RUNNING)
    calendar_time = models.BooleanField(_("calendar time"), default=False)
    hours = models.DecimalField(_("hours"), max_digits=8, decimal_places=2)
    started_at = models.DateTimeField(_("started"))
    warn_at = models.DateTimeField(_("warning at"))
    due_at = models.DateTimeField(_("due"))
    long_due_at = models.DateTimeField(_("long overdue at"))
    paused_at = models.DateTimeField(_("paused"), null=True, blank=True)
    remaining_seconds = models.FloatField(_("time left when paused, seconds"), null=True, blank=True)
    paused_calendar_seconds = models.FloatField(_("paused, calendar seconds"), default=0.0)
    paused_working_seconds = models.FloatField(_("paused, working seconds"), default=0.0)
    stopped_at = models.DateTimeField(_("stopped"), null=True, blank=True)
    elapsed_working_seconds = models.FloatField(_("working time used, seconds"), null=True, blank=True)
    elapsed_calendar_seconds = models.FloatField(_("calendar time used, seconds"), null=True, blank=True)
    warned_at = models.DateTimeField(_("warning sent"), null=True, blank=True)
    overdue_at = models.DateTimeField(_("overdue notice sent"), null=True, blank=True)
    long_overdue_at = models.DateTimeField(_("long overdue notice sent"), null=True, blank=True)
    created_at = models.DateTimeField(_("created"), default=timezone.now)

    class Meta:
        ordering = ["due_at", "pk"]
        verbose_name = _("clock")
        verbose_name_plural = _("clocks")
        indexes = [
            models.Index(fields=["state", "warn_at"], name="sla_clock_warn"),
            models.Index(fields=["state", "due_at"], name="sla_clock_due"),
            models.Index(fields=["state", "long_due_at"], name="sla_clock_long_due"),
            # The sweep's claims (otklik.sla.escalation): only the running clocks not yet at a level, so a sweep
            # with nothing due reads nothing, however many clocks are open (docs/BENCHMARKS.md, "At scale").
            models.Index(
                fields=["warn_at"], name="sla_clock_warn_pending", condition=Q(state="running", warned_at__isnull=True)
            ),
            models.Index(
                fields=["due_at"], name="sla_clock_due_pending", condition=Q(state="running", overdue_at__isnull=True)
            ),
            models.Index(
                fields=["long_due_at"],
                name="sla_clock_long_pending",
                condition=Q(state="running", long_overdue_at__isnull=True),
            ),
            # An incident's own answer clocks (not its assignments'): the «late» / «on time» judgement of the inbox
            # filters and the dashboard (otklik.stats.selectors) probes them per incident
            # (1M posts: the inbox's «late» filter 332 → 159 ms; docs/BENCHMARKS.md).
            models.Index(
                fields=["incident", "kind", "state", "due_at"],
                name="sla_clock_incident_answer",
                condition=Q(assignment__isnull=True),
            ),
            # An incident's own clocks that measured an interval, in the order the dashboard's durations take the
            # first of them (otklik.stats.selectors._durations): each look-up reads this index alone and stops at
            # the first match (1M posts: the durations query 207 → 140 ms; docs/BENCHMARKS.md).
            models.Index(
                fields=["incident", "due_at", "id", "kind", "started_at", "stopped_at", "elapsed_working_seconds"],
                name="sla_clock_measured",
                condition=Q(
                    assignment__isnull=True,
                    state__in=["met", "missed"],
                    stopped_at__isnull=False,
                    elapsed_working_seconds__isnull=False,
                ),
            ),
        ]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} #{self.incident_id}: {self.due_at:%d.%m.%Y %H:%M}"

    @property
    def is_open(self) -> bool:
        return self.state in OPEN_STATES


class DutyShift(models.Model):
    """An operator on duty out of hours: notified of 24/7 clocks that escalate outside working time."""

    user = models.ForeignKey(
        "accounts.User", verbose_name=_("operator on duty"), on_delete=models.CASCADE, related_name="duty_shifts"
    )
    starts_at = models.DateTimeField(_("from"))
    ends_at = models.DateTimeField(_("until"))
    note = models.CharField(_("note"), max_length=255, blank=True)

    class Meta:
        ordering = ["starts_at"]
        verbose_name = _("duty shift")
        verbose_name_plural = _("duty rota")

    def __str__(self) -> str:
        return f"{self.user}: {self.starts_at:%d.%m %H:%M}–{self.ends_at:%d.%m %H:%M}"

    def clean(self) -> None:
        if self.starts_at and self.ends_at and self.ends_at <= self.starts_at:
            raise ValidationError(_("A shift must end after it starts."))


class ExtensionRequest(models.Model):
    """A department (or an operator) asks for more time on a clock; the (acting) head of the service decides."""

    clock = models.ForeignKey(Clock, verbose_name=_("clock"), on_delete=models.CASCADE, related_name="extensions")
    requested_by = models.ForeignKey(
        "accounts.User", verbose_name=_("requested by"), null=True, on_delete=models.SET_NULL, related_name="+"
    )
    reason = models.TextField(_("reason"))
    hours = models.DecimalField(_("extra working hours"), max_digits=6, decimal_places=2)
    old_due_at = models.DateTimeField(_("due before"))
    new_due_at = models.DateTimeField(_("due if approved"))
    status = models.CharField(
        _("status"), max_length=8, choices=ExtensionStatus.choices, default=ExtensionStatus.PENDING, db_index=True
    )
    decided_by = models.ForeignKey(
        "accounts.User",
        verbose_name=_("decided by"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    decision_note = models.TextField(_("decision note"), blank=True)
    decided_at = models.DateTimeField(_("decided"), null=True, blank=True)
    created_at = models.DateTimeField(_("requested"), default=timezone.now)

    class Meta:
        ordering = ["-created_at"]
        verbose_name = _("extension request")
        verbose_name_plural = _("extension requests")
        constraints = [
            models.UniqueConstraint(
                fields=["clock"], condition=models.Q(status="pending"), name="extension_one_pending_per_clock"
            )
        ]

    def __str__(self) -> str:
        return f"{self.clock}: +{self.hours} ({self.get_status_display()})"


class Delegation(models.Model):
    """The head of the service hands the role to a specialist for a period (regulation 5.2); kept for the record."""

    head = models.ForeignKey(
        "accounts.User", verbose_name=_("head of the service"), on_delete=models.CASCADE, related_name="+"
    )
    acting = models.ForeignKey(
        "accounts.User", verbose_name=_("acting head"), on_delete=models.CASCADE, related_name="acting_periods"
    )
    starts_at = models.DateTimeField(_("from"))
    ends_at = models.DateTimeField(_("until"))
    reason = models.CharField(_("reason"), max_length=255, blank=True)
    created_by = models.ForeignKey(
        "accounts.User", verbose_name=_("created by"), null=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(_("created"), default=timezone.now)
    revoked_at = models.DateTimeField(_("revoked"), null=True, blank=True)
    revoked_by = models.ForeignKey(
        "accounts.User",
        verbose_name=_("revoked by"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )

    class Meta:
        ordering = ["-starts_at"]
        verbose_name = _("delegation of the head's role")
        verbose_name_plural = _("delegations of the head's role")

    def __str__(self) -> str:
        return f"{self.acting} ← {self.head}: {self.starts_at:%d.%m.%Y}–{self.ends_at:%d.%m.%Y}"
