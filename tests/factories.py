"""Builders for test data. Domain state is made through the services, as the product makes it."""

from __future__ import annotations

import datetime as dt
import itertools
from typing import Any

from django.utils import timezone

from otklik.accounts.models import User
from otklik.cases.models import Incident
from otklik.intake.services import default_source, do_ingest_post
from otklik.org.models import Department

PASSWORD = "test-password"
_ids = itertools.count(1)


def make_department(name: str, **fields: Any) -> Department:
    return Department.objects.create(name=name, **fields)


def make_user(username: str, *, role: str, department: Department | None = None, **fields: Any) -> User:
    user = User(username=username, role=role, department=department, **fields)
    user.set_password(PASSWORD)
    user.save()
    return user


def ingest(
    text: str = "Третий день нет горячей воды на улице Ленина 5",
    *,
    channel: str = "vk",
    external_id: str | None = None,
    posted_at: dt.datetime | None = None,
    **fields: Any,
) -> Incident:
    """A new post through the intake service; returns its incident."""
    result = do_ingest_post(
        source=default_source(channel),
        external_id=external_id or f"ext-{next(_ids)}",
        text=text,
        posted_at=posted_at or timezone.now(),
        **fields,
    )
    assert result.post.incident is not None
    return result.post.incident
