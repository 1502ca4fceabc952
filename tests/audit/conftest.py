"""Fixtures of the security log tests: a client logged in as a persona, the records written since a point."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from django.test import Client

from otklik.accounts.models import User
from otklik.audit.models import AuditRecord


@pytest.fixture
def login(db) -> Callable[[User], Client]:
    def make(user: User) -> Client:
        client = Client()
        client.force_login(user)
        return client

    return make


@pytest.fixture
def new_records(db) -> Callable[[], list[AuditRecord]]:
    """`mark()` then `new_records()`: the records written since the last mark, oldest first."""
    state = {"last": 0}

    def since() -> list[AuditRecord]:
        rows = list(AuditRecord.objects.filter(id__gt=state["last"]).order_by("id"))
        if rows:
            state["last"] = rows[-1].pk
        return rows

    since()  # mark now
    return since


@pytest.fixture
def topic(db):
    from otklik.org.models import Topic, TopicGroup

    return Topic.objects.create(name="Отсутствие горячей воды", group=TopicGroup.objects.create(name="ЖКХ"))


@pytest.fixture
def client_for(db):
    """An API client sending `Authorization: Token <key>` with a fresh token of `user`."""
    from knox.models import AuthToken
    from rest_framework.test import APIClient

    def make(user: User) -> APIClient:
        _instance, key = AuthToken.objects.create(user=user)
        client = APIClient()
        client.credentials(HTTP_AUTHORIZATION=f"Token {key}")
        return client

    return make
