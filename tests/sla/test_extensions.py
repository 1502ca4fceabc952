"""Extension requests decided by the (acting) head of the service; delegation of the head's role."""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

import pytest
import time_machine

from otklik.accounts.choices import Role
from otklik.cases.models import Assignment, Incident
from otklik.core.errors import DomainError, IllegalTransition, NotAllowed
from otklik.notifications.models import Notification
from otklik.sla.choices import ClockKind, ExtensionStatus
from otklik.sla.clocks import do_start_clock
from otklik.sla.escalation import sweep
from otklik.sla.services import (
    acting_heads,
    do_decide_extension,
    do_delegate,
    do_request_extension,
    do_revoke_delegation,
)
from tests.factories import make_department, make_user

EKB = ZoneInfo("Asia/Yekaterinburg")
pytestmark = pytest.mark.django_db


def at(*args: int) -> dt.datetime:
    return dt.datetime(*args, tzinfo=EKB)


@pytest.fixture
def world(db):
    housing = make_department("Департамент ЖКХ")
    roads = make_department("Департамент дорог")
    incident = Incident.objects.create()
    assignment = Assignment.objects.create(incident=incident, department=housing)
    clock = do_start_clock(
        ClockKind.ASSIGNMENT, incident=incident, assignment=assignment, hours=8, start=at(2026, 12, 1, 9)
    )
    return {
        "clock": clock,
        "executor": make_user("isp", role=Role.EXECUTOR, department=housing),
        "stranger": make_user("chuzhoy", role=Role.EXECUTOR, department=roads),
        "head": make_user("ruk", role=Role.HEAD),
        "deputy": make_user("zam", role=Role.OPERATOR),
        "operator": make_user("oper", role=Role.OPERATOR),
    }


def test_an_approved_extension_moves_the_deadline_and_the_notices(world):
    clock = world["clock"]
    sweep(at(2026, 12, 1, 18, 30))  # overdue already notified
    clock.refresh_from_db()
    assert clock.overdue_at is not None
    with time_machine.travel(at(2026, 12, 1, 18, 30), tick=False):
        request = do_request_extension(clock, actor=world["executor"], hours="4", reason="Ждём подрядчика")
        assert request.new_due_at == at(2026, 12, 2, 13, 0)
        assert Notification.objects.filter(recipient=world["head"], kind="generic").count() == 1
        do_decide_extension(request, actor=world["head"], approve=True)
    clock.refresh_from_db()
    assert clock.due_at == at(2026, 12, 2, 13, 0)
    assert clock.overdue_at is None  # may fire again at the new due time
    assert clock.assignment.due_at == at(2026, 12, 2, 13, 0)
    assert sweep(at(2026, 12, 2, 13, 1))["overdue"] == 1
    assert Notification.objects.filter(recipient=world["executor"], kind="deadline_overdue").count() == 2


def test_refusal_needs_a_reason_and_keeps_the_history(world):
    request = do_request_extension(world["clock"], actor=world["executor"], hours=2, reason="Нет техники")
    with pytest.raises(DomainError):
        do_decide_extension(request, actor=world["head"], approve=False)
    do_decide_extension(request, actor=world["head"], approve=False, note="Срок критичный")
    request.refresh_from_db()
    assert request.status == ExtensionStatus.REFUSED
    with pytest.raises(IllegalTransition):
        do_decide_extension(request, actor=world["head"], approve=True)
    again = do_request_extension(world["clock"], actor=world["executor"], hours=1, reason="Ещё раз")
    assert world["clock"].extensions.count() == 2 and again.status == ExtensionStatus.PENDING


def test_who_may_ask_and_decide(world):
    clock = world["clock"]
    with pytest.raises(NotAllowed):
        do_request_extension(clock, actor=world["stranger"], hours=1, reason="x")
    with pytest.raises(DomainError):
        do_request_extension(clock, actor=world["executor"], hours="минус", reason="x")
    with pytest.raises(DomainError):
        do_request_extension(clock, actor=world["executor"], hours=1, reason=" ")
    request = do_request_extension(clock, actor=world["executor"], hours=1, reason="Праздники")
    with pytest.raises(DomainError):  # one pending request per clock
        do_request_extension(clock, actor=world["executor"], hours=2, reason="Ещё")
    with pytest.raises(NotAllowed):
        do_decide_extension(request, actor=world["operator"], approve=True)


def test_a_delegate_acts_as_head_for_the_period_only(world):
    head, deputy = world["head"], world["deputy"]
    delegation = do_delegate(
        head=head,
        acting=deputy,
        starts_at=at(2026, 12, 1, 0),
        ends_at=at(2026, 12, 8, 0),
        actor=head,
        reason="Отпуск",
    )
    assert acting_heads(at(2026, 11, 30, 12)) == [head]
    assert acting_heads(at(2026, 12, 3, 12)) == [deputy]
    with pytest.raises(DomainError):
        do_delegate(head=head, acting=world["operator"], starts_at=at(2026, 12, 5), ends_at=at(2026, 12, 6), actor=head)
    with pytest.raises(NotAllowed):
        do_delegate(head=head, acting=deputy, starts_at=at(2026, 12, 10), ends_at=at(2026, 12, 11), actor=deputy)
    with time_machine.travel(at(2026, 12, 3, 12), tick=False):
        request = do_request_extension(world["clock"], actor=world["executor"], hours=1, reason="Отпуск у всех")
        assert Notification.objects.filter(recipient=deputy).count() == 1
        assert Notification.objects.filter(recipient=head).count() == 0
        with pytest.raises(NotAllowed):
            do_decide_extension(request, actor=head, approve=True)
        do_decide_extension(request, actor=deputy, approve=True)
        sweep(at(2026, 12, 3, 12))
    assert Notification.objects.filter(recipient=deputy, kind="deadline_overdue").count() == 1
    do_revoke_delegation(delegation, actor=head)
    assert acting_heads(at(2026, 12, 3, 12)) == [head]
    with pytest.raises(IllegalTransition):
        do_revoke_delegation(delegation, actor=head)
