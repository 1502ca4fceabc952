"""Notifications: in the app at once, by e-mail from a Celery task after commit."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from contextlib import AbstractContextManager
from contextvars import ContextVar
from dataclasses import dataclass
from functools import partial
from typing import TYPE_CHECKING

from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from otklik.accounts.choices import DEPARTMENT_ROLES, Role
from otklik.core.collecting import collecting
from otklik.core.rowcache import RowCache
from otklik.notifications.choices import NotificationKind
from otklik.notifications.models import Notification

if TYPE_CHECKING:
    from otklik.accounts.models import User
    from otklik.answers.models import Answer
    from otklik.cases.models import Assignment
    from otklik.org.models import Department


def department_recipients(department: Department) -> list[User]:
    """The active users of the department (read once a minute per process, at once after a user is saved here)."""
    return list(_department_users.get().get(department.pk, ()))


def _load_department_users() -> dict[int, list[User]]:
    from otklik.accounts.models import User

    users: dict[int, list[User]] = {}
    for user in User.objects.filter(department__isnull=False, role__in=DEPARTMENT_ROLES, is_active=True).order_by("pk"):
        users.setdefault(user.department_id, []).append(user)  # type: ignore[arg-type]
    return users


_department_users: RowCache[dict[int, list[User]]] = RowCache(_load_department_users, ["accounts.User"])


def service_recipients(roles: Iterable[str] = (Role.OPERATOR, Role.HEAD)) -> list[User]:
    from otklik.accounts.models import User

    return list(User.objects.filter(role__in=list(roles), is_active=True))


def do_notify(
    recipients: Iterable[User],
    *,
    kind: str,
    title: str,
    body: str = "",
    url: str = "",
    dedup_key: str,
    incident_id: int | None = None,
    assignment_id: int | None = None,
) -> list[Notification]:
    """Create one notification per recipient (idempotent by `dedup_key`) and e-mail each after commit."""
    from otklik.notifications.tasks import send_notification_email

    created: list[Notification] = []
    for user in recipients:
        try:
            with transaction.atomic():
                notification = Notification.objects.create(
                    recipient=user,
                    kind=kind,
                    title=title[:255],
                    body=body,
                    url=url,
                    dedup_key=dedup_key,
                    incident_id=incident_id,
                    assignment_id=assignment_id,
                )
        except IntegrityError:
            continue  # this event already notified this person
        created.append(notification)
        send_notification_email.delay_on_commit(notification.pk)
    return created


# Notifications created together are e-mailed by one task per this many.
EMAIL_BATCH = 100


@dataclass(frozen=True)
class Notice:
    """One notice to several people, for do_notify_many."""

    recipients: Sequence[User]
    kind: str
    title: str
    dedup_key: str
    body: str = ""
    url: str = ""
    incident_id: int | None = None
    assignment_id: int | None = None


def do_notify_many(notices: Iterable[Notice]) -> int:
    """do_notify for many notices at once, by do_notify_bulk: one INSERT for all rows, a person already sent a
    notice (its dedup key exists) skipped, the others created and e-mailed after the commit. Returns how many
    notifications were created."""
    return len(
        do_notify_bulk(
            BulkNotice(
                recipient_ids=[user.pk for user in notice.recipients],
                kind=notice.kind,
                title=notice.title,
                dedup_key=notice.dedup_key,
                body=notice.body,
                url=notice.url,
                incident_id=notice.incident_id,
                assignment_id=notice.assignment_id,
            )
            for notice in notices
        )
    )


@dataclass(frozen=True)
class BulkNotice:
    """One notice to several people given by their ids, for do_notify_bulk (a sweep has ids, not User rows)."""

    recipient_ids: Sequence[int]
    kind: str
    title: str
    dedup_key: str
    body: str = ""
    url: str = ""
    incident_id: int | None = None
    assignment_id: int | None = None


# Columns do_notify_bulk fills from each notice; the other columns get the model's defaults.
_BULK_COLUMNS = ("recipient", "kind", "title", "body", "url", "incident", "assignment", "dedup_key")
# At most this many rows per INSERT statement.
BULK_ROWS = 1000


def do_notify_bulk(notices: Iterable[BulkNotice]) -> list[int]:
    """`_insert_notices` — or, inside a `deferring_notices` block, the notices kept for the block's one INSERT at its
    end (then no id is known yet: an empty list is returned)."""
    deferred = _deferred_notices.get()
    if deferred is not None:
        deferred.extend(notices)
        return []
    return _insert_notices(notices)


# The notices given to do_notify_bulk inside a `deferring_notices` block, in the order given.
_deferred_notices: ContextVar[list[BulkNotice] | None] = ContextVar("otklik_deferred_notices", default=None)


def deferring_notices() -> AbstractContextManager[None]:
    """Inside the block do_notify_bulk collects the notices instead of inserting each call's: they are inserted in
    one statement (`_insert_notices`, e-mailed as it does) when the block ends without an error — or handed to an
    enclosing block. An error drops them (the caller rolls its transaction or savepoint back with what they were
    about). For callers that do not read the notifications back inside the block: the worker's analysis of a batch
    of posts, whose routings notify the departments."""
    return collecting(_deferred_notices, _insert_notices)


def _insert_notices(notices: Iterable[BulkNotice]) -> list[int]:
    """do_notify for thousands of recipients at once (the SLA sweep): the notifications are inserted by
    `INSERT … ON CONFLICT (recipient, dedup_key) DO NOTHING RETURNING id` — on PostgreSQL one statement over
    `unnest` of one array per column, on SQLite (≥ 3.35) a multi-row VALUES per BULK_ROWS rows — so a notice already
    sent to a person (its dedup key exists) is skipped for that person and the others are created. The created
    ones are e-mailed after the commit, by one task per EMAIL_BATCH (enqueue_emails). No model instances, no signals
    (as bulk_create). Returns the ids created."""
    from django.db import connection

    meta = Notification._meta
    fields = {f.name: f for f in meta.concrete_fields if not f.primary_key}
    variable = [fields[name] for name in _BULK_COLUMNS]
    constant = [f for name, f in fields.items() if name not in _BULK_COLUMNS]
    now = timezone.now()
    # The defaults (pending e-mail, created now…) as the backend stores them, computed once for every row.
    tail = tuple(f.get_db_prep_save(now if f.name == "created_at" else f.get_default(), connection) for f in constant)
    rows = [
        (user_id, notice.kind, notice.title[:255], notice.body, notice.url, notice.incident_id,
         notice.assignment_id, notice.dedup_key)
        for notice in notices
        for user_id in notice.recipient_ids
    ]  # fmt: skip
    if not rows:
        return []

    def quote(name: str | None) -> str:
        return connection.ops.quote_name(str(name))

    table, pk = quote(meta.db_table), quote(meta.pk.column)
    columns = ", ".join(quote(f.column) for f in (*variable, *constant))
    conflict = ", ".join(quote(fields[name].column) for name in ("recipient", "dedup_key"))
    created: list[int] = []
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            # One array per column: a dozen parameters, however many rows (the driver parses the statement
            # client-side, and a VALUES list of thousands of placeholders costs more than the INSERT itself).
            arrays = ", ".join(f"%s::{f.db_type(connection)}[]" for f in variable)
            constants = ", ".join(f"%s::{f.db_type(connection)}" for f in constant)
            # Names and types come from the model's metadata; every value goes as a parameter.
            sql = (
                f"INSERT INTO {table} ({columns}) SELECT v.*, {constants} FROM unnest({arrays}) AS v "  # noqa: S608
                f"ON CONFLICT ({conflict}) DO NOTHING RETURNING {pk}"
            )
            cursor.execute(sql, [*tail, *(list(column) for column in zip(*rows, strict=True))])
            created.extend(row[0] for row in cursor.fetchall())
        else:
            width = len(variable) + len(constant)
            placeholder = "(" + ", ".join(["%s"] * width) + ")"
            per_statement = BULK_ROWS
            if connection.features.max_query_params:
                per_statement = max(1, min(BULK_ROWS, connection.features.max_query_params // width))
            for start in range(0, len(rows), per_statement):
                chunk = rows[start : start + per_statement]
                sql = (
                    f"INSERT INTO {table} ({columns}) VALUES "  # noqa: S608
                    + ", ".join([placeholder] * len(chunk))
                    + f" ON CONFLICT ({conflict}) DO NOTHING RETURNING {pk}"
                )
                cursor.execute(sql, [value for row in chunk for value in (*row, *tail)])
                created.extend(row[0] for row in cursor.fetchall())
    enqueue_emails(created)
    return created


# The notification ids collected inside a `coalescing_emails` block.
_coalesced: ContextVar[list[int] | None] = ContextVar("otklik_coalesced_emails", default=None)


def coalescing_emails() -> AbstractContextManager[None]:
    """Inside the block `enqueue_emails` collects the ids instead of publishing a task per call: when the block ends
    without an error they are handed to an enclosing block, or enqueued (after the commit, one task per EMAIL_BATCH).
    An error drops them with the caller's rolled-back notifications. The worker's analysis of a batch of posts uses
    it: the e-mails of the batch's routings are one task, not one per routed post."""
    return collecting(_coalesced, enqueue_emails)


