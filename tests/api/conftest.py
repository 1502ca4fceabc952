"""Fixtures of the API tests: clients authenticated by a token, a small rubricator, incidents in each state."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from knox.models import AuthToken
from rest_framework.test import APIClient

from otklik.accounts.models import User
from otklik.org.models import Topic, TopicGroup


@pytest.fixture
def anon() -> APIClient:
    return APIClient()


@pytest.fixture
def client_for(db) -> Callable[[User], APIClient]:
    """An API client sending `Authorization: Token <key>` with a fresh token of `user`."""

    def make(user: User) -> APIClient:
        _instance, key = AuthToken.objects.create(user=user)
        client = APIClient()
        client.credentials(HTTP_AUTHORIZATION=f"Token {key}")
        return client

    return make


@pytest.fixture
def topics(db) -> dict[str, Topic]:
    """A few rubricator topics, as `load_reference` would load them (★ topics have `priority`)."""
    housing = TopicGroup.objects.create(name="ЖКХ")
    roads = TopicGroup.objects.create(name="Дороги")
    return {
        "hot_water": Topic.objects.create(name="Отсутствие горячей воды", group=housing, priority=True),
        "yard": Topic.objects.create(name="Уборка дворов", group=housing),
        "potholes": Topic.objects.create(name="Ямы на дорогах", group=roads),
    }
