"""The web process's warm-up (otklik/wsgi.py) ends by freezing the heap, as the workers' does."""

from __future__ import annotations

import gc

import pytest


@pytest.fixture
def unfrozen(monkeypatch):
    monkeypatch.setenv("OTKLIK_WARM_UP", "0")  # importing otklik.wsgi here starts no warm-up thread of its own
    gc.unfreeze()
    yield
    gc.unfreeze()


class Calendar:
    def __init__(self, loaded: list[str]) -> None:
        self.loaded = loaded

    def is_working_day(self, day) -> bool:
        self.loaded.append("calendar")
        return True


def test_the_web_warm_up_loads_the_editors_helpers_then_freezes_the_heap(monkeypatch, unfrozen):
    import otklik.wsgi as wsgi

    loaded: list[str] = []
    monkeypatch.setattr(wsgi.checks, "warm_up", lambda: loaded.append("checks"))
    monkeypatch.setattr(wsgi.similar, "warm_up", lambda: loaded.append("similar"))
    monkeypatch.setattr(wsgi, "get_calendar", lambda: Calendar(loaded))
    assert gc.get_freeze_count() == 0
    wsgi._warm_up()
    assert loaded == ["checks", "similar", "calendar"]
    assert gc.get_freeze_count() > 0


def test_a_failed_warm_up_still_freezes(monkeypatch, unfrozen):
    import otklik.wsgi as wsgi

    def broken() -> None:
        raise OSError("no dictionary")

    monkeypatch.setattr(wsgi.checks, "warm_up", broken)
    wsgi._warm_up()
    assert gc.get_freeze_count() > 0