def enqueue_emails(ids: list[int]) -> None:
    """E-mail these notifications after the commit, by one task per EMAIL_BATCH of them."""
    from otklik.notifications.tasks import send_notification_emails

    collecting = _coalesced.get()
    if collecting is not None:
        collecting.extend(ids)
        return
    for start in range(0, len(ids), EMAIL_BATCH):
        # Robust: a broker away at commit must not fail the caller (a sweep whose claims are committed);
        # sweep_unsent_emails sends what was not enqueued.
        transaction.on_commit(partial(send_notification_emails.delay, ids[start : start + EMAIL_BATCH]), robust=True)


def do_mark_read(recipient: User, *, notification_ids: Iterable[int] | None = None) -> int:
    """Mark notifications of `recipient` read: those of `notification_ids`, or all of them when it is None.

    One conditional UPDATE (`read_at` is set only where it is still empty), so marking again changes nothing and
    keeps the first reading time; another user's notifications are never touched. Returns how many became read.
    """
    unread = Notification.objects.filter(recipient=recipient, read_at__isnull=True)
    if notification_ids is not None:
        unread = unread.filter(pk__in=list(notification_ids))
    return unread.update(read_at=timezone.now())


def _assignment_url(assignment: Assignment) -> str:
    return f"/assignments/{assignment.pk}/"


