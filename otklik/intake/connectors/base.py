"""The connector protocol (see the package docstring) and its errors.

Errors: a connector raises
- `RateLimited` (a TemporaryChannelError) when the network asks to slow down (VK errors 6 and 9, Telegram 429):
  the poll is retried after `retry_after` seconds or with back-off;
- `TemporaryChannelError` for network failures, timeouts, 5xx, garbage: back-off; after
  OTKLIK_SOURCE_MAX_FAILURES in a row the source is marked broken;
- `SourceBroken` (a PermanentChannelError) when only the admin can fix it (VK 5 bad token, 15 access denied,
  18 deleted, 30 private; Telegram 401/403): the source is marked broken at once with the reason shown to the admin.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Protocol

from django.utils.module_loading import import_string

from otklik.answers.channels import PermanentChannelError, TemporaryChannelError, Thread

if TYPE_CHECKING:
    from otklik.intake.models import Source


class RateLimited(TemporaryChannelError):
    def __init__(self, message: str, retry_after: float | None = None) -> None:
        super().__init__(message)
        self.retry_after = retry_after


class SourceBroken(PermanentChannelError):
    """Only the admin can fix it (a bad token, access denied, a deleted community): the reason is shown."""


@dataclass(frozen=True)
class Item:
    """One message fetched from a network, as the intake stores it (a Post)."""

    external_id: str  # unique within the source, stable across polls (e.g. "wall-1_123", "comment-1_123_456")
    text: str
    posted_at: dt.datetime
    author_name: str = ""
    author_id: str = ""
    url: str = ""
    thread_id: str = ""  # the thread it belongs to (the wall post of a comment; the chat of a Telegram message)
    reply_to: str = ""  # external id of the message it replies to ("" for a new post)
    raw: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class FetchResult:
    items: list[Item]
    cursor: dict[str, Any]  # stored on the source in the transaction that stores the items
    more: bool = False  # more items are waiting: poll again soon


class Connector(Protocol):
    """Built from a Source: `connector = cls(source)`."""

    def fetch_new(self, cursor: dict[str, Any]) -> FetchResult:
        """Items posted after `cursor` (oldest first), and the cursor to store after them; nothing twice, nothing
        skipped."""
        ...

    def fetch_replies(self, thread: Thread, since: dt.datetime | None = None) -> list[Item]:
        """The messages in `thread` (after `since`), oldest first: the follow-up after an answer."""
        ...


# channel → the dotted path of its connector class.
CONNECTORS: dict[str, str] = {
    "vk": "otklik.intake.connectors.vk.VkConnector",
    "telegram": "otklik.intake.connectors.telegram.TelegramConnector",
}


def get_connector(source: Source) -> Connector | None:
    """The connector of the source's channel, or None for channels filled by imports and the API only."""
    path = CONNECTORS.get(source.channel)
    if path is None:
        return None
    cls = import_string(path)
    connector: Connector = cls(source)
    return connector
