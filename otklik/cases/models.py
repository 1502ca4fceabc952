from __future__ import annotations

from collections.abc import Iterable

from django.conf import settings
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from otklik.cases.choices import (
    ASSIGNMENT_OPEN,
    OPEN_STATUSES,
    AssignmentRole,
    AssignmentStatus,
    EventVerb,
    IncidentStatus,
    NoAnswerReason,
)


def channels_value(codes: Iterable[str]) -> str:
    """`Incident.channels` for posts from these channels: sorted, distinct, each between commas (",im,vk,");
    "" for none."""
    found = sorted({code for code in codes if code})
    return f",{','.join(found)}," if found else ""


def channel_mark(code: str) -> str:
    """What `Incident.channels` contains when a post of the incident comes from the channel `code`."""
    return f",{code},"


class Incident(models.Model):
    """One problem of a citizen; one or more posts.

    Indexes: the composite ones of `Meta.indexes` only. The single-column indexes Django makes for `db_index` fields
    and foreign keys are left out where a composite index starts with the same column (status, group, territory,
    lead department, owner, due and creation times): every new row version of an incident — written several times
    while its first post is analysed — costs an entry in each index (cases 0012; docs/BENCHMARKS.md, sixth pass).
    On PostgreSQL, cases 0013 adds a trigram index on `channels` for the source filter of a rare channel (not in
    `Meta.indexes`: SQLite has none).
    """

    status = models.CharField(_("status"), max_length=16, choices=IncidentStatus.choices, default=IncidentStatus.NEW)
    topic = models.ForeignKey(
        "org.Topic", verbose_name=_("topic"), null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    group = models.ForeignKey(
        "org.TopicGroup",
        verbose_name=_("group"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
        db_index=False,
    )
    priority = models.BooleanField(_("priority"), default=False)
    confidence = models.FloatField(_("classification confidence"), null=True, blank=True)
    address = models.CharField(_("address"), max_length=500, blank=True)
    territory = models.ForeignKey(
        "org.Territory",
        verbose_name=_("territory"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
        db_index=False,
    )
    lead_department = models.ForeignKey(
        "org.Department",
        verbose_name=_("lead department"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="led_incidents",
        db_index=False,
    )
    routing_rule = models.ForeignKey(
        "org.RoutingRule",
        verbose_name=_("routing rule"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("owner"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="owned_incidents",
        db_index=False,
    )
    no_answer_reason = models.CharField(
        _("reason for no answer"), max_length=16, choices=NoAnswerReason.choices, blank=True
    )
    status_note = models.TextField(_("note to the last status change"), blank=True)
    merged_into = models.ForeignKey(
        "self", verbose_name=_("merged into"), null=True, blank=True, on_delete=models.SET_NULL, related_name="absorbed"
    )
    due_at = models.DateTimeField(_("answer due"), null=True, blank=True)
    waiting_since = models.DateTimeField(
        _("waiting for the citizen since"),
        null=True,
        blank=True,
        help_text=_("The service asked the author something; the deadlines are paused until the reply."),
    )
    first_answered_at = models.DateTimeField(_("first answer published"), null=True, blank=True)
    answered_at = models.DateTimeField(_("final answer published"), null=True, blank=True)
    closed_at = models.DateTimeField(_("closed"), null=True, blank=True)
    # Set by `do_reopen` only (the last reopening; a `reopened` event each time): the inbox's «reopened» filter reads
    # it instead of the events (docs/BENCHMARKS.md, issue 9).
    reopened_at = models.DateTimeField(_("last reopened"), null=True, blank=True)
    # The channels of the incident's posts, sorted and delimited: ",telegram,vk," ("" without posts). Kept by
    # `refresh_from_posts` wherever a post joins or leaves an incident: the inbox's «source» filter tests it
    # (`channel_mark`) instead of looking for a post of the channel (docs/BENCHMARKS.md); a rare channel is found
    # by its trigram index (cases 0013, PostgreSQL).
    channels = models.CharField(_("channels of the posts"), max_length=128, blank=True, default="", editable=False)
    # When the incident's latest post was written (None without posts). Kept with `channels`, wherever a post joins
    # or leaves an incident (`refresh_from_posts`, `do_merge`, intake): the dashboard's «posts since» link to the
    # inbox tests it (`otklik.stats.selectors.filter_posts_in`) instead of joining the period's posts
    # (docs/BENCHMARKS.md, issue 9, tenth pass).
    last_post_at = models.DateTimeField(_("last post written"), null=True, blank=True, editable=False)
    # The earliest due time of the incident's own answer clocks (first answer, answer, final answer) that run or were
    # missed; None without such a clock. The incident is *late* (docs/STATS.md, rule 2) when it is before now. Kept
    # by the clock hooks (`otklik.sla.hooks`) wherever those clocks change: the inbox's «late» filter reads it instead
    # of looking up the clocks of each incident (docs/BENCHMARKS.md).
    late_from = models.DateTimeField(_("late from"), null=True, blank=True, editable=False)
    # One of its own answer clocks was met (a clock met stays met): with `late_from`, the «on time» judgement.
    deadline_met = models.BooleanField(_("a deadline met"), default=False, editable=False)
    created_at = models.DateTimeField(_("created"), default=timezone.now)
    updated_at = models.DateTimeField(_("updated"), auto_now=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        verbose_name = _("incident")
        verbose_name_plural = _("incidents")
        # The inbox's orderings and filters at city scale (docs/BENCHMARKS.md, "At scale").
        indexes = [
            models.Index(fields=["created_at", "id"], name="incident_created_id"),
            models.Index(fields=["due_at", "id"], name="incident_due_id"),
            models.Index(fields=["status", "due_at", "id"], name="incident_status_due"),
            models.Index(fields=["group", "created_at"], name="incident_group_created"),
            models.Index(fields=["lead_department", "created_at"], name="incident_dept_created"),
            models.Index(fields=["territory", "created_at"], name="incident_territory_created"),
            models.Index(fields=["owner", "status"], name="incident_owner_status"),
            # The dashboard's places link to the inbox with `?address=` (an exact match).
            models.Index(fields=["address"], name="incident_address_exact"),
            # The open incidents only (a tenth of a city's history): the open views listed by due time (closed
            # incidents keep their due time), and counted under any filter in one pass over this index alone.
            models.Index(
                fields=[
                    *("due_at", "id", "status", "owner", "group", "lead_department", "territory", "created_at"),
                    *("channels", "late_from", "deadline_met", "last_post_at"),
                ],
                condition=models.Q(status__in=sorted(OPEN_STATUSES)),
                name="incident_open_due",
            ),
            models.Index(
                fields=["created_at", "id"], condition=models.Q(reopened_at__isnull=False), name="incident_reopened"
            ),
        ]

    def __str__(self) -> str:
        return f"#{self.pk}"

    @property
    def is_open(self) -> bool:
        return self.status in OPEN_STATUSES

    @property
    def is_overdue(self) -> bool:
        return bool(self.is_open and self.due_at and self.due_at < timezone.now())


class Assignment(models.Model):
    """A request to a department for the information an answer needs, with a due time."""

    incident = models.ForeignKey(
        Incident, verbose_name=_("incident"), on_delete=models.CASCADE, related_name="assignments"
    )
    department = models.ForeignKey(
        "org.Department", verbose_name=_("department"), on_delete=models.PROTECT, related_name="assignments"
    )
    role = models.CharField(_("role"), max_length=8, choices=AssignmentRole.choices, default=AssignmentRole.LEAD)
    status = models.CharField(
        _("status"), max_length=16, choices=AssignmentStatus.choices, default=AssignmentStatus.SENT, db_index=True
    )
    request = models.TextField(_("what the service asks"), blank=True)
    due_at = models.DateTimeField(_("due"), null=True, blank=True, db_index=True)
    information = models.TextField(_("information"), blank=True)
    decline_reason = models.TextField(_("reason for declining"), blank=True)
    assignee = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("assignee"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="assignments",
    )
    submitted_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("submitted by"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    submitted_at = models.DateTimeField(_("submitted"), null=True, blank=True)
    accepted_at = models.DateTimeField(_("accepted"), null=True, blank=True)
    created_at = models.DateTimeField(_("created"), default=timezone.now)
    updated_at = models.DateTimeField(_("updated"), auto_now=True)

    class Meta:
        ordering = ["due_at", "id"]
        verbose_name = _("assignment")
        verbose_name_plural = _("assignments")
        indexes = [
            # The department's desk (otklik.cases.views.assignments): its open assignments by due time, its finished
            # ones by the time they ended (1M posts: docs/BENCHMARKS.md).
            models.Index(fields=["department", "status", "due_at"], name="assignment_dept_status_due"),
            # Its «to do» tab: the open ones (two statuses) in due order. With the index above PostgreSQL cannot
            # merge the two statuses' ranges in order and walked every assignment by due time instead (1M posts,
            # the largest department: 134,000 rows filtered, ~105 ms → ~2 ms).
            models.Index(
                fields=["department", "due_at", "id"],
                condition=models.Q(status__in=["rework", "sent"]),
                name="assignment_dept_open_due",
            ),
            models.Index(fields=["department", "updated_at"], name="assignment_dept_updated"),
            # The dashboard's department figures and the department scorecard: the assignments made in a period
            # (a month of 586k at 1M posts: a sequential scan without it, 329 → 70–82 ms; docs/STATS.md).
            models.Index(fields=["created_at"], name="assignment_created"),
        ]
        constraints = [
            models.UniqueConstraint(
                fields=["incident", "department"],
                condition=~models.Q(status__in=["cancelled", "declined"]),
                name="assignment_one_active_per_department",
            )
        ]

    def __str__(self) -> str:
        return f"#{self.incident_id} → {self.department}"

    @property
    def is_open(self) -> bool:
        return self.status in ASSIGNMENT_OPEN

    @property
    def is_overdue(self) -> bool:
        return bool(self.is_open and self.due_at and self.due_at < timezone.now())


def attachment_path(instance: Attachment, filename: str) -> str:
    return f"assignments/{instance.assignment_id}/{filename}"


class Attachment(models.Model):
    assignment = models.ForeignKey(
        Assignment, verbose_name=_("assignment"), on_delete=models.CASCADE, related_name="attachments"
    )
    file = models.FileField(_("file"), upload_to=attachment_path)
    name = models.CharField(_("name"), max_length=255)
    content_type = models.CharField(_("type"), max_length=128, blank=True)
    size = models.PositiveIntegerField(_("size, bytes"), default=0)
    uploaded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(_("uploaded"), default=timezone.now)

    class Meta:
        verbose_name = _("attachment")
        verbose_name_plural = _("attachments")

    def __str__(self) -> str:
        return self.name


class ReworkComment(models.Model):
    """Why the service returned a department's information (kept for the department's statistics)."""

    assignment = models.ForeignKey(
        Assignment, verbose_name=_("assignment"), on_delete=models.CASCADE, related_name="rework_comments"
    )
    author = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    text = models.TextField(_("comment"))
    criteria = models.JSONField(_("criteria"), default=list, blank=True, help_text=_("Codes of ReworkCriterion."))
    created_at = models.DateTimeField(_("created"), default=timezone.now)

    class Meta:
        ordering = ["created_at", "id"]
        verbose_name = _("rework comment")
        verbose_name_plural = _("rework comments")

    def __str__(self) -> str:
        return self.text[:60]

    @property
    def criteria_labels(self) -> list[str]:
        from otklik.cases.choices import ReworkCriterion

        return [str(ReworkCriterion(c).label) for c in self.criteria if c in ReworkCriterion.values]


class Event(models.Model):
    """Timeline and audit: who did what to an incident, when, with the values before and after."""

    incident = models.ForeignKey(Incident, verbose_name=_("incident"), on_delete=models.CASCADE, related_name="events")
    assignment = models.ForeignKey(Assignment, null=True, blank=True, on_delete=models.SET_NULL, related_name="events")
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("who"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    verb = models.CharField(_("what"), max_length=32, choices=EventVerb.choices)
    before = models.JSONField(_("before"), default=dict, blank=True)
    after = models.JSONField(_("after"), default=dict, blank=True)
    message = models.TextField(_("comment"), blank=True)
    created_at = models.DateTimeField(_("when"), default=timezone.now, db_index=True)

    class Meta:
        ordering = ["created_at", "id"]
        verbose_name = _("event")
        verbose_name_plural = _("events")
        indexes = [models.Index(fields=["verb", "incident"], name="event_verb_incident")]

    def __str__(self) -> str:
        return f"#{self.incident_id} {self.verb}"
