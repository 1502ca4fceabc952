"""Collect what a block produces and act on it once, at the end of the outermost block.

Used by the worker's analysis of a batch of posts: `otklik.cases.services.deferring_events` (the events, one
INSERT) and `otklik.notifications.services.coalescing_emails` (the e-mails, one task).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from typing import Any


@contextmanager
def collecting[T](into: ContextVar[list[T] | None], flush: Callable[[list[T]], Any]) -> Iterator[None]:
    """Inside the block the producers append to `into`'s list instead of acting on each item. When the block ends
    without an error the items are handed to an enclosing block, or `flush`ed if there is none; an error drops
    them (the caller rolls its transaction or savepoint back with what they stand for)."""
    outer = into.get()
    items: list[T] = []
    token = into.set(items)
    try:
        yield
    finally:
        into.reset(token)
    if outer is not None:
        outer.extend(items)
    elif items:
        flush(items)
