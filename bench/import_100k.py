"""A 100,000-row «Инцидент Менеджмент» export with 1 % broken rows, imported into PostgreSQL.

Run: `.venv/bin/python bench/import_100k.py` (options: `--rows N` (default 100000), `--broken-every K` (default
100: one row in K is broken), `--format csv|xlsx`, `--keep` (keep the database)). PostgreSQL from OTKLIK_DB_HOST /
OTKLIK_DB_PORT / OTKLIK_DB_USER / OTKLIK_DB_PASSWORD (default 127.0.0.1:5432, postgres); the database
`bench_otklik_import` is created (dropped first if it exists), migrated, and dropped at the end.

What it does, as the import page and the worker do it (`do_create_import_job` → `do_start_import_job` →
`do_run_import_job`): one post and one incident per good row, each row in its own transaction with its `ImportRow`;
a broken row is rejected with its reason. The analysis that each new post would queue is not sent (no broker:
queueing 100,000 tasks would measure the broker; `bench/ingest_bench.py` measures ingestion with it).

Broken rows, in turn: empty text, no date, a date that is not a date, a date in the future, a date before 2000, an
id longer than 255 characters, an author's profile id longer than 255, and an id repeating an earlier row.

It checks: every good row is a post (by its id), every broken row an `ImportRow` rejected with a message, nothing
else; and reports rows/s, the peak RSS of the process (getrusage) and its growth over the import.
"""

from __future__ import annotations

import argparse
import csv
import datetime as dt
import io
import os
import platform
import resource
import sys
import time
from pathlib import Path

BASE_DIR = Path(__file__).resolve().parent.parent
DB_NAME = "bench_otklik_import"
HEADERS = ["ID инцидента", "Дата создания", "Текст", "Ссылка", "Автор", "ID автора", "Рубрика", "Статус"]
TEXTS = [
    "Третий день нет горячей воды в доме на улице Ленина, 12. Управляющая компания трубку не берёт!",
    "На Чапаева у остановки огромная яма, вчера пробил колесо. Когда отремонтируют дорогу?",
    "Во дворе дома 7 по улице Мира неделю не вывозят мусор, контейнеры переполнены, крысы бегают.",
    "Автобус № 5 утром не ходит по расписанию, люди опаздывают на работу, диспетчер не отвечает.",
    "На детской площадке на Нефтяников сломаны качели, дети могут пораниться. Просим заменить.",
    "В подъезде дома 24 по Омской не работает освещение уже месяц, страшно ходить вечером.",
]
BROKEN_KINDS = ("empty_text", "no_date", "bad_date", "future", "too_old", "long_id", "long_author_id", "repeat")


def peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def rss_mb() -> float:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return 0.0


def machine() -> str:
    cpu = platform.processor() or "unknown CPU"
    for line in Path("/proc/cpuinfo").read_text().splitlines():
        if line.startswith("model name"):
            cpu = line.split(":", 1)[1].strip()
            break
    return f"{cpu}, {os.cpu_count()} cores, Python {platform.python_version()}"


