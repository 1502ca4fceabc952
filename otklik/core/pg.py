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
    with transaction.atomic(), connection.cursor() as cursor:
        previous: dict[str, str] = {}
        for name, value in values.items():
            cursor.execute("SELECT current_setting(%s), set_config(%s, %s, true)", [name, name, value])
            previous[name] = cursor.fetchone()[0]
        try:
            yield
        finally:
            for name, value in previous.items():
                cursor.execute("SELECT set_config(%s, %s, true)", [name, value])
