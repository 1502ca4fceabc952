"""Connectors to the networks: fetch new items since a cursor, fetch the replies in a thread, publish answers.

One module per network (`vk.py`, `telegram.py`, …), one class each implementing `Connector` (base.py), built from
a `Source` row (channel, config, encrypted token, cursor). `get_connector(source)` returns it; the poller
(otklik.intake.polling) calls `fetch_new`, ingests the items through otklik.intake.services.do_ingest_post and
stores the new cursor in the same transaction. The publishing side is the outbox's ChannelAdapter
(otklik.answers.channels): each network module also provides one, named in OTKLIK_CHANNEL_ADAPTERS.
"""

from __future__ import annotations

from otklik.intake.connectors.base import (
    CONNECTORS,
    Connector,
    FetchResult,
    Item,
    RateLimited,
    SourceBroken,
    get_connector,
)

__all__ = ["CONNECTORS", "Connector", "FetchResult", "Item", "RateLimited", "SourceBroken", "get_connector"]
