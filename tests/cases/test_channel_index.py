"""The inbox's «source» filter can be served by the channels' trigram index (cases 0013, PostgreSQL): a rare
channel's incidents are found by the index instead of a read of the whole table (docs/BENCHMARKS.md, seventh pass)."""

from __future__ import annotations

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext

from tests.factories import ingest

pytestmark = pytest.mark.django_db


@pytest.fixture
def postgres():
    if connection.vendor != "postgresql":
        pytest.skip("the trigram index is PostgreSQL's")


def plans(sqls: list[str]) -> list[str]:
    """Each query's plan, with the table reads PostgreSQL could do without an index priced out: the plan then uses
    the trigram index wherever the compiled condition lets it (the tables of a test are too small to choose it)."""
    found = []
    with connection.cursor() as cursor:
        cursor.execute("SET LOCAL enable_seqscan = off")
        cursor.execute("SET LOCAL enable_indexscan = off")
        for sql in sqls:
            cursor.execute("EXPLAIN " + sql)
            found.append("\n".join(row[0] for row in cursor.fetchall()))
    return found


def test_the_index_exists(postgres):
    with connection.cursor() as cursor:
        cursor.execute("SELECT indexdef FROM pg_indexes WHERE indexname = 'incident_channels_trgm'")
        row = cursor.fetchone()
    assert row is not None
    assert "gin (channels gin_trgm_ops)" in row[0]


def test_the_source_filter_of_the_inbox_uses_it(postgres, client: Client, operator):
    email = ingest("Нет ответа на письмо", channel="email", author_id="e1")
    vk = ingest("Яма у дома", channel="vk", author_id="v1")
    client.force_login(operator)
    with CaptureQueriesContext(connection) as captured:
        html = client.get("/inbox/?channel=email").content.decode()
    assert f'data-id="{email.pk}"' in html
    assert f'data-id="{vk.pk}"' not in html
    channel_queries = [q["sql"] for q in captured.captured_queries if "%,email,%" in q["sql"]]
    assert channel_queries, "the page ran no query with the channel's condition"
    used = [plan for plan in plans(channel_queries) if "incident_channels_trgm" in plan]
    # The list and its counters (several scalar subqueries) each test the channel: all of them can use the index.
    assert len(used) == len(channel_queries), plans(channel_queries)
