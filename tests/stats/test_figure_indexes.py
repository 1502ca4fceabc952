"""The figures' indexes on PostgreSQL carry the columns their queries read (stats 0002, 0005, 0006): index-only
scans; the inbox's «satisfied» filter reads only the satisfied answers' index (stats 0006)."""

from __future__ import annotations

import pytest
from django.db import connection

pytestmark = pytest.mark.django_db


def indexdef(name: str) -> str:
    with connection.cursor() as cursor:
        cursor.execute("SELECT indexdef FROM pg_indexes WHERE indexname = %s", [name])
        row = cursor.fetchone()
    assert row is not None, name
    return row[0]


def test_the_final_answers_index_carries_the_incident_and_the_answer():
    if connection.vendor != "postgresql":
        pytest.skip("INCLUDE is PostgreSQL's")
    definition = indexdef("stats_answer_final_published")
    assert "INCLUDE (incident_id, id, previous_final_at, satisfied_after)" in definition
    assert "WHERE" in definition and "'final'" in definition and "'published'" in definition


def test_the_posts_index_carries_what_the_mood_reads():
    if connection.vendor != "postgresql":
        pytest.skip("INCLUDE is PostgreSQL's")
    assert "INCLUDE (incident_id, source_id, negative)" in indexdef("stats_post_posted_at")


def test_the_assignments_index_of_the_department_filter_carries_incident_and_status():
    """cases 0014: a department's assignments of a period and their incidents from the index alone."""
    if connection.vendor != "postgresql":
        pytest.skip("INCLUDE is PostgreSQL's")
    definition = indexdef("assignment_dept_created")
    assert "(department_id, created_at) INCLUDE (incident_id, status)" in definition


def test_the_satisfied_filter_reads_the_satisfied_answers_index_only():
    """The subquery of the inbox's «satisfied» link (in each of the page's queries) scans the partial index of the
    answers after which the citizen was satisfied, not every final answer of the period."""
    import datetime as dt

    from otklik.cases.models import Incident
    from otklik.stats.selectors import filter_final_answered

    if connection.vendor != "postgresql":
        pytest.skip("a PostgreSQL plan")
    assert "satisfied_after" in indexdef("stats_answer_final_satisfied")
    from django.utils import timezone

    since = timezone.now() - dt.timedelta(days=30)  # a recent period: no bounds read first (an empty table has none)
    queryset = filter_final_answered(Incident.objects.all(), since, since + dt.timedelta(days=31), satisfied=True)
    with connection.cursor() as cursor:
        cursor.execute("SET LOCAL enable_seqscan = off")  # an empty table: the planner would rather read it whole
        plan = queryset.explain()
    assert "stats_answer_final_satisfied" in plan
