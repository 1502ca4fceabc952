"""A migration operation that runs raw SQL on some database vendors only (indexes PostgreSQL or SQLite lacks or
spells differently: INCLUDE, trigram GIN, partial indexes by name).

    operations = [vendor_sql({"postgresql": CREATE}, {"postgresql": DROP})]

Each mapping is vendor → statements, run in order; a vendor not named runs nothing. Kept stable: migrations import
it (changing what it does would change what old migrations did on a new database)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from functools import partial
from typing import Any

from django.db import migrations

Statements = Mapping[str, Sequence[str]]


def _run(statements: Statements, apps: Any, schema_editor: Any) -> None:
    for sql in statements.get(schema_editor.connection.vendor, ()):
        schema_editor.execute(sql)


def vendor_sql(forwards: Statements, backwards: Statements) -> migrations.RunPython:
    """RunPython executing `forwards[vendor]` on migrate and `backwards[vendor]` when migrated back."""
    return migrations.RunPython(partial(_run, forwards), partial(_run, backwards))
