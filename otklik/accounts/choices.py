from __future__ import annotations

from django.db import models
from django.utils.translation import gettext_lazy as _


class Role(models.TextChoices):
    OPERATOR = "operator", _("Operator")
    HEAD = "head", _("Head of the service")
    EXECUTOR = "executor", _("Executor")
    DEPT_HEAD = "dept_head", _("Department head")
    DIRECTOR = "director", _("Director")
    ADMIN = "admin", _("Administrator")


# Roles of the feedback service itself: they see and act on every incident.
SERVICE_ROLES = frozenset({Role.OPERATOR, Role.HEAD, Role.ADMIN})
# Roles bound to a department: they see only their department's assignments and incidents.
DEPARTMENT_ROLES = frozenset({Role.EXECUTOR, Role.DEPT_HEAD})
