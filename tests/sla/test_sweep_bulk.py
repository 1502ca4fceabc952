"""The sweep's bulk work (issue 9: 2,000 clocks overdue at once within 2 s): the same notifications as one clock at a
time, a bounded number of queries whatever the number of due clocks, e-mails enqueued in batches, and a repeated or
concurrent sweep never acting twice."""

from __future__ import annotations

import datetime as dt
import threading
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest
from django.db import connection, connections
from django.test.utils import CaptureQueriesContext

from otklik.accounts.choices import Role
from otklik.cases.models import Assignment, Incident
from otklik.notifications import services as notification_services
from otklik.notifications.choices import NotificationKind
from otklik.notifications.models import Notification
from otklik.notifications.services import BulkNotice, do_notify_bulk
from otklik.notifications.tasks import send_notification_emails
from otklik.sla.choices import ClockKind
from otklik.sla.clocks import Deadlines, do_start_clock
from otklik.sla.escalation import sweep
from otklik.sla.models import Clock, SlaPolicy
from tests.factories import make_department, make_user

EKB = ZoneInfo("Asia/Yekaterinburg")


def at(year: int, month: int, day: int, hour: int = 0, minute: int = 0) -> dt.datetime:
    return dt.datetime(year, month, day, hour, minute, tzinfo=EKB)


START = at(2026, 12, 1, 9)  # a Tuesday: 1 working hour → warning 09:48, due 10:00, long overdue 02.12 10:00


@pytest.fixture
def city(db):
    housing = make_department("Департамент ЖКХ")
    roads = make_department("Департамент дорог")
    users = {
        "isp": make_user("isp", role=Role.EXECUTOR, department=housing),
        "isp2": make_user("isp2", role=Role.EXECUTOR, department=housing),
        "nach": make_user("nach", role=Role.DEPT_HEAD, department=housing),
        "isp_r": make_user("isp_r", role=Role.EXECUTOR, department=roads),
        "isp_r_gone": make_user("isp_r_gone", role=Role.EXECUTOR, department=roads, is_active=False),
        "oper": make_user("oper", role=Role.OPERATOR),
        "oper2": make_user("oper2", role=Role.OPERATOR),
        "oper_gone": make_user("oper_gone", role=Role.OPERATOR, is_active=False),
        "ruk": make_user("ruk", role=Role.HEAD),
        "dir": make_user("dir", role=Role.DIRECTOR),
    }
    return {"housing": housing, "roads": roads, **users}


def _clocks(city) -> dict[str, Clock]:
    """Seven clocks due together, one per way of choosing recipients."""
    policy = SlaPolicy.objects.create(
        name="Директор и руководитель", long_overdue_roles="director, head", is_active=False
    )
    clocks = {}

    def assignment_clock(name: str, department, assignee=None) -> None:
        incident = Incident.objects.create()
        assignment = Assignment.objects.create(incident=incident, department=department, assignee=assignee)
        clocks[name] = do_start_clock(
            ClockKind.ASSIGNMENT, incident=incident, assignment=assignment, hours=1, start=START
        )

    def incident_clock(name: str, owner=None, deadlines: Deadlines | None = None) -> None:
        incident = Incident.objects.create(owner=owner)
        clocks[name] = do_start_clock(ClockKind.ANSWER, incident=incident, hours=1, start=START, deadlines=deadlines)

    assignment_clock("housing", city["housing"])  # no assignee: the department's executors
    assignment_clock("housing_assigned", city["housing"], city["isp2"])
    assignment_clock("roads_assignee_gone", city["roads"], city["isp_r_gone"])  # no department head either
    incident_clock("owned", city["oper"])
    incident_clock("unowned")  # the active operators
    incident_clock("owner_gone", city["oper_gone"])
    incident_clock(
        "policy_roles",
        city["oper"],
        Deadlines(
            policy=policy,
            first_answer_hours=None,
            assignment_hours=Decimal("8"),
            answer_hours=Decimal("1"),
            final_answer_days=7,
            calendar_time=False,
            warn_fraction=0.8,
            long_overdue_hours=Decimal("8"),
        ),
    )
    return clocks


# Who is told at each level, by the rules of otklik.sla.escalation (executor; + department head and acting head of
# the service when overdue; + the policy's roles, the director by default, when long overdue).
WARNED = {
    "housing": {"isp", "isp2"},
    "housing_assigned": {"isp2"},
    "roads_assignee_gone": {"isp_r"},
    "owned": {"oper"},
    "unowned": {"oper", "oper2"},
    "owner_gone": {"oper", "oper2"},
    "policy_roles": {"oper"},
}
OVERDUE = {
    "housing": {"isp", "isp2", "nach", "ruk"},
    "housing_assigned": {"isp2", "nach", "ruk"},
    "roads_assignee_gone": {"isp_r", "ruk"},
    "owned": {"oper", "ruk"},
    "unowned": {"oper", "oper2", "ruk"},
    "owner_gone": {"oper", "oper2", "ruk"},
    "policy_roles": {"oper", "ruk"},
}
LONG_OVERDUE = {name: people | {"dir"} for name, people in OVERDUE.items()}


