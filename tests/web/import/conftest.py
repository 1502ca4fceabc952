"""The import pages' fixtures: logged-in clients, the sample exports, the export day's clock."""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
import time_machine
from django.core.files.uploadedfile import SimpleUploadedFile

from tests.factories import PASSWORD

DATA = Path(__file__).resolve().parents[2] / "intake" / "data"
EXPORTED_AT = dt.datetime(2026, 11, 29, 12, 0, tzinfo=ZoneInfo("Asia/Yekaterinburg"))


@pytest.fixture(autouse=True)
def _on_export_day():
    with time_machine.travel(EXPORTED_AT, tick=True):
        yield


def login(client, user):
    assert client.login(username=user.username, password=PASSWORD)
    return client


@pytest.fixture
def upload():
    """A sample export as an uploaded file."""

    def make(name: str, content: bytes | None = None) -> SimpleUploadedFile:
        data = content if content is not None else (DATA / name).read_bytes()
        return SimpleUploadedFile(name, data)

    return make
