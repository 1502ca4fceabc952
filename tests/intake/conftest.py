from __future__ import annotations

import datetime as dt
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
import time_machine

DATA = Path(__file__).resolve().parent / "data"
# The samples were exported on 29.11.2026; their posts are of the days before.
EXPORTED_AT = dt.datetime(2026, 11, 29, 12, 0, tzinfo=ZoneInfo("Asia/Yekaterinburg"))


@pytest.fixture(autouse=True)
def _on_export_day():
    with time_machine.travel(EXPORTED_AT, tick=True):
        yield


@pytest.fixture
def sample():
    """The bytes of a sample export in tests/intake/data/."""

    def read(name: str) -> bytes:
        return (DATA / name).read_bytes()

    return read
