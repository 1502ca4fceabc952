"""The escalation sweep: each level fires once per clock, to the right people, even with sweeps racing."""

from __future__ import annotations

import datetime as dt
import threading
from zoneinfo import ZoneInfo

import pytest
from django.db import connection, connections

from otklik.accounts.choices import Role
from otklik.cases.models import Assignment, Incident
from otklik.notifications.choices import NotificationKind
from otklik.notifications.models import Notification
from otklik.sla.choices import ClockKind
from otklik.sla.clocks import do_start_clock
from otklik.sla.escalation import claim, sweep
from otklik.sla.models import Clock, DutyShift, SlaPolicy
from tests.factories import make_department, make_user

EKB = ZoneInfo("Asia/Yekaterinburg")


def at(*args: int) -> dt.datetime:
    return dt.datetime(*args, tzinfo=EKB)


@pytest.fixture
def people(db):
    housing = make_department("Департамент ЖКХ")
    return {
        "housing": housing,
        "executor": make_user("isp", role=Role.EXECUTOR, department=housing),
        "dept_head": make_user("nach", role=Role.DEPT_HEAD, department=housing),
        "operator": make_user("oper", role=Role.OPERATOR),
        "head": make_user("ruk", role=Role.HEAD),
        "director": make_user("dir", role=Role.DIRECTOR),
    }


def kinds_for(user) -> list[str]:
    return sorted(Notification.objects.filter(recipient=user).values_list("kind", flat=True))


@pytest.mark.django_db
def test_levels_fire_once_each_to_the_right_people(people):
    incident = Incident.objects.create()
    assignment = Assignment.objects.create(incident=incident, department=people["housing"])
    do_start_clock(ClockKind.ASSIGNMENT, incident=incident, assignment=assignment, hours=8, start=at(2026, 12, 1, 9))

    assert sweep(at(2026, 12, 1, 15, 0)) == {"overdue": 0, "long_overdue": 0, "warning": 0}
    assert sweep(at(2026, 12, 1, 16, 30)) == {"overdue": 0, "long_overdue": 0, "warning": 1}  # 80 % at 16:24
    assert sweep(at(2026, 12, 1, 16, 31))["warning"] == 0
    assert kinds_for(people["executor"]) == [NotificationKind.DEADLINE_WARNING]
    assert kinds_for(people["dept_head"]) == []
    assert kinds_for(people["head"]) == []

    assert sweep(at(2026, 12, 1, 18, 1))["overdue"] == 1
    assert sweep(at(2026, 12, 1, 18, 2))["overdue"] == 0
    assert kinds_for(people["dept_head"]) == [NotificationKind.DEADLINE_OVERDUE]
    assert kinds_for(people["head"]) == [NotificationKind.DEADLINE_OVERDUE]
    assert kinds_for(people["director"]) == []

    assert sweep(at(2026, 12, 2, 18, 0))["long_overdue"] == 1
    assert sweep(at(2026, 12, 3, 18, 0)) == {"overdue": 0, "long_overdue": 0, "warning": 0}
    assert kinds_for(people["director"]) == [NotificationKind.DEADLINE_LONG_OVERDUE]
    assert len(kinds_for(people["executor"])) == 3


@pytest.mark.django_db
def test_a_late_sweep_skips_the_warning_of_an_overdue_clock(people):
    incident = Incident.objects.create(owner=people["operator"])
    do_start_clock(ClockKind.ANSWER, incident=incident, hours=2, start=at(2026, 12, 1, 9))
    assert sweep(at(2026, 12, 1, 12, 0)) == {"overdue": 1, "long_overdue": 0, "warning": 0}
    assert kinds_for(people["operator"]) == [NotificationKind.DEADLINE_OVERDUE]


@pytest.mark.django_db
def test_finished_and_paused_clocks_are_left_alone(people):
    from otklik.sla.clocks import do_pause_clocks, do_stop_clocks

    done, waiting = Incident.objects.create(), Incident.objects.create()
    do_start_clock(ClockKind.ANSWER, incident=done, hours=1, start=at(2026, 12, 1, 9))
    do_start_clock(ClockKind.ANSWER, incident=waiting, hours=1, start=at(2026, 12, 1, 9))
    do_stop_clocks(incident=done, kinds=(ClockKind.ANSWER,), at=at(2026, 12, 1, 9, 30))
    do_pause_clocks(incident=waiting, at=at(2026, 12, 1, 9, 30))
    assert sweep(at(2026, 12, 9, 12, 0)) == {"overdue": 0, "long_overdue": 0, "warning": 0}


