"""What the security log records by itself: changes of models, logins and logouts, and who acts in Celery tasks.

Changes. Every model of the otklik apps (and Django's groups and knox's API tokens) is tracked, except the log
itself, the domain timeline (`cases.Event`, already a log of domain actions), and technical high-volume rows
(`EXCLUDED_MODELS`). For each save of a tracked model: `pre_save` loads the stored row (one SELECT, the fields
saved only) and `post_save` writes one record with field → [before, after] of the fields that differ; a create lists
the fields set, a delete the fields the row had. Secrets and citizens' personal data are masked
(otklik.audit.services). Handlers are connected per model, so untracked models keep Django's fast deletes.

Who: a person (a web or API request, anonymous ones included) — every change is recorded. The system (a Celery
task, a management command) — only changes of `SYSTEM_RECORDED_MODELS` (accounts, tokens, sources): the pipeline's
own work on posts and incidents (thousands a day) is in the incidents' timelines and in `ops.TaskRun`, and
recording it would double the writes of ingestion. `OTKLIK_AUDIT_SYSTEM_CHANGES=true` records every system change too.

Not seen by signals, so not recorded: `QuerySet.update()`, `bulk_create()`, `bulk_update()`, raw SQL, and saves of
fixtures (`loaddata`). The pipeline's claims (`filter(status=old).update(…)`) are such updates, by design; code that
changes data on a person's behalf goes through `save()` in the services, or calls `otklik.audit.services.record()`.
"""

from __future__ import annotations

import logging
from typing import Any

from django.apps import apps
from django.conf import settings
from django.contrib.auth.signals import user_logged_in, user_logged_out, user_login_failed
from django.db import models
from django.db.models.signals import m2m_changed, post_delete, post_save, pre_save

from otklik.audit import context
from otklik.audit.choices import AuditAction
from otklik.audit.services import model_label, record

logger = logging.getLogger(__name__)

# Extra models outside the otklik apps whose changes matter to security.
EXTRA_TRACKED_MODELS = frozenset({"auth.group", "knox.authtoken"})
EXCLUDED_MODELS = frozenset(
    {
        "audit.auditrecord",
        "cases.event",  # the domain timeline: a log itself
        "answers.answerversion",  # every version of an answer's text: a history itself
        "ops.taskrun",
        "ops.heartbeat",
        "sla.clock",  # deadline bookkeeping, recomputed by the system
        "notifications.notification",  # read marks
        "stats.reportdelivery",
        "intake.importrow",  # up to 100 000 rows per import; the import job is recorded
        "intake.analysisticket",  # the queued analysis message's marker (otklik.intake.dispatch)
        "accounts.loginfailure",  # a failed login is recorded as such
        "nlp.spike",
    }
)
SYSTEM_RECORDED_MODELS = frozenset(
    {"accounts.user", "accounts.lockout", "auth.group", "knox.authtoken", "intake.source"}
)
# Bookkeeping fields: a save that changes only these is not recorded.
IGNORED_FIELDS: dict[str, frozenset[str]] = {
    "accounts.user": frozenset({"last_login"}),
    "intake.source": frozenset({"cursor", "next_poll_at", "last_polled_at", "failures", "last_error"}),
}
_BEFORE = "_audit_before"


def tracked_labels() -> set[str]:
    extra_excluded = set(getattr(settings, "OTKLIK_AUDIT_EXCLUDE_MODELS", []) or [])
    labels = set()
    for model in apps.get_models():
        label = model_label(model)
        if model._meta.proxy or label in EXCLUDED_MODELS or label in extra_excluded:
            continue
        if model.__module__.startswith("otklik.") or label in EXTRA_TRACKED_MODELS:
            labels.add(label)
    return labels


def _records_system_changes() -> bool:
    return bool(getattr(settings, "OTKLIK_AUDIT_SYSTEM_CHANGES", False))


