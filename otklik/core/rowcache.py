"""Small per-process caches of reference rows (territories, topics) that every post's analysis reads.

`RowCache(loader, models)` calls `loader()` at most every `ttl` seconds per process and at once after a save or a
delete of one of `models` in this process (other processes see the change within `ttl`). `reset_all()` empties
every cache (tests: a rolled-back test must not leave rows behind).
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterable
from typing import Any

from django.db.models.signals import post_delete, post_save

_caches: list[Any] = []


class RowCache[T]:
    def __init__(self, loader: Callable[[], T], models: Iterable[str], ttl: float = 60.0) -> None:
        self.loader = loader
        self.ttl = ttl
        self._value: tuple[float, T] | None = None
        self._lock = threading.Lock()
        for model in models:
            post_save.connect(self.reset, sender=model, weak=False, dispatch_uid=f"rowcache-{id(self)}-s-{model}")
            post_delete.connect(self.reset, sender=model, weak=False, dispatch_uid=f"rowcache-{id(self)}-d-{model}")
        _caches.append(self)

    def get(self) -> T:
        now = time.monotonic()
        cached = self._value
        if cached is not None and now - cached[0] < self.ttl:
            return cached[1]
        with self._lock:
            value = self.loader()
            self._value = (now, value)
        return value

    def reset(self, **_kwargs: Any) -> None:
        self._value = None


def reset_all() -> None:
    for cache in _caches:
        cache.reset()
