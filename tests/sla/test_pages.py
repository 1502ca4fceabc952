"""Deadlines in the workstation: the clock chips, asking for an extension, deciding it."""

from __future__ import annotations

import datetime as dt

import pytest
import time_machine
from django.utils import timezone

from otklik.cases.services import create_incident, do_route
from otklik.sla.choices import ExtensionStatus
from otklik.sla.models import ExtensionRequest

pytestmark = pytest.mark.django_db


@pytest.fixture
def routed(operator, housing):
    with time_machine.travel(dt.datetime(2026, 12, 1, 9, 0, tzinfo=dt.UTC), tick=False):
        incident = create_incident()
        [assignment] = do_route(incident, actor=operator, lead=housing, due_hours=2)
    return incident, assignment


def test_the_card_shows_each_running_clock(client, operator, routed):
    incident, _assignment = routed
    client.force_login(operator)
    # Routed at 14:00 city time with 2 working hours: warned from 15:36 (80 %), overdue from 16:00.
    with time_machine.travel(dt.datetime(2026, 12, 1, 9, 30, tzinfo=dt.UTC), tick=False):
        page = client.get(f"/incidents/{incident.pk}/").content.decode()
    assert page.count('class="badge clock-chip') == 2  # the answer and the department's information
    assert "text-bg-warning" not in page and "text-bg-danger" not in page
    with time_machine.travel(dt.datetime(2026, 12, 1, 10, 40, tzinfo=dt.UTC), tick=False):
        page = client.get(f"/incidents/{incident.pk}/").content.decode()
    assert page.count("text-bg-warning") == 1
    with time_machine.travel(dt.datetime(2026, 12, 1, 11, 30, tzinfo=dt.UTC), tick=False):
        page = client.get(f"/incidents/{incident.pk}/").content.decode()
    assert page.count("text-bg-danger") == 1


def test_an_executor_asks_and_the_head_approves(client, executor, head, routed):
    _incident, assignment = routed
    client.force_login(executor)
    page = client.get(f"/assignments/{assignment.pk}/").content.decode()
    assert f'action="/assignments/{assignment.pk}/extension/"' in page
    response = client.post(f"/assignments/{assignment.pk}/extension/", {"hours": "4", "reason": "Ждём подрядчика"})
    assert response.status_code == 302
    request = ExtensionRequest.objects.get()
    assert request.status == ExtensionStatus.PENDING
    page = client.get(f"/assignments/{assignment.pk}/").content.decode()
    assert 'action="/assignments/' + str(assignment.pk) + '/extension/"' not in page  # one pending at a time

    client.force_login(head)
    assert "Ждём подрядчика" in client.get("/extensions/").content.decode()
    client.post("/extensions/", {"request": request.pk, "decision": "approve"})
    request.refresh_from_db()
    assert request.status == ExtensionStatus.APPROVED
    assignment.refresh_from_db()
    assert assignment.due_at == request.new_due_at


def test_only_the_acting_head_decides(client, operator, executor_other, routed):
    _incident, assignment = routed
    client.force_login(operator)
    assert client.get("/extensions/").status_code == 200
    request = ExtensionRequest.objects.create(
        clock=assignment.clocks.get(), reason="x", hours=1, old_due_at=timezone.now(), new_due_at=timezone.now()
    )
    assert client.post("/extensions/", {"request": request.pk, "decision": "approve"}).status_code == 403
    client.force_login(executor_other)
    assert client.post(f"/assignments/{assignment.pk}/extension/", {"hours": "1", "reason": "x"}).status_code == 404
    assert client.get("/extensions/").status_code == 403
