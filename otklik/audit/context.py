"""Who is acting now: the request (set by otklik.audit.middleware) or a background task (set by Celery's
task_prerun, otklik.audit.signals). Outside both — a management command, the shell — the actor is "system".

The request itself is kept, not its user: Django REST framework authenticates a token inside the view and then sets
`request.user` on the Django request, so the user read when a record is written is the one the view acted as.
"""

from __future__ import annotations

import contextvars
import re
import uuid
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from django.http import HttpRequest

REQUEST_ID_HEADER = "HTTP_X_REQUEST_ID"
_SAFE_REQUEST_ID = re.compile(r"^[A-Za-z0-9._:-]{1,64}$")


@dataclass
class AuditContext:
    request: HttpRequest | None = None
    origin: str = "system"
    request_id: str = ""
    # A request records at most one view of personal data (otklik.audit.middleware).
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def is_system(self) -> bool:
        return self.request is None


_current: contextvars.ContextVar[AuditContext | None] = contextvars.ContextVar("otklik_audit_context", default=None)
_SYSTEM = AuditContext()


def current() -> AuditContext:
    return _current.get() or _SYSTEM


def activate(context: AuditContext) -> contextvars.Token[AuditContext | None]:
    return _current.set(context)


def deactivate(token: contextvars.Token[AuditContext | None]) -> None:
    _current.reset(token)


def request_id_for(request: HttpRequest) -> str:
    """The proxy's X-Request-ID when it is a sane token (nginx's $request_id), else a new one."""
    given = request.META.get(REQUEST_ID_HEADER, "")
    return given if _SAFE_REQUEST_ID.match(given) else uuid.uuid4().hex


def for_request(request: HttpRequest) -> AuditContext:
    origin = "api" if request.path.startswith("/api/") else "web"
    return AuditContext(request=request, origin=origin, request_id=request_id_for(request))


def for_task(name: str, task_id: str | None) -> AuditContext:
    return AuditContext(request=None, origin=f"task {name}"[:200], request_id=(task_id or "")[:64])
