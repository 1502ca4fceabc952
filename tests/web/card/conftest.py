"""The incident card's fixtures: a classified incident of the housing group with a routing rule that fits it."""

from __future__ import annotations

from decimal import Decimal

import pytest

from otklik.cases.models import Incident
from otklik.cases.services import do_classify
from otklik.org.models import RoutingRule, Topic, TopicGroup
from tests.factories import PASSWORD, ingest


def login(client, user):
    assert client.login(username=user.username, password=PASSWORD)
    return client


@pytest.fixture
def housing_group(db):
    return TopicGroup.objects.create(name="ЖКХ")


@pytest.fixture
def hot_water(housing_group):
    return Topic.objects.create(name="Отсутствие горячей воды", group=housing_group)


@pytest.fixture
def rule(housing_group, housing, roads):
    rule = RoutingRule.objects.create(
        name="ЖКХ → Департамент ЖКХ", group=housing_group, lead=housing, due_hours=Decimal("6")
    )
    rule.co_executors.add(roads)
    return rule


@pytest.fixture
def incident(hot_water, rule) -> Incident:
    """A new incident about hot water from VK, classified by the worker, not yet routed."""
    incident = ingest(
        "Третий день нет горячей воды на улице Ленина 5",
        author_name="Иван Петров",
        author_id="id1",
        url="https://vk.com/wall-1_100",
        thread_id="wall-1_99",
    )
    return do_classify(incident, topic=hot_water, confidence=0.82, actor=None)


@pytest.fixture
def as_operator(client, operator):
    return login(client, operator)
