"""The lifecycle of incidents and assignments. The only writers of these models.

Each `do_*` function validates, writes (existing rows with `update_fields`), records an `Event`, and enqueues
work after commit. `actor=None` means the system itself (a worker, an import).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Iterator, Sequence
from contextlib import AbstractContextManager, contextmanager
from contextvars import ContextVar
from decimal import Decimal
from functools import wraps
from typing import TYPE_CHECKING, Any

from django.conf import settings
from django.db import transaction
from django.db.models import Max
from django.dispatch import Signal
from django.utils import timezone
from django.utils.translation import gettext as _

from otklik.cases.choices import (
    ASSIGNMENT_ACTIVE,
    ASSIGNMENT_TRANSITIONS,
    INCIDENT_TRANSITIONS,
    REOPENABLE_STATUSES,
    AssignmentRole,
    AssignmentStatus,
    EventVerb,
    IncidentStatus,
    NoAnswerReason,
    ReworkCriterion,
)
from otklik.cases.models import Assignment, Attachment, Event, Incident, ReworkComment, channels_value
from otklik.core.collecting import collecting
from otklik.core.errors import DomainError, IllegalTransition, NotAllowed
from otklik.core.permissions import ensure_assignment_actor, ensure_service
from otklik.core.worktime import add_working_hours
from otklik.sla import hooks as sla_hooks

if TYPE_CHECKING:
    from django.core.files.uploadedfile import UploadedFile

    from otklik.accounts.models import User
    from otklik.intake.models import Post
    from otklik.org.models import Department, RoutingRule, Topic, TopicGroup

S = IncidentStatus
A = AssignmentStatus

ROUTABLE_STATUSES = frozenset({S.NEW, S.TRIAGE, S.ROUTED, S.ANSWERING})


# --- helpers ----------------------------------------------------------------------------------------------

REFRESH_BATCH = 1000


def refresh_from_posts(incident_ids: Iterable[int | None]) -> None:
    """Recompute what these incidents keep of their posts — `Incident.channels` (their sources) and
    `Incident.last_post_at` — from the posts (call it inside the transaction that moved the posts). The incidents
    are locked first, so the posts are read after any other transaction moving posts of theirs has committed; rows
    already right are not written."""
    from otklik.intake.models import Post  # noqa: PLC0415 - app boundary

    ids = sorted({pk for pk in incident_ids if pk is not None})
    for start in range(0, len(ids), REFRESH_BATCH):
        chunk = ids[start : start + REFRESH_BATCH]
        locked = list(
            Incident.objects.select_for_update()
            .filter(pk__in=chunk)
            .order_by("pk")
            .values_list("pk", "channels", "last_post_at")
        )
        codes: dict[int, set[str]] = {pk: set() for pk, _channels, _last in locked}
        last: dict[int, dt.datetime | None] = dict.fromkeys(codes)
        rows = (
            Post.objects.filter(incident_id__in=codes)
            .order_by()
            .values_list("incident_id", "source__channel")
            .annotate(latest=Max("posted_at"))
        )
        for incident_id, channel, latest in rows:
            codes[incident_id].add(channel)
            seen = last[incident_id]
            last[incident_id] = latest if seen is None else max(seen, latest)
        by_value: dict[str, list[int]] = {}
        for pk, found in codes.items():
            by_value.setdefault(channels_value(found), []).append(pk)
        for value, pks in by_value.items():
            Incident.objects.filter(pk__in=pks).exclude(channels=value).update(channels=value)
        for pk, _channels, last_post_at in locked:
            if last[pk] != last_post_at:
                Incident.objects.filter(pk=pk).update(last_post_at=last[pk])


def record_event(
    incident: Incident,
    verb: str,
    *,
    actor: User | None = None,
    before: dict[str, Any] | None = None,
    after: dict[str, Any] | None = None,
    message: str = "",
    assignment: Assignment | None = None,
    at: dt.datetime | None = None,
) -> Event:
    event = Event(
        created_at=at or timezone.now(),
        incident=incident,
        assignment=assignment,
        actor=actor,
        verb=verb,
        before=before or {},
        after=after or {},
        message=message,
    )
    deferred = _deferred_events.get()
    if deferred is not None:
        deferred.append(event)  # inserted with the others at the end of the block (see deferring_events)
        return event
    event.save(force_insert=True)
    return event


# The events recorded inside a `deferring_events` block, in the order recorded.
_deferred_events: ContextVar[list[Event] | None] = ContextVar("otklik_deferred_events", default=None)


def deferring_events() -> AbstractContextManager[None]:
    """Inside the block `record_event` collects the events instead of inserting each one: they are inserted in one
    statement (bulk_create, in the order recorded, with the times they were recorded at) when the block ends
    without an error — or handed to an enclosing block, which inserts them when it ends. An error drops them (the
    caller rolls its transaction or savepoint back with them). The events' ids are set only then: for callers that
    do not read the events they record back (the worker's analysis of a batch of posts) inside the block."""
    return collecting(_deferred_events, _insert_events)


# Sent with `events` (a list) after `deferring_events` inserted them: bulk_create sends no `post_save`.
events_inserted = Signal()


def _insert_events(events: list[Event]) -> None:
    Event.objects.bulk_create(events)
    events_inserted.send(sender=Event, events=events)


def check_incident_transition(incident: Incident, to: str) -> None:
    if to not in INCIDENT_TRANSITIONS[incident.status]:
        raise IllegalTransition(
            _("An incident in status «%(from)s» cannot go to «%(to)s».")
            % {"from": S(incident.status).label, "to": S(to).label}
        )


def _set_status(
    incident: Incident,
    to: str,
    *,
    actor: User | None,
    note: str = "",
    extra_fields: Sequence[str] = (),
    verb: str = EventVerb.STATUS,
    after_extra: dict[str, Any] | None = None,
) -> None:
    """Move `incident` to `to` (validated against the table), save, and record the event."""
    check_incident_transition(incident, to)
    before = incident.status
    incident.status = to
    incident.status_note = note
    _save_incident(incident, ["status", "status_note", "updated_at", *extra_fields])
    record_event(
        incident,
        verb,
        actor=actor,
        before={"status": before},
        after={"status": to, **(after_extra or {})},
        message=note,
    )


def check_assignment_transition(assignment: Assignment, to: str) -> None:
    if to not in ASSIGNMENT_TRANSITIONS[assignment.status]:
        raise IllegalTransition(
            _("An assignment in status «%(from)s» cannot go to «%(to)s».")
            % {"from": A(assignment.status).label, "to": A(to).label}
        )


def _lock_incident(incident: Incident) -> Incident:
    """Re-read the incident under a row lock (PostgreSQL) so that concurrent actions see each other; the very
    instance a caller holds locked (`holding_incident`) is used as it is."""
    held = _held.get()
    if held is not None and held.get(incident.pk) is incident:
        return incident
    return Incident.objects.select_for_update().get(pk=incident.pk)


# incident id → the instance a caller holds under its row lock in the current transaction (see holding_incident).
_held: ContextVar[dict[int, Incident] | None] = ContextVar("otklik_held_incidents", default=None)


@contextmanager
def holding_incident(incident: Incident, *, one_update: bool = False) -> Iterator[Incident]:
    """Inside the block, the services take `incident` (this instance, read with select_for_update in the current
    transaction by the caller) as locked and fresh, instead of reading it again: the worker's analysis of a post
    calls several services on one incident in one transaction. Every change inside goes through this instance
    (the services return it), so it stays the row's current state.

    `one_update`: the services' saves of the incident's own fields (`_save_incident`) are gathered and written by
    one UPDATE when the block ends without an error (classify, place and route: one statement, not three). Inside
    the block the row keeps its old values; only for a caller whose queries inside do not read the incident's own
    row back (the analysis: its duplicate search and routing read other rows and the instance)."""
    if not transaction.get_connection().in_atomic_block:
        raise RuntimeError("holding_incident needs the transaction that locked the incident")
    held = dict(_held.get() or {})
    held[incident.pk] = incident
    token = _held.set(held)
    pending: set[str] = set()
    pending_token = None
    if one_update:
        gathered = dict(_gathered_saves.get() or {})
        gathered[incident.pk] = pending
        pending_token = _gathered_saves.set(gathered)
    try:
        yield incident
    finally:
        _held.reset(token)
        if pending_token is not None:
            _gathered_saves.reset(pending_token)
    if pending:
        incident.save(update_fields=sorted(pending))


# incident id → the fields its services changed inside `holding_incident(..., one_update=True)`, saved at its end.
_gathered_saves: ContextVar[dict[int, set[str]] | None] = ContextVar("otklik_gathered_saves", default=None)


def _save_incident(incident: Incident, fields: Iterable[str]) -> None:
    """`incident.save(update_fields=fields)`, or, for the instance held with `one_update`, the fields gathered for
    the block's one UPDATE."""
    gathered = _gathered_saves.get()
    pending = gathered.get(incident.pk) if gathered is not None else None
    if pending is not None and is_held(incident):
        pending.update(fields)
        return
    incident.save(update_fields=list(fields))


def is_held(incident: Incident) -> bool:
    """Whether this very instance is held locked by the caller (`holding_incident`)."""
    held = _held.get()
    return held is not None and held.get(incident.pk) is incident


def _atomic_service(func: Any) -> Any:
    """`transaction.atomic` for a service whose first argument is an incident — without a savepoint of its own
    when that incident is held (`holding_incident`): the holder's transaction (the worker's per-post savepoint)
    is the unit that an error rolls back, so the nested savepoint (two statements per service call) is waste."""
    plain = transaction.atomic(func)
    lean = transaction.atomic(savepoint=False)(func)

    @wraps(func)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        incident = args[0] if args else None
        pk = getattr(incident, "pk", None)
        held = _held.get()
        if held is not None and pk is not None and held.get(pk) is incident:
            return lean(*args, **kwargs)
        return plain(*args, **kwargs)

    return wrapper


def _lock_assignment(assignment: Assignment) -> Assignment:
    return Assignment.objects.select_for_update().select_related("incident").get(pk=assignment.pk)


def _require_text(value: str, field: str, message: str) -> str:
    value = (value or "").strip()
    if not value:
        raise DomainError(message, field=field)
    return value


def answer_due_at(start: dt.datetime, priority: bool) -> dt.datetime:
    hours = settings.OTKLIK_ANSWER_HOURS_PRIORITY if priority else settings.OTKLIK_ANSWER_HOURS
    return add_working_hours(start, hours)


# --- creation and classification --------------------------------------------------------------------------


def create_incident(
    *,
    created_at: dt.datetime | None = None,
    actor: User | None = None,
    channels: str = "",
    last_post_at: dt.datetime | None = None,
) -> Incident:
    """A new incident for a new post (called by intake inside its transaction); `channels` and `last_post_at`: its
    post's (`channels_value`, the time it was written), when the post comes with it."""
    now = created_at or timezone.now()
    incident = Incident.objects.create(
        status=S.NEW,
        created_at=now,
        due_at=answer_due_at(now, False),
        channels=channels,
        last_post_at=last_post_at,
    )
    record_event(incident, EventVerb.CREATED, actor=actor, after={"status": S.NEW}, at=now)
    sla_hooks.incident_created(incident)
    return incident


@_atomic_service
def do_classify(
    incident: Incident,
    *,
    topic: Topic | None,
    group: TopicGroup | None = None,
    confidence: float | None = None,
    actor: User | None = None,
) -> Incident:
    """Set topic, group, priority (★) and confidence; a ★ topic tightens the answer deadline."""
    ensure_service(actor)
    incident = _lock_incident(incident)
    before = _classification(incident)
    incident.topic = topic
    incident.group = topic.group if topic is not None else group
    incident.priority = bool(topic and topic.priority)
    incident.confidence = confidence
    fields = ["topic", "group", "priority", "confidence", "updated_at"]
    _save_incident(incident, fields)
    record_event(incident, EventVerb.CLASSIFIED, actor=actor, before=before, after=_classification(incident))
    if incident.is_open:
        sla_hooks.incident_classified(incident)  # a ★ topic or another policy changes the answer deadline
    if actor is not None:
        from otklik.nlp.labels import record_topic

        record_topic(incident, actor=actor, before=before)
    return incident


@transaction.atomic
def do_set_post_kind(post: Post, *, kind: str, actor: User | None) -> Post:
    """Correct the kind of a post (complaint, question, …, abusive, spam); an operator's choice is a label."""
    from otklik.intake.choices import PostKind
    from otklik.intake.models import Post

    ensure_service(actor)
    if kind not in PostKind.values:
        raise DomainError(_("Choose the kind of the post."), field="kind")
    post = Post.objects.select_for_update().get(pk=post.pk)
    previous = post.kind
    if previous == kind:
        return post
    post.kind = kind
    post.save(update_fields=["kind"])
    if post.incident_id is not None:
        record_event(
            Incident.objects.get(pk=post.incident_id),
            EventVerb.UPDATED,
            actor=actor,
            before={"post": post.pk, "kind": previous or None},
            after={"post": post.pk, "kind": kind},
        )
    if actor is not None:
        from otklik.nlp.labels import record_kind

        record_kind(post, kind=kind, previous=previous, actor=actor)
    return post


def _classification(incident: Incident) -> dict[str, Any]:
    return {
        "topic": incident.topic.name if incident.topic_id and incident.topic else None,
        "group": incident.group.name if incident.group_id and incident.group else None,
        "priority": incident.priority,
        "confidence": incident.confidence,
    }


EDITABLE_FIELDS = frozenset({"address", "territory", "priority"})


@_atomic_service
def do_update_incident(incident: Incident, *, actor: User | None, **changes: Any) -> Incident:
    """Edit address, territory or priority; records the values before and after."""
    ensure_service(actor)
    unknown = set(changes) - EDITABLE_FIELDS
    if unknown:
        raise DomainError(_("These fields cannot be edited: %s") % ", ".join(sorted(unknown)))
    incident = _lock_incident(incident)
    before: dict[str, Any] = {}
    after: dict[str, Any] = {}
    for field, value in changes.items():
        old = getattr(incident, field)
        if old != value:
            before[field] = str(old) if old is not None else None
            after[field] = str(value) if value is not None else None
            setattr(incident, field, value)
    if after:
        _save_incident(incident, [*changes.keys(), "updated_at"])
        record_event(incident, EventVerb.UPDATED, actor=actor, before=before, after=after)
    return incident


@transaction.atomic
def do_take(incident: Incident, *, actor: User) -> Incident:
    """The operator takes the incident: becomes its owner."""
    ensure_service(actor)
    incident = _lock_incident(incident)
    before = incident.owner.username if incident.owner else None
    incident.owner = actor
    incident.save(update_fields=["owner", "updated_at"])
    record_event(incident, EventVerb.TAKEN, actor=actor, before={"owner": before}, after={"owner": actor.username})
    return incident


@_atomic_service
def do_send_to_triage(incident: Incident, *, actor: User | None, note: str = "") -> Incident:
    ensure_service(actor)
    incident = _lock_incident(incident)
    _set_status(incident, S.TRIAGE, actor=actor, note=note)
    return incident


# --- routing ------------------------------------------------------------------------------------------------


@_atomic_service
def do_route(
    incident: Incident,
    *,
    actor: User | None,
    lead: Department,
    co_executors: Iterable[Department] = (),
    due_hours: float | Decimal | None = None,
    due_at: dt.datetime | None = None,
    request: str = "",
    rule: RoutingRule | None = None,
) -> list[Assignment]:
    """Send the incident to a lead department and co-executors; one assignment with a due time each.

    1. Check the incident can be routed (new, triage, routed, answering).
    2. Cancel active assignments of departments no longer involved; keep the others (their role may change).
    3. Create an assignment for each newly involved department and notify it after commit.
    4. The incident waits for departments: status `routed`, lead department set.
    """
    ensure_service(actor)
    incident = _lock_incident(incident)
    if incident.status not in ROUTABLE_STATUSES:
        check_incident_transition(incident, S.ROUTED)
    co_list = [d for d in dict.fromkeys(co_executors) if d.pk != lead.pk]
    wanted = {lead.pk: AssignmentRole.LEAD, **{d.pk: AssignmentRole.CO for d in co_list}}
    if not lead.is_active or any(not d.is_active for d in co_list):
        raise DomainError(_("A department that is no longer active cannot receive assignments."), field="lead")
    now = timezone.now()
    if due_at is None:
        hours = float(due_hours) if due_hours is not None else settings.OTKLIK_ASSIGNMENT_HOURS
        due_at = add_working_hours(now, hours)
    elif due_at <= now:
        raise DomainError(_("The due time must be in the future."), field="due_at")

    # A `new` incident was never routed (assignments are created here only, in the transaction that makes it
    # `routed`, and no status leads back to `new`): it has no assignments to look for.
    existing = (
        {}
        if incident.status == S.NEW
        else {a.department_id: a for a in incident.assignments.filter(status__in=ASSIGNMENT_ACTIVE)}
    )
    for dept_id, assignment in existing.items():
        if dept_id not in wanted:
            _cancel_assignment(assignment, actor=actor, reason=_("The incident was routed again."))
        elif assignment.role != wanted[dept_id]:
            assignment.role = wanted[dept_id]
            assignment.save(update_fields=["role", "updated_at"])

    created = [
        Assignment(
            incident=incident, department=dept, role=wanted[dept.pk], due_at=due_at, request=request, created_at=now
        )
        for dept in [lead, *co_list]
        if dept.pk not in existing
    ]
    _insert_assignments(created)
    for assignment in created:
        sla_hooks.assignment_started(assignment, new=True)

    before = {
        "status": incident.status,
        "lead_department": incident.lead_department.name if incident.lead_department else None,
    }
    incident.lead_department = lead
    incident.routing_rule = rule
    if incident.status != S.ROUTED:
        check_incident_transition(incident, S.ROUTED)
    incident.status = S.ROUTED
    incident.status_note = ""
    _save_incident(incident, ["lead_department", "routing_rule", "status", "status_note", "updated_at"])
    record_event(
        incident,
        EventVerb.ROUTED,
        actor=actor,
        before=before,
        after={
            "status": S.ROUTED,
            "lead_department": lead.name,
            "co_executors": [d.name for d in co_list],
            "rule": rule.name if rule else None,
            "due_at": due_at.isoformat(),
        },
    )
    from otklik.notifications.services import notify_new_assignments

    if created:
        notify_new_assignments(created)
    return created


def _insert_assignments(assignments: list[Assignment]) -> None:
    """Insert new assignments: in one statement when there are several and no save of theirs would be recorded by
    the security log (the system routes: the worker), else one by one through `save()` (a person routes: each
    creation is recorded)."""
    from django.db import connection

    from otklik.audit.signals import records_saves_of

    if (
        len(assignments) > 1
        and connection.features.can_return_rows_from_bulk_insert
        and not records_saves_of(Assignment)
    ):
        Assignment.objects.bulk_create(assignments)
        return
    for assignment in assignments:
        assignment.save(force_insert=True)


def _cancel_assignment(assignment: Assignment, *, actor: User | None, reason: str) -> None:
    check_assignment_transition(assignment, A.CANCELLED)
    assignment.status = A.CANCELLED
    assignment.save(update_fields=["status", "updated_at"])
    sla_hooks.assignment_cancelled(assignment)
    record_event(
        assignment.incident,
        EventVerb.ASSIGNMENT_CANCELLED,
        actor=actor,
        assignment=assignment,
        after={"department": assignment.department.name},
        message=reason,
    )


@transaction.atomic
def do_cancel_assignment(assignment: Assignment, *, actor: User | None, reason: str) -> Assignment:
    ensure_service(actor)
    assignment = _lock_assignment(assignment)
    _cancel_assignment(assignment, actor=actor, reason=reason)
    _advance_if_information_complete(assignment.incident, actor=actor)
    return assignment


# --- the department's side ---------------------------------------------------------------------------------


@transaction.atomic
def do_assign_executor(assignment: Assignment, *, actor: User | None, assignee: User | None) -> Assignment:
    """A department head (or the service) gives the assignment to one executor of the department, or to all."""
    from otklik.accounts.choices import DEPARTMENT_ROLES, Role

    is_head_of_department = actor is not None and (
        actor.role == Role.DEPT_HEAD and actor.department_id == assignment.department_id
    )
    if actor is not None and not actor.is_service and not is_head_of_department:
        raise NotAllowed(_("Only the head of the department can reassign its assignments."))
    if assignee is not None and (
        assignee.department_id != assignment.department_id or assignee.role not in DEPARTMENT_ROLES
    ):
        raise DomainError(_("The executor must belong to the assignment's department."), field="assignee")
    assignment = _lock_assignment(assignment)
    if assignment.status not in ASSIGNMENT_ACTIVE:
        raise IllegalTransition(_("A finished assignment cannot be reassigned."))
    before = assignment.assignee.username if assignment.assignee else None
    assignment.assignee = assignee
    assignment.save(update_fields=["assignee", "updated_at"])
    record_event(
        assignment.incident,
        EventVerb.REASSIGNED,
        actor=actor,
        assignment=assignment,
        before={"assignee": before},
        after={"assignee": assignee.username if assignee else None},
    )
    if assignee is not None:
        from otklik.notifications.services import notify_assigned_to_executor

        notify_assigned_to_executor(assignment)
    return assignment


@transaction.atomic
def do_submit_information(
    assignment: Assignment,
    *,
    actor: User | None,
    text: str,
    files: Sequence[UploadedFile] = (),
) -> Assignment:
    """The department sends the information the answer needs (text and attachments)."""
    ensure_assignment_actor(actor, assignment)
    assignment = _lock_assignment(assignment)
    text = _require_text(text, "information", _("Write the information for the answer."))
    check_assignment_transition(assignment, A.SUBMITTED)
    assignment.status = A.SUBMITTED
    assignment.information = text
    assignment.submitted_by = actor
    assignment.submitted_at = timezone.now()
    assignment.save(update_fields=["status", "information", "submitted_by", "submitted_at", "updated_at"])
    sla_hooks.assignment_answered(assignment)
    for f in files:
        Attachment.objects.create(
            assignment=assignment,
            file=f,
            name=f.name or "file",
            content_type=getattr(f, "content_type", "") or "",
            size=f.size or 0,
            uploaded_by=actor,
        )
    record_event(
        assignment.incident,
        EventVerb.INFO_SUBMITTED,
        actor=actor,
        assignment=assignment,
        after={"department": assignment.department.name, "attachments": len(files)},
        message=text,
    )
    from otklik.notifications.services import notify_information_submitted

    notify_information_submitted(assignment)
    return assignment


@transaction.atomic
def do_decline(assignment: Assignment, *, actor: User | None, reason: str) -> Assignment:
    """ "Not our competence": the assignment ends; a declined lead sends the incident back to triage."""
    ensure_assignment_actor(actor, assignment)
    assignment = _lock_assignment(assignment)
    reason = _require_text(reason, "reason", _("Say why this is not your department's competence."))
    check_assignment_transition(assignment, A.DECLINED)
    assignment.status = A.DECLINED
    assignment.decline_reason = reason
    assignment.save(update_fields=["status", "decline_reason", "updated_at"])
    sla_hooks.assignment_answered(assignment)
    incident = _lock_incident(assignment.incident)
    record_event(
        incident,
        EventVerb.DECLINED,
        actor=actor,
        assignment=assignment,
        after={"department": assignment.department.name},
        message=reason,
    )
    from otklik.notifications.services import notify_declined

    notify_declined(assignment)
    if assignment.role == AssignmentRole.LEAD and incident.status in {S.ROUTED, S.ANSWERING}:
        incident.lead_department = None
        incident.save(update_fields=["lead_department", "updated_at"])
        _set_status(incident, S.TRIAGE, actor=actor, note=reason)
    else:
        _advance_if_information_complete(incident, actor=actor)
    return assignment


# --- the service checks the information --------------------------------------------------------------------


@transaction.atomic
def do_accept_information(assignment: Assignment, *, actor: User | None) -> Assignment:
    ensure_service(actor)
    assignment = _lock_assignment(assignment)
    check_assignment_transition(assignment, A.ACCEPTED)
    assignment.status = A.ACCEPTED
    assignment.accepted_at = timezone.now()
    assignment.save(update_fields=["status", "accepted_at", "updated_at"])
    record_event(
        assignment.incident,
        EventVerb.INFO_ACCEPTED,
        actor=actor,
        assignment=assignment,
        after={"department": assignment.department.name},
    )
    _advance_if_information_complete(assignment.incident, actor=actor)
    return assignment


@transaction.atomic
def do_return_for_rework(
    assignment: Assignment, *, actor: User | None, comment: str, criteria: Sequence[str] = ()
) -> Assignment:
    """Return the department's information with a comment and the criteria it fails (ReworkCriterion); the
    department is notified; the rework has its own clock."""
    ensure_service(actor)
    assignment = _lock_assignment(assignment)
    comment = _require_text(comment, "comment", _("Say what must be corrected."))
    criteria = list(dict.fromkeys(criteria))
    unknown = [c for c in criteria if c not in ReworkCriterion.values]
    if unknown:
        raise DomainError(_("Unknown rework criteria: %(codes)s.") % {"codes": ", ".join(unknown)}, field="criteria")
    check_assignment_transition(assignment, A.REWORK)
    assignment.status = A.REWORK
    assignment.accepted_at = None
    assignment.save(update_fields=["status", "accepted_at", "updated_at"])
    sla_hooks.assignment_rework(assignment)
    ReworkComment.objects.create(assignment=assignment, author=actor, text=comment, criteria=criteria)
    incident = _lock_incident(assignment.incident)
    record_event(
        incident,
        EventVerb.INFO_REWORK,
        actor=actor,
        assignment=assignment,
        after={"department": assignment.department.name},
        message=comment,
    )
    if incident.status == S.ANSWERING:
        _set_status(incident, S.ROUTED, actor=actor, note=comment)
    from otklik.notifications.services import notify_rework

    notify_rework(assignment, comment)
    return assignment


def _advance_if_information_complete(incident: Incident, *, actor: User | None) -> None:
    """All active assignments accepted (and a lead among them) → the answer can be prepared."""
    incident.refresh_from_db(fields=["status"])
    if incident.status != S.ROUTED:
        return
    active = list(incident.assignments.filter(status__in=ASSIGNMENT_ACTIVE).values_list("status", "role"))
    if (
        active
        and all(status == A.ACCEPTED for status, _role in active)
        and any(role == AssignmentRole.LEAD for _status, role in active)
    ):
        _set_status(incident, S.ANSWERING, actor=actor, note=_("All requested information is accepted."))


# --- waiting for the citizen ----------------------------------------------------------------------------


@transaction.atomic
def do_wait_for_citizen(incident: Incident, *, actor: User | None, note: str) -> Incident:
    """The service asked the author a question (an address, a detail): the deadlines pause until the reply."""
    ensure_service(actor)
    note = _require_text(note, "note", _("Say what the citizen was asked."))
    incident = _lock_incident(incident)
    if not incident.is_open or incident.status == S.APPROVAL:
        raise IllegalTransition(_("Only an incident in work can wait for the citizen."))
    if incident.waiting_since is not None:
        raise IllegalTransition(_("The incident already waits for the citizen."))
    incident.waiting_since = timezone.now()
    incident.save(update_fields=["waiting_since", "updated_at"])
    sla_hooks.incident_waiting(incident)
    record_event(incident, EventVerb.WAITING, actor=actor, message=note)
    return incident


@transaction.atomic
def do_stop_waiting(incident: Incident, *, actor: User | None, note: str = "") -> Incident:
    """The citizen replied (a post in the thread: actor None), or the operator stops waiting: the deadlines run
    again, moved by the time waited. Nothing happens when the incident does not wait."""
    if actor is not None:
        ensure_service(actor)
    incident = _lock_incident(incident)
    if incident.waiting_since is None:
        return incident
    waited = timezone.now() - incident.waiting_since
    incident.waiting_since = None
    incident.save(update_fields=["waiting_since", "updated_at"])
    sla_hooks.incident_resumed(incident)
    record_event(
        incident,
        EventVerb.WAITING_ENDED,
        actor=actor,
        after={"waited_minutes": int(waited.total_seconds() // 60)},
        message=note,
    )
    return incident


# --- ending, merging, reopening ----------------------------------------------------------------------------


@_atomic_service
def do_mark_no_answer(incident: Incident, *, actor: User | None, reason: str, note: str = "") -> Incident:
    """No answer is needed (insults, spam, closed profile, not municipal); open assignments are cancelled."""
    ensure_service(actor)
    if reason not in NoAnswerReason.values:
        raise DomainError(_("Choose a reason why no answer is needed."), field="reason")
    if reason == NoAnswerReason.OTHER and not note.strip():
        raise DomainError(_("Describe the reason."), field="note")
    incident = _lock_incident(incident)
    check_incident_transition(incident, S.NO_ANSWER)
    for assignment in incident.assignments.filter(status__in=ASSIGNMENT_ACTIVE).select_related("department"):
        _cancel_assignment(assignment, actor=actor, reason=_("No answer is needed."))
    incident.no_answer_reason = reason
    judged = sla_hooks.incident_ended(incident, saved_by_caller=True)  # saved with the status: one UPDATE
    _set_status(
        incident,
        S.NO_ANSWER,
        actor=actor,
        note=note or str(NoAnswerReason(reason).label),
        extra_fields=["no_answer_reason", *judged],
        verb=EventVerb.NO_ANSWER,
    )
    if actor is not None:
        from otklik.nlp.labels import record_no_answer

        record_no_answer(incident, reason=reason, actor=actor)
    return incident


@transaction.atomic
def do_restore(incident: Incident, *, actor: User | None, note: str) -> Incident:
    """Bring an incident marked "no answer" back to triage."""
    ensure_service(actor)
    note = _require_text(note, "note", _("Say why the incident is returned to work."))
    incident = _lock_incident(incident)
    check_incident_transition(incident, S.TRIAGE)
    if incident.status != S.NO_ANSWER:
        raise IllegalTransition(_("Only an incident that needs no answer can be returned this way."))
    previous_reason = incident.no_answer_reason
    incident.no_answer_reason = ""
    _set_status(incident, S.TRIAGE, actor=actor, note=note, extra_fields=["no_answer_reason"], verb=EventVerb.RESTORED)
    sla_hooks.incident_reopened(incident)
    if actor is not None:
        from otklik.nlp.labels import record_restore

        record_restore(incident, previous_reason=previous_reason, actor=actor)
    return incident


@_atomic_service
def do_merge(
    incident: Incident, *, into: Incident, actor: User | None, note: str = "", post_ids: Sequence[int] | None = None
) -> Incident:
    """Merge `incident` into `into`: its posts move there; it gets status `merged` and `merged_into`. `post_ids`:
    the incident's posts, when the caller read them under the incident's lock (they cannot have changed since)."""
    ensure_service(actor)
    if incident.pk == into.pk:
        raise DomainError(_("An incident cannot be merged into itself."), field="into")
    incident = _lock_incident(incident)
    into = _lock_incident(into)
    if into.status == S.MERGED:
        raise DomainError(_("Incident #%(id)s is itself merged; choose the one it was merged into.") % {"id": into.pk})
    check_incident_transition(incident, S.MERGED)
    post_ids = list(incident.posts.values_list("pk", flat=True)) if post_ids is None else list(post_ids)
    incident.posts.update(incident=into)
    # Both incidents are locked and their `channels` and `last_post_at` exact (every move of posts keeps them so
    # under the lock): the target's become the union / the later of the two, the merged one's none (it keeps no
    # post); no need to read the posts.
    union = channels_value([*into.channels.split(","), *incident.channels.split(",")])
    latest = max((t for t in (into.last_post_at, incident.last_post_at) if t is not None), default=None)
    if (union, latest) != (into.channels, into.last_post_at):
        Incident.objects.filter(pk=into.pk).update(channels=union, last_post_at=latest)
        into.channels, into.last_post_at = union, latest
    incident.channels, incident.last_post_at = "", None
    if incident.status != S.NEW:  # a `new` incident has no assignments (see do_route)
        for assignment in incident.assignments.filter(status__in=ASSIGNMENT_ACTIVE).select_related("department"):
            _cancel_assignment(assignment, actor=actor, reason=_("Merged into #%(id)s.") % {"id": into.pk})
    incident.merged_into = into
    # Incidents merged into this one earlier follow their posts: `merged_into` always names a live incident.
    Incident.objects.filter(merged_into=incident, status=S.MERGED).update(merged_into=into)
    judged = sla_hooks.incident_ended(incident, saved_by_caller=True)  # saved with the status: one UPDATE
    _set_status(
        incident,
        S.MERGED,
        actor=actor,
        note=note,
        extra_fields=["merged_into", "channels", "last_post_at", *judged],
        verb=EventVerb.MERGED,
        after_extra={"merged_into": into.pk, "post_ids": post_ids},
    )
    record_event(into, EventVerb.ABSORBED, actor=actor, after={"incident": incident.pk, "post_ids": post_ids})
    if actor is not None:
        from otklik.nlp.labels import record_merge

        record_merge(incident, into=into, post_ids=post_ids, actor=actor)
    return incident


@transaction.atomic
def do_split(incident: Incident, *, post_ids: Sequence[int], actor: User | None, note: str = "") -> Incident:
    """Move some posts of `incident` to a new incident in triage (they are about another problem)."""
    ensure_service(actor)
    incident = _lock_incident(incident)
    posts = incident.posts.filter(pk__in=post_ids)
    found = set(posts.values_list("pk", flat=True))
    if not found or found != set(post_ids):
        raise DomainError(_("Choose posts of this incident to split off."), field="post_ids")
    if incident.posts.exclude(pk__in=found).count() == 0:
        raise DomainError(_("At least one post must stay in the incident."), field="post_ids")
    new = create_incident(actor=actor)
    posts.update(incident=new)
    refresh_from_posts([incident.pk, new.pk])
    _set_status(new, S.TRIAGE, actor=actor, note=note)
    record_event(incident, EventVerb.SPLIT, actor=actor, after={"incident": new.pk, "post_ids": sorted(found)})
    if actor is not None:
        from otklik.nlp.labels import record_split

        record_split(new, from_incident_id=incident.pk, post_ids=sorted(found), actor=actor)
    return new


@transaction.atomic
def do_unmerge(incident: Incident, *, actor: User | None, note: str = "") -> Incident:
    """Undo a merge: the posts that came from `incident` go back to it, and it returns to triage."""
    ensure_service(actor)
    incident = _lock_incident(incident)
    if incident.status != S.MERGED or incident.merged_into_id is None:
        raise IllegalTransition(_("Only a merged incident can be separated again."))
    event = Event.objects.filter(incident=incident, verb=EventVerb.MERGED).order_by("-pk").first()
    post_ids = (event.after.get("post_ids") if event else None) or []
    from otklik.intake.models import Post

    Post.objects.filter(pk__in=post_ids, incident_id=incident.merged_into_id).update(incident=incident)
    target_id = incident.merged_into_id
    refresh_from_posts([incident.pk, target_id])
    incident.merged_into = None
    _set_status(incident, S.TRIAGE, actor=actor, note=note, extra_fields=["merged_into"], verb=EventVerb.SPLIT)
    sla_hooks.incident_reopened(incident)
    record_event(Incident.objects.get(pk=target_id), EventVerb.SPLIT, actor=actor, after={"incident": incident.pk})
    if actor is not None:
        from otklik.nlp.labels import record_split

        record_split(incident, from_incident_id=target_id, post_ids=post_ids, actor=actor)
    return incident


@transaction.atomic
def do_close(incident: Incident, *, actor: User | None, note: str = "") -> Incident:
    ensure_service(actor)
    incident = _lock_incident(incident)
    incident.closed_at = timezone.now()
    _set_status(incident, S.CLOSED, actor=actor, note=note, extra_fields=["closed_at"], verb=EventVerb.CLOSED)
    sla_hooks.incident_ended(incident)
    return incident


@transaction.atomic
def do_reopen(incident: Incident, *, actor: User | None, reason: str, to: str = S.ROUTED) -> Incident:
    """Reopen an answered or closed incident (the problem persists); it returns to `routed` or `answering`."""
    ensure_service(actor)
    reason = _require_text(reason, "reason", _("Say why the incident is reopened."))
    if to not in {S.ROUTED, S.ANSWERING}:
        raise DomainError(_("A reopened incident goes back to the departments or to answering."), field="to")
    incident = _lock_incident(incident)
    if incident.status not in REOPENABLE_STATUSES:
        raise IllegalTransition(_("Only an answered or closed incident can be reopened."))
    fields = ["closed_at", "reopened_at"]
    incident.closed_at = None
    incident.reopened_at = timezone.now()
    if to == S.ROUTED:
        # The departments are asked again: accepted information goes back to work.
        for assignment in incident.assignments.filter(status=A.ACCEPTED).select_related("department"):
            assignment.status = A.REWORK
            assignment.accepted_at = None
            assignment.save(update_fields=["status", "accepted_at", "updated_at"])
            sla_hooks.assignment_rework(assignment)
            ReworkComment.objects.create(assignment=assignment, author=actor, text=reason)
            from otklik.notifications.services import notify_rework

            notify_rework(assignment, reason)
    _set_status(incident, to, actor=actor, note=reason, extra_fields=fields, verb=EventVerb.REOPENED)
    sla_hooks.incident_reopened(incident)
    return incident