def make_rows(count: int, broken_every: int, start: dt.datetime) -> tuple[list[list[str]], dict[str, int], set[str]]:
    """The export's rows; the broken ones by kind; the ids of the good ones."""
    rows: list[list[str]] = []
    broken: dict[str, int] = dict.fromkeys(BROKEN_KINDS, 0)
    good: set[str] = set()
    for n in range(1, count + 1):
        posted = start + dt.timedelta(minutes=n % 40_000)
        row = [
            f"IM-{n:07d}",
            posted.strftime("%d.%m.%Y %H:%M"),
            f"{TEXTS[n % len(TEXTS)]} (обращение {n})",
            f"https://vk.com/wall-123456_{n}",
            f"Житель {n % 5000}",
            f"id{n % 5000}",
            "",
            "Новый",
        ]
        if n % broken_every == 0:
            kind = BROKEN_KINDS[(n // broken_every) % len(BROKEN_KINDS)]
            broken[kind] += 1
            if kind == "empty_text":
                row[2] = "  "
            elif kind == "no_date":
                row[1] = ""
            elif kind == "bad_date":
                row[1] = "32.13.2026 25:61"
            elif kind == "future":
                row[1] = "01.01.2099 10:00"
            elif kind == "too_old":
                row[1] = "01.01.1990 10:00"
            elif kind == "long_id":
                row[0] = "IM-" + "9" * 300
            elif kind == "long_author_id":
                row[5] = "x" * 300
            elif kind == "repeat":
                row[0] = f"IM-{n - 1:07d}"  # the row before: a good one (n - 1 is never a multiple of K > 1)
        else:
            good.add(row[0])
        rows.append(row)
    return rows, broken, good


def to_csv(rows: list[list[str]]) -> bytes:
    out = io.StringIO()
    writer = csv.writer(out, delimiter=";", lineterminator="\r\n")
    writer.writerow(HEADERS)
    writer.writerows(rows)
    return ("\ufeff" + out.getvalue()).encode("utf-8")


def to_xlsx(rows: list[list[str]]) -> bytes:
    from openpyxl import Workbook

    book = Workbook(write_only=True)
    sheet = book.create_sheet()
    sheet.append(HEADERS)
    for row in rows:
        sheet.append(row)
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


def admin_connection():  # type: ignore[no-untyped-def]
    import psycopg

    return psycopg.connect(
        host=os.environ.get("OTKLIK_DB_HOST", "127.0.0.1"),
        port=int(os.environ.get("OTKLIK_DB_PORT", "5432")),
        user=os.environ.get("OTKLIK_DB_USER", "postgres"),
        password=os.environ.get("OTKLIK_DB_PASSWORD", ""),
        dbname="postgres",
        autocommit=True,
    )


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=100_000)
    parser.add_argument("--broken-every", type=int, default=100)
    parser.add_argument("--format", choices=("csv", "xlsx"), default="csv")
    parser.add_argument("--keep", action="store_true", help="keep the database bench_otklik_import")
    parser.add_argument(
        "--read-only", action="store_true", help="only read and map every row (no database): the reader's memory"
    )
    args = parser.parse_args()
    if args.read_only:
        os.environ.setdefault("DJANGO_SETTINGS_MODULE", "otklik.settings")
        sys.path.insert(0, str(BASE_DIR))
        return read_only(args)

    with admin_connection() as admin:
        admin.execute(f'DROP DATABASE IF EXISTS "{DB_NAME}" WITH (FORCE)')
        admin.execute(f'CREATE DATABASE "{DB_NAME}"')
    os.environ.update(
        DJANGO_SETTINGS_MODULE="otklik.settings",
        OTKLIK_DB="postgres",
        OTKLIK_DB_NAME=DB_NAME,
        OTKLIK_LOG_LEVEL="WARNING",
        OTKLIK_VAR_DIR=str(BASE_DIR / "var" / f"bench-import-{os.getpid()}"),
    )
    sys.path.insert(0, str(BASE_DIR))
    try:
        return run(args)
    finally:
        from django.db import connections

        connections.close_all()
        if not args.keep:
            with admin_connection() as admin:
                admin.execute(f'DROP DATABASE IF EXISTS "{DB_NAME}" WITH (FORCE)')
        import shutil

        shutil.rmtree(os.environ["OTKLIK_VAR_DIR"], ignore_errors=True)


def read_only(args: argparse.Namespace) -> int:
    """Read the file and map every row as the import does, writing nothing: the reader's time and memory."""
    import django

    django.setup()
    from django.utils import timezone

    from otklik.intake.importing import guess_mapping, map_rows, read_table

    start = timezone.localtime(timezone.now() - dt.timedelta(days=60)).replace(tzinfo=None)
    rows, broken, good = make_rows(args.rows, args.broken_every, start)
    data = to_csv(rows) if args.format == "csv" else to_xlsx(rows)
    del rows
    rss_before = rss_mb()
    t0 = time.monotonic()
    table = read_table(data)
    mapping = guess_mapping(table.headers)
    ok = rejected = 0
    highest = rss_before
    for n, row in enumerate(map_rows(table.rows, mapping, table.headers), start=1):
        if row.ok:
            ok += 1
        else:
            rejected += 1
        if n % 5000 == 0:
            highest = max(highest, rss_mb())
    seconds = time.monotonic() - t0
    # For comparison: the rows held in a list all at once, as the reader did before it streamed them.
    before_list = rss_mb()
    held = list(table.rows)
    as_list = rss_mb() - before_list
    del held
    load = os.getloadavg()
    print(f"Machine: {machine()}; load average {load[0]:.2f} {load[1]:.2f} {load[2]:.2f}")
    print(f"File: {args.format.upper()} {len(data) / 1e6:.1f} MB, {table.total_rows} rows")
    print(f"Read + map: {seconds:.1f} s, {args.rows / seconds:.0f} rows/s; good {ok}, rejected {rejected}")
    print(f"Memory: RSS {rss_before:.0f} MB with the file in memory, at most {highest:.0f} MB while mapping")
    print(f"(the same rows held in a list at once: +{as_list:.0f} MB)")
    expected_ok = len(good)
    return 0 if (ok, rejected) == (expected_ok, sum(broken.values())) else 1


def run(args: argparse.Namespace) -> int:
    import django

    django.setup()
    from django.core.management import call_command
    from django.utils import timezone

    t0 = time.monotonic()
    call_command("migrate", verbosity=0)
    print(f"migrated {DB_NAME} in {time.monotonic() - t0:.0f} s")

    from otklik.intake import tasks
    from otklik.intake.choices import ImportOutcome, ImportStatus
    from otklik.intake.models import ImportRow, Post
    from otklik.intake.services import do_create_import_job, do_run_import_job, do_start_import_job
    from tests.factories import make_user

    tasks.analyze_post.delay_on_commit = lambda *a, **k: None  # type: ignore[method-assign]  # see the docstring
    operator = make_user("bench-operator", role="operator")

    start = timezone.now() - dt.timedelta(days=60)
    rows, broken, good = make_rows(args.rows, args.broken_every, timezone.localtime(start).replace(tzinfo=None))
    data = to_csv(rows) if args.format == "csv" else to_xlsx(rows)
    del rows
    print(f"{args.format.upper()}: {len(data) / 1e6:.1f} MB, {args.rows} rows, {sum(broken.values())} broken")
    rss_before = rss_mb()

    t_read = time.monotonic()
    job = do_create_import_job(actor=operator, data=data, file_name=f"im-100k.{args.format}")
    read_seconds = time.monotonic() - t_read
    assert job.total_rows == args.rows, job.total_rows
    job = do_start_import_job(job, actor=operator, mapping=dict(job.mapping), channel=job.channel, enqueue=False)

    samples: list[float] = []

    def progress(current) -> None:  # type: ignore[no-untyped-def]
        if current.processed_rows % 5000 == 0:
            samples.append(rss_mb())
            print(f"  {current.processed_rows:>7} rows, RSS {samples[-1]:.0f} MB", flush=True)

    t_import = time.monotonic()
    job = do_run_import_job(job.pk, progress=progress)
    import_seconds = time.monotonic() - t_import
    rss_after = rss_mb()

    # Every good row in, every broken row reported, nothing else.
    assert job.status == ImportStatus.DONE, (job.status, job.error)
    imported = set(Post.objects.filter(external_id__startswith="IM-").values_list("external_id", flat=True))
    rejected = ImportRow.objects.filter(job=job, outcome=ImportOutcome.REJECTED)
    missing_message = rejected.filter(message="").count()
    checks = {
        "every good row is a post": imported == good,
        "posts = imported rows": job.imported == len(good),
        "every broken row rejected": job.rejected == sum(broken.values()),
        "each rejection has its reason": missing_message == 0,
        "nothing skipped or updated": job.skipped == 0 and job.updated == 0,
    }
    messages: dict[str, str] = {}
    for row in rejected.order_by("row_number")[: 4 * len(BROKEN_KINDS)]:
        messages.setdefault(row.message.split(" ")[0] + " " + row.message.split(" ")[1], row.message)

    load = os.getloadavg()
    print()
    print(f"Machine: {machine()}; load average {load[0]:.2f} {load[1]:.2f} {load[2]:.2f}")
    print(f"Date: {dt.datetime.now(dt.UTC):%Y-%m-%d %H:%M} UTC; PostgreSQL {DB_NAME}")
    print(f"File: {args.format.upper()} {len(data) / 1e6:.1f} MB, {args.rows} rows, broken: {broken}")
    print(f"Read and count (upload step): {read_seconds:.1f} s")
    print(
        f"Import: {import_seconds:.0f} s, {args.rows / import_seconds:.0f} rows/s; "
        f"imported {job.imported}, rejected {job.rejected}, skipped {job.skipped}, updated {job.updated}"
    )
    print(
        f"Memory: RSS {rss_before:.0f} MB before reading, {rss_after:.0f} MB after the import; "
        f"samples every 5000 rows: min {min(samples, default=0):.0f} / max {max(samples, default=0):.0f} MB; "
        f"peak RSS {peak_rss_mb():.0f} MB"
    )
    print("Rejections (examples):")
    for message in messages.values():
        print(f"  - {message}")
    for name, ok in checks.items():
        print(f"{'ok  ' if ok else 'FAIL'} {name}")
    return 0 if all(checks.values()) else 1


if __name__ == "__main__":
    raise SystemExit(main())
