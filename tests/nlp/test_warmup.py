"""A worker process loads the analysis models once at start and freezes them out of the garbage collector."""

from __future__ import annotations

import gc
from types import SimpleNamespace

import pytest

from otklik.nlp import apps, warmup


@pytest.fixture
def fresh_warmup(monkeypatch):
    monkeypatch.setattr(warmup, "_done", False)
    yield
    gc.unfreeze()


def test_it_loads_the_models_once_and_freezes_the_heap(fresh_warmup, monkeypatch):
    loaded = []
    monkeypatch.setattr("otklik.nlp.kind.analyze_kind", lambda text: loaded.append(text))

    assert warmup.warm_up_worker() is True
    assert gc.get_freeze_count() > 0
    assert loaded
    assert warmup.warm_up_worker() is False
    assert len(loaded) == 1


def test_a_failing_model_does_not_stop_the_worker(fresh_warmup, monkeypatch):
    def broken(text):
        raise RuntimeError("no model")

    monkeypatch.setattr("otklik.nlp.kind.analyze_kind", broken)

    assert warmup.warm_up_worker() is True
    assert gc.get_freeze_count() > 0


def test_a_prefork_parent_keeps_no_models(fresh_warmup, monkeypatch):
    calls = []
    monkeypatch.setattr(warmup, "warm_up_in_background", lambda: calls.append(1))
    prefork = type("TaskPool", (), {"__module__": "celery.concurrency.prefork"})()
    solo = type("TaskPool", (), {"__module__": "celery.concurrency.solo"})()

    apps._warm_up_ready(sender=SimpleNamespace(pool=prefork))
    assert calls == []
    apps._warm_up_ready(sender=SimpleNamespace(pool=solo))
    apps._warm_up_child()
    assert calls == [1, 1]


def test_the_background_warm_up_does_not_hold_the_worker(fresh_warmup, monkeypatch):
    import threading

    release = threading.Event()
    monkeypatch.setattr("otklik.nlp.kind.analyze_kind", lambda text: release.wait(5))

    thread = warmup.warm_up_in_background()
    assert thread.is_alive()  # the signal handler returned while the models still load
    release.set()
    thread.join(5)
    assert not thread.is_alive()
    assert gc.get_freeze_count() > 0
