"""The desk's «to do» list (its open assignments in due order) has an index of its own (cases 0015): its condition
must name the statuses the desk lists, or the planner cannot use it and walks every assignment by due time."""

from __future__ import annotations

import pytest
from django.db import connection
from django.db.models import F

from otklik.cases.choices import ASSIGNMENT_OPEN
from otklik.cases.models import Assignment

pytestmark = pytest.mark.django_db


def test_the_open_assignments_index_names_the_desks_statuses():
    (index,) = [index for index in Assignment._meta.indexes if index.name == "assignment_dept_open_due"]
    assert index.fields == ["department", "due_at", "id"]
    assert index.condition is not None
    ((lookup, statuses),) = index.condition.children
    assert lookup == "status__in" and set(statuses) == set(ASSIGNMENT_OPEN)


def test_the_desks_list_reads_the_index_on_postgresql(housing):
    if connection.vendor != "postgresql":
        pytest.skip("a PostgreSQL plan")
    rows = (
        Assignment.objects.filter(department=housing, status__in=ASSIGNMENT_OPEN)
        .order_by(F("due_at").asc(nulls_last=True), "id")
        .values("pk")[:50]
    )
    with connection.cursor() as cursor:
        # An empty table: without these the planner would read it whole and sort.
        cursor.execute("SET LOCAL enable_seqscan = off")
        cursor.execute("SET LOCAL enable_sort = off")
        plan = rows.explain()
    assert "assignment_dept_open_due" in plan
