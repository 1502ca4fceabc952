"""A scripted connector for the polling tests (registered by monkeypatching CONNECTORS)."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Any

import pytest

from otklik.intake.connectors import base
from otklik.intake.connectors.base import FetchResult, Item

PATH = f"{__name__}.FakeConnector"


@dataclass
class Feed:
    """What the fake network holds: items in order, a page size, and errors raised by the next calls."""

    items: list[Item] = field(default_factory=list)
    page: int = 50
    errors: list[BaseException] = field(default_factory=list)
    calls: list[dict[str, Any]] = field(default_factory=list)

    def add(self, text: str, **fields: Any) -> Item:
        n = len(self.items) + 1
        fields.setdefault("external_id", f"wall-1_{n}")
        fields.setdefault("posted_at", dt.datetime(2026, 11, 29, 6, 0, tzinfo=dt.UTC) + dt.timedelta(minutes=n))
        fields.setdefault("author_name", f"Житель {n}")
        fields.setdefault("author_id", f"id{n}")
        item = Item(text=text, **fields)
        self.items.append(item)
        return item


FEED = Feed()


class FakeConnector:
    def __init__(self, source: Any) -> None:
        self.source = source

    def fetch_new(self, cursor: dict[str, Any]) -> FetchResult:
        FEED.calls.append(dict(cursor))
        if FEED.errors:
            raise FEED.errors.pop(0)
        start = int(cursor.get("n", 0))
        chunk = FEED.items[start : start + FEED.page]
        end = start + len(chunk)
        return FetchResult(items=chunk, cursor={"n": end}, more=end < len(FEED.items))

    def fetch_replies(self, thread: Any, since: Any = None) -> list[Item]:
        return []


@pytest.fixture(name="feed")
def feed_fixture(monkeypatch):
    """A fresh fake network behind the VK and Telegram channels."""
    global FEED
    FEED = Feed()
    monkeypatch.setitem(base.CONNECTORS, "vk", PATH)
    monkeypatch.setitem(base.CONNECTORS, "telegram", PATH)
    return FEED
