"""Writing the security log. `record()` is the one writer; the signal handlers, the middleware and other apps (the
erasure of personal data in otklik.privacy) call it.

Failure policy: fail closed. A record is written in the same transaction as the change it describes, so a change
whose record cannot be written is rolled back with it, and a page of personal data whose view cannot be recorded
answers 500 instead of being shown. A security log that silently loses entries proves nothing; the log lives in
the same database, so when it cannot be written the change could not have been written either.
"""

from __future__ import annotations

import datetime as dt
import decimal
import re
import uuid
from typing import TYPE_CHECKING, Any

from django.db import models
from django.utils import timezone

from otklik.audit import context
from otklik.audit.models import AuditRecord

if TYPE_CHECKING:
    from django.http import HttpRequest

    from otklik.accounts.models import User

SECRET_MASK = "***"  # noqa: S105  (the mask, not a password)
PERSONAL_MASK = "[personal data]"
MAX_VALUE_CHARS = 300
# Field names whose values are secrets: stored as "***" (a change still shows: the field is listed).
SECRET_FIELD_RE = re.compile(r"password|token|secret|digest|salt|api_key|^key$|_key$", re.IGNORECASE)
# Citizens' personal data: the log is kept forever while these are erased after the retention period
# (otklik.privacy), so the log never copies them — it says that they were set or changed, not to what.
PERSONAL_FIELDS: dict[str, frozenset[str]] = {
    "intake.post": frozenset({"author_name", "author_id", "text", "url", "thread_id", "external_id"}),
    "intake.importrow": frozenset({"data", "raw", "values"}),
    "satisfaction.followedthread": frozenset({"author_id", "thread_key"}),
    "satisfaction.survey": frozenset({"author_id", "thread_key", "external_id"}),
}
PERSONAL_FIELD_NAMES = frozenset({"author_name", "author_id", "author_url", "author_phone", "author_email"})


def model_label(model: type[models.Model] | models.Model) -> str:
    return model._meta.concrete_model._meta.label_lower  # type: ignore[union-attr]


def client_ip(request: HttpRequest) -> str:
    from otklik.accounts.lockout import client_ip as lockout_client_ip

    return lockout_client_ip(request)


def jsonable(value: Any) -> Any:
    """A value as the log stores it: JSON types; datetimes in UTC ISO 8601; long text cut."""
    if value is None or isinstance(value, bool | int | float):
        return value
    if isinstance(value, dt.datetime):
        if timezone.is_aware(value):
            value = value.astimezone(dt.UTC)
        return value.isoformat()
    if isinstance(value, dt.date | dt.time):
        return value.isoformat()
    if isinstance(value, decimal.Decimal | uuid.UUID):
        return str(value)
    if isinstance(value, bytes | memoryview):
        return f"<{len(value)} bytes>"
    if isinstance(value, list | tuple):
        return [jsonable(v) for v in value]
    if isinstance(value, dict):
        return {str(k): jsonable(v) for k, v in value.items()}
    if hasattr(value, "name") and hasattr(value, "storage"):  # a FieldFile
        return value.name or ""
    text = str(value)
    return text if len(text) <= MAX_VALUE_CHARS else text[:MAX_VALUE_CHARS] + "…"


def masked(label: str, name: str, value: Any) -> Any:
    """`value` of field `name` of model `label` as the log may keep it."""
    if value in (None, ""):
        return value
    if SECRET_FIELD_RE.search(name):
        return SECRET_MASK
    if name in PERSONAL_FIELD_NAMES or name in PERSONAL_FIELDS.get(label, ()):
        return PERSONAL_MASK
    return value


def mask_changes(label: str, changes: dict[str, Any]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for name, pair in changes.items():
        if isinstance(pair, list | tuple) and len(pair) == 2:
            out[name] = [masked(label, name, jsonable(pair[0])), masked(label, name, jsonable(pair[1]))]
        else:
            out[name] = masked(label, name, jsonable(pair))
    return out


def _actor(user: User | None, ctx: context.AuditContext) -> tuple[User | None, str, str]:
    """(user or None, username, role) of whoever acts: the given user, else the request's, else nobody."""
    if user is None and ctx.request is not None:
        candidate = getattr(ctx.request, "user", None)
        if candidate is not None and getattr(candidate, "is_authenticated", False):
            user = candidate
    if user is None:
        return None, "", ""
    role = "superuser" if user.is_superuser else str(getattr(user, "role", "") or "")
    return user, user.get_username(), role


def build(
    action: str,
    obj: models.Model | None = None,
    *,
    user: User | None = None,
    changes: dict[str, Any] | None = None,
    note: str = "",
    object_type: str = "",
    object_id: Any = "",
    object_repr: str | None = None,
    username: str = "",
) -> AuditRecord:
    """An unsaved record of `action` on `obj` by `user` (default: the current request's user), in the current
    context (address, origin, request id)."""
    ctx = context.current()
    actor, actor_name, role = _actor(user, ctx)
    request = ctx.request
    if obj is not None:
        object_type = object_type or model_label(obj)
        if SECRET_FIELD_RE.search(obj._meta.pk.name):  # knox's tokens are keyed by their digest: never logged
            object_id, object_repr = "", ""
        else:
            object_id = object_id or (obj.pk if obj.pk is not None else "")
        if object_repr is None:
            try:
                object_repr = str(obj)
            except Exception:  # a __str__ that needs a deleted relation: the id says enough
                object_repr = ""
    label = object_type or ""
    path = ""
    if request is not None:
        path = request.get_full_path()
    return AuditRecord(
        at=timezone.now(),
        user=actor if actor is not None and actor.pk is not None else None,
        username=(actor_name or username)[:150],
        role=role,
        ip=client_ip(request) if request is not None else "",
        origin=ctx.origin,
        action=action[:32],
        object_type=label[:100],
        object_id=str(object_id)[:64],
        # The repr of a post would be its author or text: never copied into the log.
        object_repr="" if label in PERSONAL_FIELDS else (object_repr or "")[:200],
        changes=mask_changes(label, changes or {}),
        method=(request.method or "")[:8] if request is not None else "",
        path=path[:500],
        request_id=ctx.request_id,
        note=note,
    )


def record(
    action: str,
    obj: models.Model | None = None,
    *,
    user: User | None = None,
    changes: dict[str, Any] | None = None,
    note: str = "",
    **fields: Any,
) -> AuditRecord:
    """Write one record of the security log (see the module docstring for what happens when it cannot be written).

    `action`: an `AuditAction` value or another short code (`personal_data_erase`…); `obj`: the object acted on;
    `user`: who acted (default: the current request's user; none in a background task); `changes`: field →
    [before, after] (masked here); `note`: free text. Extra keywords: `object_type`, `object_id`, `object_repr`,
    `username` (a login tried by nobody known).
    """
    entry = build(action, obj, user=user, changes=changes, note=note, **fields)
    entry.save(force_insert=True)
    return entry
