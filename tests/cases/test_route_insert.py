"""do_route's new assignments: one INSERT for several when the system routes (no save of theirs is recorded), one
save each — recorded by the security log — when a person routes; the same rows, clocks and notifications."""

from __future__ import annotations

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from otklik.audit.models import AuditRecord
from otklik.cases.choices import AssignmentRole
from otklik.cases.models import Assignment
from otklik.cases.services import create_incident, do_route
from otklik.notifications.models import Notification
from otklik.sla.choices import ClockKind
from otklik.sla.models import Clock
from tests.audit.helpers import context_of

pytestmark = pytest.mark.django_db


def _inserts(queries: CaptureQueriesContext) -> int:
    return sum(q["sql"].startswith('INSERT INTO "cases_assignment"') for q in queries.captured_queries)


def _outcome(incident) -> list[tuple]:
    rows = []
    for a in Assignment.objects.filter(incident=incident).order_by("pk"):
        clock = Clock.objects.get(assignment=a, kind=ClockKind.ASSIGNMENT)
        rows.append((a.department_id, a.role, a.status, a.due_at == clock.due_at, a.created_at == clock.started_at))
    return rows


def test_the_system_inserts_several_new_assignments_at_once(housing, roads, executor):
    incident = create_incident()
    with CaptureQueriesContext(connection) as queries:
        created = do_route(incident, actor=None, lead=housing, co_executors=[roads], due_hours=8)
    assert _inserts(queries) == 1
    assert all(a.pk is not None for a in created)
    assert _outcome(incident) == [
        (housing.pk, AssignmentRole.LEAD, "sent", True, True),
        (roads.pk, AssignmentRole.CO, "sent", True, True),
    ]
    assert Notification.objects.filter(assignment__in=created).count() >= 1  # the executor of the lead
    assert not AuditRecord.objects.filter(object_type__icontains="assignment").exists()


def test_a_person_routing_saves_each_assignment_and_each_is_recorded(housing, roads, executor, operator):
    incident = create_incident()
    with context_of(operator), CaptureQueriesContext(connection) as queries:
        created = do_route(incident, actor=operator, lead=housing, co_executors=[roads], due_hours=8)
    assert _inserts(queries) == 2
    assert _outcome(incident) == [
        (housing.pk, AssignmentRole.LEAD, "sent", True, True),
        (roads.pk, AssignmentRole.CO, "sent", True, True),
    ]
    recorded = set(
        AuditRecord.objects.filter(object_type__icontains="assignment", action="create").values_list(
            "object_id", flat=True
        )
    )
    assert recorded == {str(a.pk) for a in created}
