"""The department scorecard: figures computed from raw assignments, and the page per role."""

from __future__ import annotations

import datetime as dt
import re
from zoneinfo import ZoneInfo

import pytest
from django.utils import timezone

from otklik.cases.choices import AssignmentStatus
from otklik.cases.models import Assignment, Incident, ReworkComment
from otklik.sla.scorecard import scorecard
from tests.factories import make_department

EKB = ZoneInfo("Asia/Yekaterinburg")
pytestmark = pytest.mark.django_db


def at(*args: int) -> dt.datetime:
    return dt.datetime(*args, tzinfo=EKB)


def make(department, created, due, submitted=None, status=AssignmentStatus.SENT, reworks=0):
    assignment = Assignment.objects.create(
        incident=Incident.objects.create(), department=department, due_at=due, submitted_at=submitted, status=status
    )
    Assignment.objects.filter(pk=assignment.pk).update(created_at=created)
    for _ in range(reworks):
        ReworkComment.objects.create(assignment=assignment, text="Нет сроков")
    return assignment


def test_the_figures_per_department():
    housing, roads = make_department("ЖКХ"), make_department("Дороги")
    # Housing: one on time (2 working hours), one late (submitted next day), one open past due, one reworked.
    make(housing, at(2026, 12, 1, 9), at(2026, 12, 1, 17), at(2026, 12, 1, 11), AssignmentStatus.ACCEPTED)
    make(housing, at(2026, 12, 1, 9), at(2026, 12, 1, 17), at(2026, 12, 2, 10), AssignmentStatus.ACCEPTED, reworks=1)
    make(housing, at(2026, 12, 1, 9), at(2026, 12, 1, 17))
    # Roads: one on time; one declined (not their competence); one outside the period.
    make(roads, at(2026, 12, 2, 9), at(2026, 12, 2, 17), at(2026, 12, 2, 9, 30), AssignmentStatus.SUBMITTED)
    make(roads, at(2026, 12, 2, 9), at(2026, 12, 2, 17), None, AssignmentStatus.DECLINED)
    make(roads, at(2026, 11, 20, 9), at(2026, 11, 20, 17), at(2026, 11, 20, 10), AssignmentStatus.ACCEPTED)

    rows = scorecard(dt.date(2026, 12, 1), dt.date(2026, 12, 3), now=at(2026, 12, 3, 12))
    by_name = {r.department.name: r for r in rows}
    assert [r.department.name for r in rows] == ["ЖКХ", "Дороги"]  # the least punctual first
    h = by_name["ЖКХ"]
    assert (h.assignments, h.on_time, h.late) == (3, 1, 2)
    assert h.on_time_share == pytest.approx(1 / 3)
    assert h.rework_share == pytest.approx(1 / 3)
    assert h.working_hours == [2.0, 9.0]  # 09–11; 09–18 minus the break, then 09–10 → 8 + 1
    assert h.calendar_hours == [2.0, 25.0]
    assert h.median_working_hours == 5.5
    r = by_name["Дороги"]
    assert (r.assignments, r.declined) == (2, 1)
    assert r.declined_share == 0.5
    assert r.median_calendar_hours == 0.5


def test_the_page_for_each_role(client, head, director, operator, executor):
    for user, status in ((head, 200), (director, 200), (operator, 200), (executor, 403)):
        client.force_login(user)
        assert client.get("/departments/scorecard/?period=week").status_code == status
    client.force_login(head)
    bad = client.get("/departments/scorecard/?start=2026-12-05&end=2026-12-01")
    assert bad.status_code == 200
    assert 'class="col-12 text-danger small"' in bad.content.decode()  # the form's error is shown, not a 500
    good = client.get("/departments/scorecard/?period=week").content.decode()
    assert 'class="col-12 text-danger small"' not in good


def test_rework_is_broken_down_by_criteria():
    housing, roads = make_department("ЖКХ"), make_department("Дороги")
    first = make(housing, at(2026, 12, 1, 9), at(2026, 12, 1, 17), at(2026, 12, 1, 11), AssignmentStatus.REWORK)
    second = make(housing, at(2026, 12, 1, 10), at(2026, 12, 1, 18))
    ReworkComment.objects.create(assignment=first, text="Нет сроков и отписка", criteria=["formal", "no_date"])
    ReworkComment.objects.create(assignment=first, text="Снова без срока", criteria=["no_date"])
    ReworkComment.objects.create(assignment=second, text="Без критериев", criteria=[])
    road = make(roads, at(2026, 12, 2, 9), at(2026, 12, 2, 17))
    ReworkComment.objects.create(assignment=road, text="Противоречит", criteria=["contradictory", "bogus"])
    earlier = make(roads, at(2026, 11, 20, 9), at(2026, 11, 20, 17))  # outside the period
    ReworkComment.objects.create(assignment=earlier, text="Нет фото", criteria=["no_evidence"])

    rows = {r.department.name: r for r in scorecard(dt.date(2026, 12, 1), dt.date(2026, 12, 3), now=at(2026, 12, 3))}
    h, r = rows["ЖКХ"], rows["Дороги"]
    assert (h.returns, h.rework) == (3, 2)  # three returns of two assignments
    assert h.criteria == {"formal": 1, "no_date": 2, "no_evidence": 0, "contradictory": 0, "other": 0}
    assert h.returns_without_criteria == 1
    assert [(c.code, c.count) for c in h.criteria_counts] == [
        ("formal", 1),
        ("no_date", 2),
        ("no_evidence", 0),
        ("contradictory", 0),
        ("other", 0),
    ]
    assert (r.returns, r.returns_without_criteria) == (1, 0)
    assert r.criteria["contradictory"] == 1 and r.criteria["no_evidence"] == 0  # unknown codes are ignored


def test_the_page_shows_the_returns_per_criterion(client, head):
    housing = make_department("ЖКХ")
    today = timezone.localdate()
    created = dt.datetime.combine(today, dt.time(9), tzinfo=EKB)
    assignment = make(housing, created, created + dt.timedelta(hours=8))
    ReworkComment.objects.create(assignment=assignment, text="Отписка", criteria=["formal"])
    ReworkComment.objects.create(assignment=assignment, text="Отписка снова", criteria=["formal", "other"])
    client.force_login(head)
    page = client.get("/departments/scorecard/?period=week").content.decode()
    assert 'data-returns="2"' in page
    assert re.search(r'data-criterion="formal">[^<]*<strong>2</strong>', page)
    assert 'data-criterion="other">' in page
    assert 'data-criterion="no_date"' not in page  # zeros are not shown