@pytest.mark.django_db
def test_a_247_clock_out_of_hours_tells_the_operator_on_duty(people):
    duty = make_user("dezh", role=Role.OPERATOR)
    DutyShift.objects.create(user=duty, starts_at=at(2026, 12, 5, 18), ends_at=at(2026, 12, 7, 9))
    SlaPolicy.objects.create(name="Аварии", calendar_time=True)
    incident = Incident.objects.create(owner=people["operator"])
    do_start_clock(ClockKind.ANSWER, incident=incident, hours=4, start=at(2026, 12, 5, 20))  # Saturday night
    assert sweep(at(2026, 12, 6, 0, 30))["overdue"] == 1
    assert kinds_for(duty) == [NotificationKind.DEADLINE_OVERDUE]
    assert kinds_for(people["operator"]) == [NotificationKind.DEADLINE_OVERDUE]


@pytest.mark.django_db
def test_claims_in_batches_take_every_row_once(people):
    incidents = Incident.objects.bulk_create([Incident() for _ in range(25)])
    for incident in incidents:
        do_start_clock(ClockKind.ANSWER, incident=incident, hours=1, start=at(2026, 12, 1, 9))
    batches = [claim("overdue", at(2026, 12, 1, 12), batch=10) for _ in range(4)]
    assert [len(b) for b in batches] == [10, 10, 5, 0]
    assert sorted(sum(batches, [])) == sorted(Clock.objects.values_list("pk", flat=True))
    assert sweep(at(2026, 12, 1, 13), batch=10)["overdue"] == 0


@pytest.mark.django_db
def test_a_sweep_in_batches_notifies_every_clock_once(people):
    incidents = Incident.objects.bulk_create([Incident(owner=people["operator"]) for _ in range(23)])
    for incident in incidents:
        do_start_clock(ClockKind.ANSWER, incident=incident, hours=1, start=at(2026, 12, 1, 9))
    assert sweep(at(2026, 12, 1, 12), batch=5)["overdue"] == 23
    assert Notification.objects.filter(recipient=people["operator"]).count() == 23


@pytest.mark.django_db(transaction=True)
@pytest.mark.skipif(connection.vendor != "postgresql", reason="two sweeps racing need a database with row locks")
def test_two_sweeps_racing_notify_once(people):
    incidents = Incident.objects.bulk_create([Incident(owner=people["operator"]) for _ in range(300)])
    for incident in incidents:
        do_start_clock(ClockKind.ANSWER, incident=incident, hours=1, start=at(2026, 12, 1, 9))
    results: list[dict[str, int]] = []
    barrier = threading.Barrier(2)

    def run() -> None:
        try:
            barrier.wait()
            results.append(sweep(at(2026, 12, 1, 12)))
        finally:
            connections.close_all()

    threads = [threading.Thread(target=run) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sum(r["overdue"] for r in results) == 300
    assert Notification.objects.filter(recipient=people["operator"]).count() == 300
    assert Notification.objects.filter(recipient=people["head"]).count() == 300


@pytest.mark.django_db
def test_escalation_notices_are_emailed(people, mailoutbox, django_capture_on_commit_callbacks):
    people["operator"].email = "oper@example.org"
    people["operator"].save()
    people["head"].email = "head@example.org"
    people["head"].save()
    incident = Incident.objects.create(owner=people["operator"])
    do_start_clock(ClockKind.ANSWER, incident=incident, hours=1, start=at(2026, 12, 1, 9))
    with django_capture_on_commit_callbacks(execute=True):
        sweep(at(2026, 12, 1, 12))
    assert sorted(m.to[0] for m in mailoutbox) == ["head@example.org", "oper@example.org"]
    assert all(f"№{incident.pk}" in m.subject for m in mailoutbox)
