"""Extension requests and the acting head of the service (service functions; each writes its record)."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal, InvalidOperation
from typing import TYPE_CHECKING

from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from otklik.accounts.choices import Role
from otklik.core.errors import DomainError, IllegalTransition, NotAllowed
from otklik.core.worktime import get_calendar
from otklik.notifications.choices import NotificationKind
from otklik.sla.choices import EXTENSION_TRANSITIONS, ClockState, ExtensionStatus
from otklik.sla.models import Clock, Delegation, ExtensionRequest

if TYPE_CHECKING:
    from otklik.accounts.models import User

MAX_EXTENSION_HOURS = Decimal("200")


# --- the acting head ------------------------------------------------------------------------------------------


def acting_heads(at: dt.datetime | None = None) -> list[User]:
    """Who acts as the head of the service now: each head, or the person a head delegated the role to for this
    moment (a head with an active delegation is replaced by the acting person)."""
    from otklik.accounts.models import User

    at = at or timezone.now()
    heads = list(User.objects.filter(role=Role.HEAD, is_active=True))
    delegations = {
        d.head_id: d.acting
        for d in Delegation.objects.filter(
            starts_at__lte=at, ends_at__gt=at, revoked_at__isnull=True, acting__is_active=True
        ).select_related("acting")
    }
    out: list[User] = []
    for head in heads:
        person = delegations.get(head.pk, head)
        if person not in out:
            out.append(person)
    return out


def is_delegate(user: User, at: dt.datetime | None = None) -> bool:
    """The user acts as the head of the service now by a delegation."""
    at = at or timezone.now()
    return (
        bool(user.is_authenticated)
        and Delegation.objects.filter(acting=user, starts_at__lte=at, ends_at__gt=at, revoked_at__isnull=True).exists()
    )


def acts_as_head(user: User, at: dt.datetime | None = None) -> bool:
    return user.is_authenticated and any(p.pk == user.pk for p in acting_heads(at))


def do_delegate(
    *, head: User, acting: User, starts_at: dt.datetime, ends_at: dt.datetime, actor: User, reason: str = ""
) -> Delegation:
    if actor.pk != head.pk and actor.role != Role.ADMIN:
        raise NotAllowed(_("Only the head of the service (or an administrator) can delegate the head's role."))
    if head.role != Role.HEAD:
        raise DomainError(_("Only a head of the service can delegate the role."), field="head")
    if acting.pk == head.pk or not acting.is_active or acting.role not in {Role.OPERATOR, Role.HEAD}:
        raise DomainError(_("Choose an active operator of the service to act as the head."), field="acting")
    if ends_at <= starts_at:
        raise DomainError(_("The delegation must end after it starts."), field="ends_at")
    overlapping = Delegation.objects.filter(
        head=head, revoked_at__isnull=True, starts_at__lt=ends_at, ends_at__gt=starts_at
    )
    if overlapping.exists():
        raise DomainError(_("This period overlaps another delegation of the same head."), field="starts_at")
    return Delegation.objects.create(
        head=head, acting=acting, starts_at=starts_at, ends_at=ends_at, reason=reason.strip(), created_by=actor
    )


def do_revoke_delegation(delegation: Delegation, *, actor: User) -> Delegation:
    if actor.pk != delegation.head_id and actor.role != Role.ADMIN:
        raise NotAllowed(_("Only the head who delegated (or an administrator) can revoke it."))
    updated = Delegation.objects.filter(pk=delegation.pk, revoked_at__isnull=True).update(
        revoked_at=timezone.now(), revoked_by=actor
    )
    delegation.refresh_from_db()
    if not updated:
        raise IllegalTransition(_("The delegation was already revoked."))
    return delegation


# --- extensions -----------------------------------------------------------------------------------------------


def _hours(value: object) -> Decimal:
    try:
        hours = Decimal(str(value).replace(",", "."))
    except (InvalidOperation, ValueError) as exc:
        raise DomainError(_("Give the extra time as a number of working hours."), field="hours") from exc
    if not hours.is_finite() or hours <= 0 or hours > MAX_EXTENSION_HOURS:
        raise DomainError(
            _("The extra time must be more than 0 and at most %(max)s working hours.") % {"max": MAX_EXTENSION_HOURS},
            field="hours",
        )
    return hours


def _may_request(clock: Clock, actor: User) -> bool:
    if actor.role in {Role.OPERATOR, Role.HEAD, Role.ADMIN}:
        return True
    assignment = clock.assignment
    return assignment is not None and actor.department_id == assignment.department_id


def do_request_extension(clock: Clock, *, actor: User, hours: object, reason: str) -> ExtensionRequest:
    """Ask for `hours` more working hours on an open clock; the acting head of the service is notified."""
    from otklik.notifications.services import do_notify

    if not _may_request(clock, actor):
        raise NotAllowed(_("You cannot ask for more time on this deadline."))
    if clock.state not in {ClockState.RUNNING, ClockState.PAUSED}:
        raise IllegalTransition(_("The deadline is already closed."))
    reason = (reason or "").strip()
    if not reason:
        raise DomainError(_("Say why more time is needed."), field="reason")
    extra = _hours(hours)
    calendar = get_calendar()
    new_due = (
        clock.due_at + dt.timedelta(hours=float(extra))
        if clock.calendar_time
        else calendar.add(clock.due_at, float(extra))
    )
    try:
        with transaction.atomic():
            request = ExtensionRequest.objects.create(
                clock=clock,
                requested_by=actor,
                reason=reason,
                hours=extra,
                old_due_at=clock.due_at,
                new_due_at=new_due,
            )
    except IntegrityError as exc:
        raise DomainError(_("An extension of this deadline is already waiting for a decision.")) from exc
    do_notify(
        acting_heads(),
        kind=NotificationKind.GENERIC,
        title=_("Extension requested: incident #%(id)s, +%(hours)s h") % {"id": clock.incident_id, "hours": extra},
        body=reason,
        url="/extensions/",
        dedup_key=f"extension:{request.pk}",
        incident_id=clock.incident_id,
        assignment_id=clock.assignment_id,
    )
    return request


def do_decide_extension(request: ExtensionRequest, *, actor: User, approve: bool, note: str = "") -> ExtensionRequest:
    """The acting head approves (the clock's due time moves; its notices may fire again) or refuses."""
    from otklik.notifications.services import do_notify

    if not acts_as_head(actor):
        raise NotAllowed(_("Only the head of the service (or the acting head) decides on extensions."))
    to = ExtensionStatus.APPROVED if approve else ExtensionStatus.REFUSED
    note = (note or "").strip()
    if not approve and not note:
        raise DomainError(_("Say why the extension is refused."), field="note")
    with transaction.atomic():
        request = ExtensionRequest.objects.select_for_update().get(pk=request.pk)
        if to not in EXTENSION_TRANSITIONS[request.status]:
            raise IllegalTransition(_("This request was already decided."))
        request.status = to
        request.decided_by = actor
        request.decided_at = timezone.now()
        request.decision_note = note
        request.save(update_fields=["status", "decided_by", "decided_at", "decision_note"])
        if approve:
            _extend(request)
    recipients = [request.requested_by] if request.requested_by else []
    do_notify(
        recipients,
        kind=NotificationKind.GENERIC,
        title=(_("Extension approved: incident #%(id)s") if approve else _("Extension refused: incident #%(id)s"))
        % {"id": request.clock.incident_id},
        body=note,
        dedup_key=f"extension-decided:{request.pk}",
        incident_id=request.clock.incident_id,
        assignment_id=request.clock.assignment_id,
    )
    return request


def _extend(request: ExtensionRequest) -> None:
    """Move the clock's due time by the approved hours; levels now in the future may fire again."""
    from otklik.cases.models import Assignment

    clock = Clock.objects.select_for_update().get(pk=request.clock_id)
    if clock.state not in {ClockState.RUNNING, ClockState.PAUSED}:
        raise IllegalTransition(_("The deadline is already closed."))
    calendar = get_calendar()
    extra = float(request.hours) * 3600
    shift = (
        (lambda moment: moment + dt.timedelta(seconds=extra))
        if clock.calendar_time
        else (lambda moment: calendar.add(moment, dt.timedelta(seconds=extra)))
    )
    now = timezone.now()
    clock.hours = clock.hours + request.hours
    clock.due_at = shift(clock.due_at)
    clock.long_due_at = shift(clock.long_due_at)
    clock.warn_at = shift(clock.warn_at)
    if clock.remaining_seconds is not None:
        clock.remaining_seconds += extra
    for stamp, moment in (
        ("warned_at", clock.warn_at),
        ("overdue_at", clock.due_at),
        ("long_overdue_at", clock.long_due_at),
    ):
        if getattr(clock, stamp) is not None and moment > now:
            setattr(clock, stamp, None)
    clock.save()
    if clock.assignment_id:
        Assignment.objects.filter(pk=clock.assignment_id).update(due_at=clock.due_at)
    else:
        from otklik.sla.hooks import incident_clock_extended

        incident_clock_extended(clock)
