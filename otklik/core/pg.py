"""PostgreSQL planner and executor settings for one block of queries."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from django.db import connection, transaction


@contextmanager
def local_settings(**values: str) -> Iterator[None]:
    """Run the block's queries with these server settings (`set_config(name, value, is_local)`), put back to what
    they were when the block ends; nothing on another database. The block runs in a transaction (a savepoint when
    nested), as a local setting lives only inside one."""
    if connection.vendor != "postgresql":
        yield
        return
    names = list(values)
    reads = ", ".join(f"current_setting(%s) AS s{i}" for i in range(len(names)))
    sets = ", ".join("set_config(%s, %s, true)" for _name in names)
    # One statement to read and set them all: the CTE's row (the values before) is read before the outer row's
    # set_config calls are evaluated. One more to put them back.
    read_and_set = f"WITH before AS MATERIALIZED (SELECT {reads}) SELECT before.*, {sets} FROM before"  # noqa: S608 - placeholders only
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(read_and_set, [*names, *(part for name in names for part in (name, values[name]))])
        previous = cursor.fetchone()[: len(names)]
        try:
            yield
        finally:
            cursor.execute(
                "SELECT " + sets, [part for name, value in zip(names, previous, strict=True) for part in (name, value)]
            )
