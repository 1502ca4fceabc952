from __future__ import annotations

from django.contrib.auth.models import AbstractUser
from django.core.exceptions import ValidationError
from django.db import models
from django.utils.translation import gettext_lazy as _

from otklik.accounts.choices import DEPARTMENT_ROLES, SERVICE_ROLES, Role


class User(AbstractUser):
    role = models.CharField(_("role"), max_length=16, choices=Role.choices, default=Role.OPERATOR)
    department = models.ForeignKey(
        "org.Department",
        verbose_name=_("department"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="users",
        help_text=_("Required for executors and department heads."),
    )
    phone = models.CharField(_("phone"), max_length=32, blank=True)

    class Meta:
        verbose_name = _("user")
        verbose_name_plural = _("users")

    def clean(self) -> None:
        super().clean()
        if self.role in DEPARTMENT_ROLES and self.department_id is None:
            raise ValidationError({"department": _("An executor must belong to a department.")})

    @property
    def is_service(self) -> bool:
        """Operators, the head and admins work with every incident."""
        return self.is_superuser or self.role in SERVICE_ROLES

    @property
    def is_department_user(self) -> bool:
        return not self.is_superuser and self.role in DEPARTMENT_ROLES

    @property
    def is_director(self) -> bool:
        return self.role == Role.DIRECTOR and not self.is_superuser

    @property
    def can_read_all(self) -> bool:
        return self.is_service or self.role == Role.DIRECTOR

    @property
    def display_name(self) -> str:
        return self.get_full_name() or self.username
