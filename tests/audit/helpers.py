from __future__ import annotations

from typing import Any

from django.test import RequestFactory

from otklik.audit import context


class context_of:  # noqa: N801  (a `with` statement)
    """Act as `user` in a fake request, as otklik.audit.middleware would set it."""

    def __init__(self, user: Any, path: str = "/somewhere/") -> None:
        request = RequestFactory().post(path)
        request.user = user
        self.ctx = context.for_request(request)

    def __enter__(self) -> context.AuditContext:
        self.token = context.activate(self.ctx)
        return self.ctx

    def __exit__(self, *exc: object) -> None:
        context.deactivate(self.token)
