"""Domain errors: raised by services, shown to people as they are (the messages are translated)."""

from __future__ import annotations

from typing import Any


class DomainError(Exception):
    """A request that the domain refuses; the message says what is wrong and what to do."""

    code = "invalid"

    def __init__(self, message: Any, *, field: str | None = None) -> None:
        super().__init__(str(message))
        self.message = str(message)
        self.field = field


class IllegalTransition(DomainError):
    """A status change that the transitions table does not allow."""

    code = "illegal_transition"


class NotAllowed(DomainError):
    """The user may not do this to this object."""

    code = "not_allowed"