def _wanted(label: str) -> bool:
    """Is a change of `label` recorded in the current context?"""
    if not context.current().is_system:
        return True
    return label in SYSTEM_RECORDED_MODELS or _records_system_changes()


def records_saves_of(model: type[models.Model]) -> bool:
    """Would a save of `model` be recorded in the current context? When not, a caller may insert its rows with
    `bulk_create` (which the handlers do not see) and lose no record: the worker's routing of a post."""
    return _wanted(model_label(model))


def _fields(model: type[models.Model]) -> list[models.Field[Any, Any]]:
    return [f for f in model._meta.concrete_fields if not f.primary_key]


def _value(instance: models.Model, field: models.Field[Any, Any]) -> Any:
    return getattr(instance, field.attname)


def _comparable(field: models.Field[Any, Any], value: Any) -> Any:
    """Values from the database and from the instance in one form (an instance may hold a string for an int)."""
    from otklik.audit.services import jsonable

    if value is None:
        return None
    try:
        value = field.to_python(value)
    except Exception:  # a value the field cannot read back: compare as stored
        return jsonable(value)
    return jsonable(value)


def before_save(sender: type[models.Model], instance: models.Model, raw: bool = False, **kwargs: Any) -> None:
    label = model_label(sender)
    if raw or instance._state.adding or instance.pk is None or not _wanted(label):
        return
    update_fields = kwargs.get("update_fields")
    deferred = instance.get_deferred_fields()
    fields = [
        f
        for f in _fields(sender)
        if f.attname not in deferred
        and (update_fields is None or f.name in update_fields or f.attname in update_fields)
    ]
    if not fields:
        return
    row = (
        sender._base_manager.using(kwargs.get("using") or "default")
        .filter(pk=instance.pk)
        .values(*[f.attname for f in fields])
        .first()
    )
    instance.__dict__[_BEFORE] = (row, fields)


def after_save(
    sender: type[models.Model], instance: models.Model, created: bool, raw: bool = False, **kwargs: Any
) -> None:
    label = model_label(sender)
    stashed = instance.__dict__.pop(_BEFORE, None)
    if raw or not _wanted(label):
        return
    ignored = IGNORED_FIELDS.get(label, frozenset())
    changes: dict[str, Any] = {}
    if created or stashed is None or stashed[0] is None:
        if not created and stashed is None:
            return  # an update we chose not to load (no fields saved)
        for field in _fields(sender):
            if field.attname in instance.get_deferred_fields():
                continue
            value = _comparable(field, _value(instance, field))
            if value not in (None, "", [], {}):
                changes[field.name] = [None, value]
        _write(AuditAction.CREATE, instance, changes)
        return
    row, fields = stashed
    for field in fields:
        before = _comparable(field, row[field.attname])
        after = _comparable(field, _value(instance, field))
        if before != after:
            changes[field.name] = [before, after]
    if not changes or set(changes) <= ignored:
        return
    _write(AuditAction.UPDATE, instance, changes)


def after_delete(sender: type[models.Model], instance: models.Model, **kwargs: Any) -> None:
    label = model_label(sender)
    if not _wanted(label):
        return
    changes = {}
    for field in _fields(sender):
        if field.attname in instance.get_deferred_fields():
            continue
        value = _comparable(field, _value(instance, field))
        if value not in (None, "", [], {}):
            changes[field.name] = [value, None]
    _write(AuditAction.DELETE, instance, changes)


