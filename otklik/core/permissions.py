"""Who may see and do what. Services call the `ensure_*` helpers; selectors use `visible_*` querysets."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from django.utils.translation import gettext as _

from otklik.accounts.choices import Role
from otklik.core.errors import NotAllowed

if TYPE_CHECKING:
    from otklik.accounts.models import User
    from otklik.cases.models import Assignment, Incident


def ensure_service(user: User | None) -> None:
    """Operators, the head and admins; `None` is the system itself (workers, imports)."""
    if user is not None and not user.is_service:
        raise NotAllowed(_("Only the feedback service can do this."))


def ensure_head(user: User | None) -> None:
    """The head of the service, an admin, or the person acting as the head by a delegation (regulation 5.2)."""
    if user is None or user.is_superuser or user.role in {Role.HEAD, Role.ADMIN}:
        return
    from otklik.sla.services import is_delegate

    if not is_delegate(user):
        raise NotAllowed(_("Only the head of the service can do this."))


def can_view_incident(user: User, incident: Incident) -> bool:
    if user.can_read_all:
        return True
    if user.is_department_user and user.department_id is not None:
        return incident.assignments.filter(department_id=user.department_id).exists()
    return False


def can_act_on_assignment(user: User | None, assignment: Assignment) -> bool:
    """The service, or an executor/department head of the assignment's department."""
    if user is None or user.is_service:
        return True
    return bool(
        user.is_department_user
        and user.department_id == assignment.department_id
        and (user.role == Role.DEPT_HEAD or assignment.assignee_id in (None, user.pk))
    )


def ensure_assignment_actor(user: User | None, assignment: Assignment) -> None:
    if not can_act_on_assignment(user, assignment):
        raise NotAllowed(_("This assignment belongs to another department or executor."))


def actor_ref(user: User | None) -> dict[str, Any]:
    if user is None:
        return {"id": None, "username": "system"}
    return {"id": user.pk, "username": user.username}
