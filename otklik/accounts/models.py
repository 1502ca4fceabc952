from __future__ import annotations

from django.contrib.auth.models import AbstractUser
from django.core.exceptions import ValidationError
from django.db import models
from django.utils import timezone
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


class LoginFailure(models.Model):
    """One failed login: counted per username, per address and per pair (otklik.accounts.lockout)."""

    username = models.CharField(_("username"), max_length=150, blank=True)
    ip = models.CharField(_("IP address"), max_length=45, blank=True)
    created_at = models.DateTimeField(_("at"), default=timezone.now)

    class Meta:
        verbose_name = _("failed login")
        verbose_name_plural = _("failed logins")
        indexes = [
            models.Index(fields=["username", "created_at"], name="loginfailure_user_at_idx"),
            models.Index(fields=["ip", "created_at"], name="loginfailure_ip_at_idx"),
            models.Index(fields=["created_at"], name="loginfailure_at_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.username}@{self.ip}"


class Lockout(models.Model):
    """Logins refused until `locked_until`: for a username from one address, for an address (any username, when
    `username` is empty) or for a username (any address, when `ip` is empty)."""

    username = models.CharField(_("username"), max_length=150, blank=True, help_text=_("Empty: every username."))
    ip = models.CharField(_("IP address"), max_length=45, blank=True, help_text=_("Empty: every address."))
    failures = models.PositiveIntegerField(_("failed attempts"), default=0)
    created_at = models.DateTimeField(_("locked at"), default=timezone.now)
    locked_until = models.DateTimeField(_("locked until"), db_index=True)
    cleared_at = models.DateTimeField(_("unlocked at"), null=True, blank=True)
    cleared_by = models.ForeignKey(
        "accounts.User",
        verbose_name=_("unlocked by"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )

    class Meta:
        verbose_name = _("login lockout")
        verbose_name_plural = _("login lockouts")
        ordering = ["-created_at"]
        indexes = [models.Index(fields=["username", "ip", "locked_until"], name="lockout_user_ip_until_idx")]

    def __str__(self) -> str:
        return f"{self.username or '*'}@{self.ip or '*'}"

    @property
    def is_active(self) -> bool:
        return self.cleared_at is None and self.locked_until > timezone.now()
