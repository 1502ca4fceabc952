"""The figures' indexes on PostgreSQL carry the columns their queries read (stats 0002, 0005): index-only scans."""

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
    assert "INCLUDE (incident_id, id)" in definition
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
