"""Channel adapters: how an answer is published in a network (otklik.answers.outbox uses them).

One adapter per channel ("vk", "telegram", …), named in the setting `OTKLIK_CHANNEL_ADAPTERS`
(`{"vk": "otklik.intake.connectors.vk.VkChannelAdapter"}`). A channel without an adapter is published by hand
(otklik.answers.channels.manual): its publications wait in status `manual` until the operator records the link.

An adapter must:
1. pass the idempotency key to the network where it takes one, or mark the reply with it, so that
2. `find_published(thread, key)` can tell whether a reply with that key is already in the thread (reconciling:
   the outbox asks before every attempt but the first, so a reply that went out before a worker died or before a
   timeout is never posted twice);
3. raise `TemporaryChannelError` for what may pass (network, rate limits, 5xx: retried with back-off) and
   `PermanentChannelError` for what will not (a deleted thread, a banned account, a rejected text: shown to the
   operator at once);
4. be constructible without arguments (credentials come from settings or from the source, `thread.source_id`);
5. finish a network call well within `OTKLIK_PUBLICATION_STALE_MINUTES` (use timeouts): a send that takes longer
   is taken for a dead worker, reconciled and tried again.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Protocol, runtime_checkable

from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from django.utils.module_loading import import_string

if TYPE_CHECKING:
    from otklik.answers.models import Answer


class ChannelError(Exception):
    """A publication could not be made; the message is stored on the publication and shown to the operator."""


class TemporaryChannelError(ChannelError):
    """May pass: the publication is tried again later (exponential back-off, a limited number of attempts)."""


class PermanentChannelError(ChannelError):
    """Will not pass by waiting: the publication fails at once; the operator publishes by hand or retries."""


@dataclass(frozen=True)
class Thread:
    """Where a reply goes: a thread of a source, and the post in it that the answer replies to."""

    channel: str
    source_id: int | None
    source_account: str
    key: str
    thread_id: str
    post_external_id: str
    post_url: str = ""
    post_author: str = ""
    post_author_id: str = ""


@dataclass(frozen=True)
class Published:
    """A reply that is in the network: its id there and a link to it (either may be empty when unknown)."""

    external_id: str
    url: str = ""


@runtime_checkable
class ChannelAdapter(Protocol):
    """Publishes answers in one channel (see the module docstring for the contract)."""

    def publish(self, answer: Answer, thread: Thread, idempotency_key: str) -> Published: ...

    def find_published(self, thread: Thread, idempotency_key: str) -> Published | None: ...


def adapter_paths() -> dict[str, str]:
    return dict(getattr(settings, "OTKLIK_CHANNEL_ADAPTERS", None) or {})


def has_adapter(channel: str) -> bool:
    return bool(adapter_paths().get(channel))


def get_adapter(channel: str) -> ChannelAdapter | None:
    """A new adapter for `channel`, or None when it is published by hand (no entry in OTKLIK_CHANNEL_ADAPTERS)."""
    path = adapter_paths().get(channel)
    if not path:
        return None
    try:
        cls = import_string(path)
    except ImportError as exc:
        raise ImproperlyConfigured(f"OTKLIK_CHANNEL_ADAPTERS[{channel!r}]: cannot import {path!r}: {exc}") from exc
    adapter = cls()
    if not isinstance(adapter, ChannelAdapter):
        raise ImproperlyConfigured(f"OTKLIK_CHANNEL_ADAPTERS[{channel!r}]: {path!r} is not a ChannelAdapter")
    return adapter


__all__ = [
    "ChannelAdapter",
    "ChannelError",
    "PermanentChannelError",
    "Published",
    "TemporaryChannelError",
    "Thread",
    "adapter_paths",
    "get_adapter",
    "has_adapter",
]