def _expected(clocks: dict[str, Clock], level: str, kind: str, table: dict[str, set[str]]) -> set[tuple]:
    rows = set()
    for name, usernames in table.items():
        clock = clocks[name]
        url = f"/assignments/{clock.assignment_id}/" if clock.assignment_id else f"/incidents/{clock.incident_id}/"
        key = f"clock:{clock.pk}:{level}:{int(clock.due_at.timestamp())}"
        for username in usernames:
            rows.add((username, kind, key, url, clock.incident_id, clock.assignment_id))
    return rows


def _created(since: int) -> list[tuple]:
    return list(
        Notification.objects.filter(pk__gt=since).values_list(
            "recipient__username", "kind", "dedup_key", "url", "incident_id", "assignment_id"
        )
    )


def _last_pk() -> int:
    return Notification.objects.order_by("-pk").values_list("pk", flat=True).first() or 0


@pytest.mark.django_db
def test_a_sweep_of_many_clocks_notifies_exactly_as_the_rules_say(city):
    clocks = _clocks(city)
    levels = [
        (at(2026, 12, 1, 9, 50), "warning", NotificationKind.DEADLINE_WARNING, WARNED),
        (at(2026, 12, 1, 10, 30), "overdue", NotificationKind.DEADLINE_OVERDUE, OVERDUE),
        (at(2026, 12, 2, 10, 30), "long_overdue", NotificationKind.DEADLINE_LONG_OVERDUE, LONG_OVERDUE),
    ]
    for now, level, kind, table in levels:
        since = _last_pk()
        result = sweep(now)
        assert result == {"overdue": 0, "long_overdue": 0, "warning": 0} | {level: len(clocks)}
        created = _created(since)
        assert len(created) == len(set(created))  # nobody told twice
        assert set(created) == _expected(clocks, level, kind, table)

    for name in ("housing", "housing_assigned", "roads_assignee_gone"):
        clock = clocks[name]
        titles = set(Notification.objects.filter(assignment_id=clock.assignment_id).values_list("title", flat=True))
        department = str(clock.assignment.department)
        assert len(titles) == 3 and all(department in t and f"№{clock.incident_id}" in t for t in titles)
    bodies = set(Notification.objects.filter(incident_id=clocks["owned"].incident_id).values_list("body", flat=True))
    assert len(bodies) == 1 and "10:00" in bodies.pop()  # the due time, in the city's time
    assert sweep(at(2026, 12, 3, 12)) == {"overdue": 0, "long_overdue": 0, "warning": 0}


def _many_clocks(city, count: int, hours: int) -> None:
    people = [None, city["isp"], city["isp2"], city["oper"]]
    departments = [make_department(f"Отдел {hours}-{n}") for n in range(4)] + [city["housing"], city["roads"]]
    for n in range(count):
        if n % 3 == 2:
            incident = Incident.objects.create(owner=people[n % 4] if n % 4 == 3 else None)
            do_start_clock(ClockKind.ANSWER, incident=incident, hours=hours, start=START)
        else:
            incident = Incident.objects.create()
            assignee = people[n % 3] if n % 2 else None
            assignment = Assignment.objects.create(
                incident=incident, department=departments[n % len(departments)], assignee=assignee
            )
            do_start_clock(ClockKind.ASSIGNMENT, incident=incident, assignment=assignment, hours=hours, start=START)


@pytest.mark.django_db
def test_the_queries_of_a_sweep_do_not_grow_with_the_due_clocks(city):
    _many_clocks(city, 9, hours=1)  # due 10:00
    _many_clocks(city, 90, hours=3)  # warning 11:24, due 12:00
    sweep(at(2026, 12, 1, 9, 0))  # nothing due; the calendar and the policies are read
    with CaptureQueriesContext(connection) as few:
        assert sweep(at(2026, 12, 1, 10, 30))["overdue"] == 9
    with CaptureQueriesContext(connection) as many:
        assert sweep(at(2026, 12, 1, 12, 30))["overdue"] == 90
    # Per level: claims, one read of the clocks, departments and their people, one INSERT (no query per clock,
    # per person or per department).
    assert len(many) == len(few) <= 20, [q["sql"][:80] for q in many.captured_queries]
    assert Notification.objects.filter(kind=NotificationKind.DEADLINE_OVERDUE).count() > 99 * 2


