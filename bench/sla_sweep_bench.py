"""The escalation sweep over many open clocks (issue 5: 100,000 open clocks take seconds).

Run: `.venv/bin/python bench/sla_sweep_bench.py [--db sqlite|postgres] [--clocks 100000] [--due 0.02] [--runs 3]`.

It creates a throwaway database (SQLite in var/bench-sla-<pid>/, or PostgreSQL database `bench_otklik_sla` on
OTKLIK_DB_HOST/PORT, dropped at the end), migrates it, inserts N running clocks with bulk_create, a share `--due` of
them overdue now, and times:
1. a sweep that finds nothing due (the every-minute case: three indexed conditional UPDATEs over N clocks);
2. a sweep where the due share escalates (claims + notifications to an operator and the head).
Each measured R times on fresh due rows; medians printed as rows for docs/BENCHMARKS.md.
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import shutil
import statistics
import sys
import time
from pathlib import Path

BASE_DIR = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(BASE_DIR))
from bench.ingest_bench import machine  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--db", choices=["sqlite", "postgres"], default="postgres")
    parser.add_argument("--clocks", type=int, default=100_000)
    parser.add_argument("--due", type=float, default=0.02)
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()

    var_dir = BASE_DIR / "var" / f"bench-sla-{os.getpid()}"
    var_dir.mkdir(parents=True, exist_ok=True)
    os.environ["OTKLIK_VAR_DIR"] = str(var_dir)
    os.environ["OTKLIK_LOG_LEVEL"] = "WARNING"
    os.environ["OTKLIK_CELERY_EAGER"] = "0"
    os.environ["OTKLIK_BROKER_URL"] = "memory://"
    os.environ["OTKLIK_DB"] = args.db
    if args.db == "postgres":
        os.environ["OTKLIK_DB_NAME"] = "bench_otklik_sla"
    else:
        os.environ.pop("OTKLIK_DB_NAME", None)
    os.environ["DJANGO_SETTINGS_MODULE"] = "otklik.settings"
    import django

    if args.db == "postgres":
        import psycopg

        admin = psycopg.connect(
            host=os.environ.get("OTKLIK_DB_HOST", "127.0.0.1"),
            port=os.environ.get("OTKLIK_DB_PORT", "5432"),
            user=os.environ.get("OTKLIK_DB_USER", "postgres"),
            dbname="postgres",
            autocommit=True,
        )
        admin.execute("DROP DATABASE IF EXISTS bench_otklik_sla")
        admin.execute("CREATE DATABASE bench_otklik_sla")
    try:
        django.setup()
        from django.core.management import call_command

        call_command("migrate", verbosity=0)
        run(args)
    finally:
        from django.db import connections

        connections.close_all()
        if args.db == "postgres":
            admin.execute("DROP DATABASE IF EXISTS bench_otklik_sla")
        shutil.rmtree(var_dir, ignore_errors=True)


def run(args: argparse.Namespace) -> None:
    from django.db import transaction
    from django.utils import timezone

    from otklik.accounts.choices import Role
    from otklik.accounts.models import User
    from otklik.cases.models import Incident
    from otklik.notifications.models import Notification
    from otklik.sla.choices import ClockKind
    from otklik.sla.escalation import sweep
    from otklik.sla.models import Clock

    operator = User.objects.create(username="op", role=Role.OPERATOR)
    User.objects.create(username="head", role=Role.HEAD)
    now = timezone.now()
    far = now + dt.timedelta(days=30)
    started = time.perf_counter()
    incidents = Incident.objects.bulk_create([Incident(owner=operator) for _ in range(args.clocks)], batch_size=5000)
    Clock.objects.bulk_create(
        [
            Clock(
                kind=ClockKind.ANSWER,
                incident=incident,
                hours=9,
                started_at=now,
                warn_at=far,
                due_at=far,
                long_due_at=far + dt.timedelta(days=1),
            )
            for incident in incidents
        ],
        batch_size=5000,
    )
    print(f"setup: {args.clocks} clocks in {time.perf_counter() - started:.1f} s ({args.db})")
    idle, busy = [], []
    due_count = int(args.clocks * args.due)
    ids = list(Clock.objects.order_by("pk").values_list("pk", flat=True))
    for run_number in range(args.runs):
        started = time.perf_counter()
        result = sweep(timezone.now())
        idle.append(time.perf_counter() - started)
        assert sum(result.values()) == 0, result
        chosen = ids[run_number * due_count : (run_number + 1) * due_count]
        with transaction.atomic():
            Clock.objects.filter(pk__in=chosen).update(
                warn_at=now - dt.timedelta(hours=2), due_at=now - dt.timedelta(hours=1)
            )
        started = time.perf_counter()
        result = sweep(timezone.now())
        busy.append(time.perf_counter() - started)
        assert result["overdue"] == len(chosen), result
    print(f"notifications created: {Notification.objects.count()}")
    print(
        f"| {timezone.localdate()} | {machine()} | {args.db} | sweep over {args.clocks} open clocks, nothing due "
        f"| median {statistics.median(idle):.3f} s |"
    )
    print(
        f"| {timezone.localdate()} | {machine()} | {args.db} | sweep over {args.clocks} open clocks, "
        f"{due_count} overdue (2 notices each) | median {statistics.median(busy):.3f} s |"
    )


if __name__ == "__main__":
    main()