def _new_assignment_notice(assignment: Assignment) -> Notice:
    return Notice(
        recipients=department_recipients(assignment.department),
        kind=NotificationKind.ASSIGNMENT_NEW,
        title=_("New assignment on incident #%(id)s") % {"id": assignment.incident_id},
        body=_("The feedback service asks for information for an answer to a citizen. Due: %(due)s.")
        % {"due": timezone.localtime(assignment.due_at).strftime("%d.%m.%Y %H:%M") if assignment.due_at else "—"},
        url=_assignment_url(assignment),
        dedup_key=f"assignment-new:{assignment.pk}",
        incident_id=assignment.incident_id,
        assignment_id=assignment.pk,
    )


def notify_new_assignments(assignments: Sequence[Assignment]) -> int:
    """The departments of just-created assignments are notified together: one INSERT, one e-mail task (routing
    runs for every incoming post)."""
    return do_notify_many(_new_assignment_notice(a) for a in assignments)


def notify_rework(assignment: Assignment, comment: str) -> list[Notification]:
    count = assignment.rework_comments.count()
    return do_notify(
        department_recipients(assignment.department),
        kind=NotificationKind.ASSIGNMENT_REWORK,
        title=_("Information on incident #%(id)s returned for rework") % {"id": assignment.incident_id},
        body=comment,
        url=_assignment_url(assignment),
        dedup_key=f"assignment-rework:{assignment.pk}:{count}",
        incident_id=assignment.incident_id,
        assignment_id=assignment.pk,
    )


def _incident_watchers(assignment: Assignment) -> list[User]:
    owner = assignment.incident.owner
    return [owner] if owner is not None else service_recipients((Role.OPERATOR,))


def notify_information_submitted(assignment: Assignment) -> list[Notification]:
    return do_notify(
        _incident_watchers(assignment),
        kind=NotificationKind.INFO_SUBMITTED,
        title=_("%(dept)s sent information on incident #%(id)s")
        % {"dept": assignment.department, "id": assignment.incident_id},
        body=assignment.information,
        url=f"/incidents/{assignment.incident_id}/",
        dedup_key=f"info-submitted:{assignment.pk}:{assignment.submitted_at}",
        incident_id=assignment.incident_id,
        assignment_id=assignment.pk,
    )


def notify_declined(assignment: Assignment) -> list[Notification]:
    return do_notify(
        _incident_watchers(assignment),
        kind=NotificationKind.ASSIGNMENT_DECLINED,
        title=_("%(dept)s declined incident #%(id)s: not its competence")
        % {"dept": assignment.department, "id": assignment.incident_id},
        body=assignment.decline_reason,
        url=f"/incidents/{assignment.incident_id}/",
        dedup_key=f"declined:{assignment.pk}",
        incident_id=assignment.incident_id,
        assignment_id=assignment.pk,
    )


def notify_answer_for_approval(answer: Answer) -> list[Notification]:
    from otklik.sla.services import acting_heads

    return do_notify(
        acting_heads(),
        kind=NotificationKind.ANSWER_APPROVAL,
        title=_("Answer on incident #%(id)s waits for approval") % {"id": answer.incident_id},
        body=answer.text,
        url=f"/incidents/{answer.incident_id}/",
        dedup_key=f"answer-approval:{answer.pk}:{answer.updated_at.isoformat()}",
        incident_id=answer.incident_id,
    )


def notify_assigned_to_executor(assignment: Assignment) -> list[Notification]:
    if assignment.assignee is None:
        return []
    return do_notify(
        [assignment.assignee],
        kind=NotificationKind.ASSIGNMENT_NEW,
        title=_("You are assigned incident #%(id)s") % {"id": assignment.incident_id},
        body=assignment.request,
        url=_assignment_url(assignment),
        dedup_key=f"assignment-assignee:{assignment.pk}:{assignment.assignee_id}:{assignment.updated_at}",
        incident_id=assignment.incident_id,
        assignment_id=assignment.pk,
    )