@pytest.mark.django_db
def test_emails_are_enqueued_in_batches_after_commit(city, django_capture_on_commit_callbacks):
    _many_clocks(city, 120, hours=1)
    since = _last_pk()
    with django_capture_on_commit_callbacks() as callbacks:
        sweep(at(2026, 12, 1, 10, 30))
    created = sorted(Notification.objects.filter(pk__gt=since).values_list("pk", flat=True))
    batches = [c.args[0] for c in callbacks if getattr(c, "func", None) == send_notification_emails.delay]
    assert len(created) > notification_services.EMAIL_BATCH
    assert all(len(b) <= notification_services.EMAIL_BATCH for b in batches)
    assert sorted(pk for b in batches for pk in b) == created  # each e-mailed once


@pytest.mark.django_db
def test_a_repeated_sweep_does_not_act_again(city, django_capture_on_commit_callbacks):
    _clocks(city)
    sweep(at(2026, 12, 1, 10, 30))
    count = Notification.objects.count()
    with django_capture_on_commit_callbacks() as callbacks:
        assert sweep(at(2026, 12, 1, 10, 30)) == {"overdue": 0, "long_overdue": 0, "warning": 0}  # a redelivery
    assert Notification.objects.count() == count
    assert callbacks == []


@pytest.mark.django_db
def test_a_clock_claimed_again_tells_only_whom_it_has_not_told(city, django_capture_on_commit_callbacks):
    clocks = _clocks(city)
    sweep(at(2026, 12, 1, 10, 30))
    # The same level of the same due time claimed again (its stamp cleared): the dedup key stops a second notice.
    Clock.objects.filter(pk=clocks["owned"].pk).update(overdue_at=None)
    newcomer = make_user("ruk2", role=Role.HEAD)
    since = _last_pk()
    with django_capture_on_commit_callbacks() as callbacks:
        assert sweep(at(2026, 12, 1, 10, 31))["overdue"] == 1
    assert _created(since) == [
        ("ruk2", NotificationKind.DEADLINE_OVERDUE, f"clock:{clocks['owned'].pk}:overdue:"
         f"{int(clocks['owned'].due_at.timestamp())}", f"/incidents/{clocks['owned'].incident_id}/",
         clocks["owned"].incident_id, None)
    ]  # fmt: skip
    new_pk = Notification.objects.get(recipient=newcomer).pk
    assert [c.args[0] for c in callbacks if getattr(c, "func", None) == send_notification_emails.delay] == [[new_pk]]


@pytest.mark.django_db
def test_do_notify_bulk_skips_what_was_sent_and_fills_the_defaults(city, monkeypatch):
    monkeypatch.setattr(notification_services, "BULK_ROWS", 2)  # several statements on SQLite
    incident = Incident.objects.create()
    first = do_notify_bulk(
        [BulkNotice([city["oper"].pk], kind=NotificationKind.DEADLINE_OVERDUE, title="A", dedup_key="k1")]
    )
    assert len(first) == 1
    created = do_notify_bulk(
        [
            BulkNotice(
                [city["oper"].pk, city["oper2"].pk, city["ruk"].pk],
                kind=NotificationKind.DEADLINE_OVERDUE,
                title="x" * 300,
                dedup_key="k1",
                body="B",
                url="/incidents/1/",
                incident_id=incident.pk,
            ),
            BulkNotice([city["oper"].pk], kind=NotificationKind.DEADLINE_WARNING, title="C", dedup_key="k2"),
        ]
    )
    rows = Notification.objects.filter(pk__in=created).order_by("pk")
    assert [(n.recipient.username, n.dedup_key) for n in rows] == [("oper2", "k1"), ("ruk", "k1"), ("oper", "k2")]
    assert all(n.email_status == "pending" and n.read_at is None and n.created_at is not None for n in rows)
    assert rows[0].title == "x" * 255 and rows[0].incident_id == incident.pk and rows[0].url == "/incidents/1/"
    assert Notification.objects.filter(recipient=city["oper"], dedup_key="k1").count() == 1
    assert do_notify_bulk([]) == []


@pytest.mark.django_db(transaction=True)
@pytest.mark.skipif(connection.vendor != "postgresql", reason="sweeps racing need a database with row locks")
def test_sweeps_racing_over_many_departments_tell_each_person_once(city):
    _many_clocks(city, 240, hours=1)
    results: list[dict[str, int]] = []
    barrier = threading.Barrier(3)

    def run() -> None:
        try:
            barrier.wait()
            results.append(sweep(at(2026, 12, 1, 10, 30), batch=40))
        finally:
            connections.close_all()

    threads = [threading.Thread(target=run) for _ in range(3)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sum(r["overdue"] for r in results) == 240
    keys = list(Notification.objects.values_list("recipient_id", "dedup_key"))
    assert len(keys) == len(set(keys))
    assert {k for _, k in keys} == {
        f"clock:{pk}:overdue:{int(due.timestamp())}" for pk, due in Clock.objects.values_list("pk", "due_at")
    }
