"""`local_settings`: several server settings set for a block in one statement and put back after it."""

from __future__ import annotations

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from otklik.core.pg import local_settings

pytestmark = pytest.mark.django_db(transaction=True)


def show(name: str) -> str:
    with connection.cursor() as cursor:
        cursor.execute(f"SHOW {name}")
        return cursor.fetchone()[0]


def test_the_settings_hold_inside_the_block_and_come_back_after_it():
    if connection.vendor != "postgresql":
        pytest.skip("PostgreSQL's settings")
    names = ("enable_hashjoin", "enable_sort", "work_mem")
    before = {name: show(name) for name in names}
    assert before["enable_sort"] == "on"
    with (
        CaptureQueriesContext(connection) as ctx,
        local_settings(enable_hashjoin="off", enable_sort="off", work_mem="7MB"),
    ):
        inside = {name: show(name) for name in names}
        with local_settings(work_mem="9MB"):  # nested: a savepoint, then back to the outer block's value
            assert show("work_mem") == "9MB"
        assert show("work_mem") == "7MB"
    assert inside == {"enable_hashjoin": "off", "enable_sort": "off", "work_mem": "7MB"}
    assert {name: show(name) for name in names} == before
    set_and_reset = [q for q in ctx.captured_queries if "set_config" in q["sql"]]
    assert len(set_and_reset) == 4  # one to read and set, one to put back, for each block


def test_elsewhere_the_block_just_runs():
    if connection.vendor == "postgresql":
        pytest.skip("the no-op of other databases")
    with CaptureQueriesContext(connection) as ctx, local_settings(enable_sort="off"):
        pass
    assert len(ctx.captured_queries) == 0