def _m2m_handler(owner: type[models.Model], field: models.ManyToManyField[Any, Any]) -> Any:
    def handler(
        sender: Any, instance: models.Model, action: str, reverse: bool, pk_set: set[Any] | None, **kw: Any
    ) -> None:
        if reverse or action not in {"post_add", "post_remove", "post_clear", "pre_clear"}:
            return
        if not isinstance(instance, owner) or not _wanted(model_label(owner)):
            return
        if action == "pre_clear":  # remember what a clear() removes
            instance.__dict__[f"_audit_m2m_{field.name}"] = sorted(
                getattr(instance, field.name).values_list("pk", flat=True)
            )
            return
        after = sorted(getattr(instance, field.name).values_list("pk", flat=True))
        if action == "post_add":
            before = sorted(set(after) - set(pk_set or ()))
        elif action == "post_remove":
            before = sorted(set(after) | set(pk_set or ()))
        else:
            before = instance.__dict__.pop(f"_audit_m2m_{field.name}", [])
        if before != after:
            _write(AuditAction.UPDATE, instance, {field.name: [before, after]})

    return handler


def _write(action: str, instance: models.Model, changes: dict[str, Any]) -> None:
    record(action, instance, changes=changes)


_connected = False
_m2m_handlers: list[Any] = []  # strong references: signals keep weak ones


def connect_all() -> None:
    """Connect the handlers, per tracked model (see the module docstring). Idempotent."""
    global _connected
    if _connected:
        return
    _connected = True
    labels = tracked_labels()
    for model in apps.get_models():
        label = model_label(model)
        if label not in labels:
            continue
        uid = f"otklik.audit.{label}"
        pre_save.connect(before_save, sender=model, dispatch_uid=f"{uid}.pre_save")
        post_save.connect(after_save, sender=model, dispatch_uid=f"{uid}.post_save")
        post_delete.connect(after_delete, sender=model, dispatch_uid=f"{uid}.post_delete")
        for field in model._meta.local_many_to_many:
            through = field.remote_field.through  # type: ignore[union-attr]
            handler = _m2m_handler(model, field)
            _m2m_handlers.append(handler)
            m2m_changed.connect(handler, sender=through, dispatch_uid=f"{uid}.{field.name}.m2m")
    user_logged_in.connect(on_login, dispatch_uid="otklik.audit.login")
    user_logged_out.connect(on_logout, dispatch_uid="otklik.audit.logout")
    user_login_failed.connect(on_login_failed, dispatch_uid="otklik.audit.login_failed")
    _connect_celery()


# --- logins -------------------------------------------------------------------------------------------------


def on_login(sender: Any, request: Any = None, user: Any = None, **kwargs: Any) -> None:
    record(AuditAction.LOGIN, user, user=user)


def on_logout(sender: Any, request: Any = None, user: Any = None, **kwargs: Any) -> None:
    if user is not None:
        record(AuditAction.LOGOUT, user, user=user)


def on_login_failed(sender: Any, credentials: dict[str, Any], request: Any = None, **kwargs: Any) -> None:
    # Django passes the credentials with the password already replaced by stars; keep the login only.
    from django.contrib.auth import get_user_model

    username = str(credentials.get(get_user_model().USERNAME_FIELD) or credentials.get("username") or "")
    note = "locked" if request is not None and getattr(request, "otklik_lockout", None) is not None else ""
    record(AuditAction.LOGIN_FAILED, username=username[:150], note=note)


# --- Celery: who acts in a task ---------------------------------------------------------------------------------

_task_tokens: dict[str, Any] = {}


def on_task_prerun(task_id: str | None = None, task: Any = None, **kwargs: Any) -> None:
    name = getattr(task, "name", "") or "task"
    token = context.activate(context.for_task(name, task_id))
    _task_tokens[task_id or ""] = token


def on_task_postrun(task_id: str | None = None, **kwargs: Any) -> None:
    token = _task_tokens.pop(task_id or "", None)
    if token is not None:
        try:
            context.deactivate(token)
        except ValueError:  # created in another context (should not happen): forget it
            logger.debug("audit context token of task %s from another context", task_id)


def _connect_celery() -> None:
    from celery.signals import task_postrun, task_prerun

    task_prerun.connect(on_task_prerun, dispatch_uid="otklik.audit.task_prerun", weak=False)
    task_postrun.connect(on_task_postrun, dispatch_uid="otklik.audit.task_postrun", weak=False)
