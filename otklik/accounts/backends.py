"""The authentication backend: Django's ModelBackend behind the login lockout (otklik.accounts.lockout).

It guards every login that goes through `django.contrib.auth.authenticate` with a request — the login page and
the Django admin's — and counts failures through the `user_login_failed` signal (otklik.accounts.signals).
"""

from __future__ import annotations

from typing import Any

from django.contrib.auth.backends import ModelBackend
from django.http import HttpRequest

from otklik.accounts import lockout


class LockoutModelBackend(ModelBackend):
    def authenticate(
        self, request: HttpRequest | None, username: str | None = None, password: str | None = None, **kwargs: Any
    ) -> Any:
        if request is not None:
            lock = lockout.active_lockout(username or kwargs.get("username"), lockout.client_ip(request))
            if lock is not None:
                # Refused without checking the password: a locked pair learns nothing from more guesses.
                setattr(request, lockout.REQUEST_ATTRIBUTE, lock)
                return None
        return super().authenticate(request, username=username, password=password, **kwargs)
