"""Web and worker processes write to one SQLite file at once and never meet "database is locked".

What makes it true is in the settings: WAL, `BEGIN IMMEDIATE` transactions and a busy timeout. Three child processes
(a worker's pool, say) and this test process (the web) each run many short read-modify-write transactions on the
test database at the same moment. With DEFERRED transactions, or without a busy timeout, writers fail with
"database is locked" and this test fails (both checked by hand with a settings module overriding OPTIONS).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest
from django.conf import settings
from django.db import OperationalError, connection, transaction

pytestmark = pytest.mark.skipif(
    settings.DATABASES["default"]["ENGINE"] != "django.db.backends.sqlite3", reason="SQLite only"
)

BASE_DIR = Path(__file__).resolve().parent.parent
CHILD_WRITERS = 3
TRANSACTIONS = 150

# One writer: many short transactions, each reading the shared counter and writing it back plus a row. A read
# followed by a write is the shape that breaks under DEFERRED (the read lock cannot be upgraded).
CHILD = """
import json, os, sys, time
import django
django.setup()
from django.db import connection
from tests.test_sqlite_locking import write_many
name, count, ready, go = sys.argv[1], int(sys.argv[2]), sys.argv[3], sys.argv[4]
open(ready, "w").close()
while not os.path.exists(go):
    time.sleep(0.01)
print(json.dumps(write_many(name, count)))
connection.close()
"""


def write_many(name: str, count: int) -> dict[str, object]:
    done, errors = 0, []
    for seq in range(count):
        try:
            with transaction.atomic(), connection.cursor() as cursor:
                cursor.execute("SELECT value FROM locking_probe_counter WHERE id = 1")
                (value,) = cursor.fetchone()
                cursor.execute(
                    "INSERT INTO locking_probe_row (writer, seq, seen) VALUES (%s, %s, %s)", [name, seq, value]
                )
                cursor.execute("UPDATE locking_probe_counter SET value = %s WHERE id = 1", [value + 1])
            done += 1
        except OperationalError as error:
            errors.append(str(error))
    return {"name": name, "done": done, "error_count": len(errors), "errors": sorted(set(errors))[:3]}


@pytest.fixture
def probe_tables(transactional_db):
    with connection.cursor() as cursor:
        cursor.execute("CREATE TABLE locking_probe_counter (id integer PRIMARY KEY, value integer NOT NULL)")
        cursor.execute("INSERT INTO locking_probe_counter (id, value) VALUES (1, 0)")
        cursor.execute(
            "CREATE TABLE locking_probe_row (id integer PRIMARY KEY AUTOINCREMENT, writer text NOT NULL,"
            " seq integer NOT NULL, seen integer NOT NULL)"
        )
    yield
    with connection.cursor() as cursor:
        cursor.execute("DROP TABLE locking_probe_row")
        cursor.execute("DROP TABLE locking_probe_counter")


def _start_children(tmp_path: Path) -> tuple[list[subprocess.Popen[str]], list[Path], Path]:
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": os.environ["DJANGO_SETTINGS_MODULE"],
        "OTKLIK_DB": "sqlite",
        "OTKLIK_DB_NAME": str(settings.DATABASES["default"]["NAME"]),
        "PYTHONPATH": os.pathsep.join(filter(None, [str(BASE_DIR), os.environ.get("PYTHONPATH")])),
    }
    go = tmp_path / "go"
    children, ready = [], []
    for number in range(CHILD_WRITERS):
        flag = tmp_path / f"ready-{number}"
        ready.append(flag)
        children.append(
            subprocess.Popen(
                [sys.executable, "-c", CHILD, f"worker-{number}", str(TRANSACTIONS), str(flag), str(go)],
                cwd=BASE_DIR,
                env=env,
                stdout=subprocess.PIPE,
                stderr=subprocess.PIPE,
                text=True,
            )
        )
    return children, ready, go


def test_it_lets_web_and_workers_write_at_once_without_database_is_locked(probe_tables, tmp_path):
    children, ready, go = _start_children(tmp_path)
    try:
        deadline = time.monotonic() + 60
        while not all(flag.exists() for flag in ready):
            assert all(child.poll() is None for child in children), [c.communicate() for c in children]
            assert time.monotonic() < deadline, "the writer processes did not start"
            time.sleep(0.05)
        go.touch()
        results = [write_many("web", TRANSACTIONS)]
        for child in children:
            out, err = child.communicate(timeout=120)
            assert child.returncode == 0, err
            results.append(json.loads(out.strip().splitlines()[-1]))
    finally:
        for child in children:
            if child.poll() is None:
                child.kill()

    assert [(r["name"], r["done"], r["errors"]) for r in results] == [(r["name"], TRANSACTIONS, []) for r in results]
    total = (CHILD_WRITERS + 1) * TRANSACTIONS
    with connection.cursor() as cursor:
        cursor.execute("SELECT value FROM locking_probe_counter WHERE id = 1")
        assert cursor.fetchone()[0] == total
        cursor.execute("SELECT count(*), count(DISTINCT seen), count(DISTINCT writer) FROM locking_probe_row")
        # Every transaction saw a different counter value: the writers were serialised, no update was lost.
        assert cursor.fetchone() == (total, total, CHILD_WRITERS + 1)
