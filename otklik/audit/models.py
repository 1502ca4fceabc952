"""The security log: who saw or changed what, when, from where. Append-only.

A record is written once and never changed or deleted:
1. the model refuses `save()` of an existing row and `delete()`;
2. the default manager's queryset refuses `update()`, `delete()` and `bulk_update()` — except `update(user=None)`,
   the ON DELETE SET NULL Django's collector runs when a user is deleted (the `username` copy stays);
3. on PostgreSQL a trigger (migration 0002) refuses UPDATE and DELETE of a row at the database itself, with the same
   single exception, so raw SQL and `_base_manager` cannot rewrite history either.
The ORM guards catch mistakes in our code; the trigger is the real guard. Neither stops a database superuser or the
table's owner from dropping the trigger: run the application as a role that does not own the table when that
matters (docs/SECURITY.md, "Audit log").
"""

from __future__ import annotations

from typing import Any, NoReturn

from django.conf import settings
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from otklik.audit.choices import AuditAction


class AppendOnlyError(Exception):
    """An attempt to change or delete a record of the security log."""


def _refuse(what: str) -> NoReturn:
    raise AppendOnlyError(f"The security log is append-only: {what} is not allowed.")


class AuditQuerySet(models.QuerySet["AuditRecord"]):
    def update(self, **kwargs: Any) -> int:
        # The one allowed update: a deleted user's records lose the link (the username copy stays).
        if set(kwargs) == {"user"} and kwargs["user"] is None:
            return super().update(**kwargs)
        _refuse("update()")

    def delete(self) -> NoReturn:  # type: ignore[override]
        _refuse("delete()")

    def bulk_update(self, *args: Any, **kwargs: Any) -> NoReturn:  # type: ignore[override]
        _refuse("bulk_update()")

    def update_or_create(self, *args: Any, **kwargs: Any) -> NoReturn:  # type: ignore[override]
        _refuse("update_or_create()")


AuditManager = models.Manager.from_queryset(AuditQuerySet)


class AuditRecord(models.Model):
    at = models.DateTimeField(_("when"), default=timezone.now, db_index=True)
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("user"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    username = models.CharField(
        _("username"), max_length=150, blank=True, help_text=_("Kept when the user is deleted; the login tried.")
    )
    role = models.CharField(_("role"), max_length=16, blank=True)
    ip = models.CharField(_("IP address"), max_length=45, blank=True)
    origin = models.CharField(
        _("origin"), max_length=200, blank=True, help_text=_("web, api, or the background task or command.")
    )
    action = models.CharField(_("action"), max_length=32, choices=AuditAction.choices, db_index=True)
    object_type = models.CharField(_("object type"), max_length=100, blank=True)
    object_id = models.CharField(_("object id"), max_length=64, blank=True)
    object_repr = models.CharField(_("object"), max_length=200, blank=True)
    changes = models.JSONField(
        _("changes"),
        default=dict,
        blank=True,
        help_text=_("Field → [before, after]; secrets and citizens' data masked."),
    )
    method = models.CharField(_("method"), max_length=8, blank=True)
    path = models.CharField(_("address"), max_length=500, blank=True)
    request_id = models.CharField(_("request id"), max_length=64, blank=True)
    note = models.TextField(_("note"), blank=True)

    objects = AuditManager()

    class Meta:
        verbose_name = _("security log record")
        verbose_name_plural = _("security log")
        ordering = ["-id"]
        default_permissions = ("view",)
        indexes = [
            models.Index(fields=["object_type", "object_id"], name="audit_object_idx"),
            models.Index(fields=["username", "at"], name="audit_username_at_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.at:%Y-%m-%d %H:%M:%S} {self.username or '—'} {self.action} {self.object_type} {self.object_id}"

    def save(self, *args: Any, **kwargs: Any) -> None:
        if not self._state.adding:
            _refuse("changing a record")
        super().save(*args, **kwargs)

    def delete(self, *args: Any, **kwargs: Any) -> NoReturn:  # type: ignore[override]
        _refuse("deleting a record")
