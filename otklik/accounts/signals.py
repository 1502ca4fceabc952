"""Failed and successful logins feed the lockout counters (otklik.accounts.lockout)."""

from __future__ import annotations

from typing import Any

from django.contrib.auth import get_user_model
from django.contrib.auth.signals import user_logged_in, user_login_failed
from django.dispatch import receiver
from django.http import HttpRequest

from otklik.accounts import lockout


@receiver(user_login_failed, dispatch_uid="otklik_lockout_failure")
def count_failed_login(
    sender: Any, credentials: dict[str, Any], request: HttpRequest | None = None, **kwargs: Any
) -> None:
    if request is None or getattr(request, lockout.REQUEST_ATTRIBUTE, None) is not None:
        return  # no client to count, or already refused by a lock: not a new guess
    username = credentials.get(get_user_model().USERNAME_FIELD) or credentials.get("username")
    lock = lockout.record_failure(username, lockout.client_ip(request))
    if lock is not None:
        setattr(request, lockout.REQUEST_ATTRIBUTE, lock)


@receiver(user_logged_in, dispatch_uid="otklik_lockout_success")
def forget_failed_logins(sender: Any, request: HttpRequest | None, user: Any, **kwargs: Any) -> None:
    if request is not None:
        lockout.record_success(user.get_username(), lockout.client_ip(request))
