"""Fixtures of the inbox tests: logged-in clients, a small rubricator with a routing rule, incidents in each view."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass

import pytest
from django.test import Client
from django.utils import timezone

from otklik.accounts.models import User
from otklik.answers.services import do_draft_answer, do_submit_for_approval
from otklik.cases.models import Incident
from otklik.cases.services import (
    do_accept_information,
    do_classify,
    do_mark_no_answer,
    do_route,
    do_send_to_triage,
    do_submit_information,
    do_take,
)
from otklik.org.models import Department, RoutingRule, Topic, TopicGroup
from tests.factories import PASSWORD, ingest


@pytest.fixture
def login(client: Client) -> Callable[[User], Client]:
    def enter(user: User) -> Client:
        assert client.login(username=user.username, password=PASSWORD)
        return client

    return enter


@dataclass
class Rubricator:
    housing_group: TopicGroup
    roads_group: TopicGroup
    hot_water: Topic
    potholes: Topic
    rule: RoutingRule


@pytest.fixture
def rubricator(housing: Department, roads: Department) -> Rubricator:
    """Two groups; hot water (ЖКХ) has a routing rule to the housing department, potholes (Дороги) has none."""
    housing_group = TopicGroup.objects.create(name="ЖКХ")
    roads_group = TopicGroup.objects.create(name="Дороги")
    hot_water = Topic.objects.create(name="Отсутствие горячей воды", group=housing_group, priority=True)
    potholes = Topic.objects.create(name="Ямы на дорогах", group=roads_group)
    rule = RoutingRule.objects.create(name="ЖКХ → департамент", group=housing_group, lead=housing)
    return Rubricator(housing_group, roads_group, hot_water, potholes, rule)


@dataclass
class World:
    new: Incident
    new_overdue: Incident
    triage: Incident
    routed: Incident
    routed_mine: Incident
    answering: Incident
    approval: Incident
    no_answer: Incident


@pytest.fixture
def world(operator: User, operator2: User, executor: User, housing: Department, rubricator: Rubricator) -> World:
    """One incident per situation the saved views tell apart, built through the services.

    Counters expected: new 2, triage 1, routed 2, ready 2 (answering + approval), overdue 1, mine (operator) 1,
    all 8.
    """
    now = timezone.now()
    new = ingest("Нет горячей воды на улице Ленина 5", channel="vk")
    new_overdue = ingest(
        "Яма на дороге у школы №3, уже неделю", channel="telegram", received_at=now - dt.timedelta(days=10)
    )
    triage = ingest("Когда это всё закончится", channel="ok")
    do_send_to_triage(triage, actor=operator)
    routed = ingest("Во дворе не убирают снег", channel="vk")
    do_route(routed, actor=operator, lead=housing)
    routed_mine = ingest("Течёт крыша в подъезде", channel="vk")
    do_route(routed_mine, actor=operator, lead=housing)
    do_take(routed_mine, actor=operator)
    answering = ingest("Нет света в подъезде", channel="vk")
    do_take(answering, actor=operator2)
    [assignment] = do_route(answering, actor=operator, lead=housing)
    do_submit_information(assignment, actor=executor, text="Лампы заменим завтра.")
    do_accept_information(assignment, actor=operator)
    approval = ingest("Мусор не вывозят неделю", channel="email")
    do_route(approval, actor=operator, lead=housing)
    answer = do_draft_answer(approval, actor=operator, kind="final", text="Здравствуйте! Мусор вывезли.")
    do_submit_for_approval(answer, actor=operator)
    no_answer = ingest("Купите дешёвые окна!", channel="telegram")
    do_mark_no_answer(no_answer, actor=operator, reason="spam")
    do_classify(new, topic=rubricator.hot_water, actor=operator)
    return World(new, new_overdue, triage, routed, routed_mine, answering, approval, no_answer)
