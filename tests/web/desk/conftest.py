"""Fixtures of the desk pages: a logged-in client per persona, assignments made through the services."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable

import pytest
from django.test import Client
from django.utils import timezone

from otklik.accounts.models import User
from otklik.cases.models import Assignment
from otklik.cases.services import do_route
from otklik.org.models import Department
from tests import factories


@pytest.fixture
def login(client: Client) -> Callable[[User], Client]:
    def as_user(user: User) -> Client:
        client.force_login(user)
        return client

    return as_user


@pytest.fixture
def colleague(housing: Department) -> User:
    """A second executor of the housing department."""
    return factories.make_user("colleague", role="executor", department=housing, first_name="Пётр", last_name="Сидоров")


@pytest.fixture
def assign(operator: User) -> Callable[..., Assignment]:
    """Route a new incident to `department` (lead) with the due time `hours` from now; returns its assignment."""

    def make(
        department: Department,
        *,
        hours: float = 4,
        text: str = "Третий день нет горячей воды на улице Ленина 5",
        request: str = "",
        **post_fields: object,
    ) -> Assignment:
        incident = factories.ingest(text, **post_fields)
        due_at = timezone.now() + dt.timedelta(hours=hours)
        (assignment,) = do_route(incident, actor=operator, lead=department, due_at=due_at, request=request)
        return assignment

    return make
