"""Ingestion with the whole NLP pipeline, end to end: PostgreSQL, a Redis broker, real Celery workers → posts/s.

Run (PostgreSQL and Redis on the local machine, as `make run-pg` expects them):

    .venv/bin/python bench/ingest_workers_bench.py                       # 600 posts × 3 runs, both worker layouts
    .venv/bin/python bench/ingest_workers_bench.py --posts 1000 --runs 5 --workers 2x1
    .venv/bin/python bench/ingest_workers_bench.py --batch 1             # the analysis one post per task

Options: `--posts N` per run (default 600), `--runs R` (default 3; the median is reported), `--mode live,drain`
(live: the clock runs while the posts are fed and the workers analyse them as they come; drain: the posts are fed
first, with the workers not consuming, then the workers are let loose on the backlog — a spike; default both),
`--workers LAYOUTS`
(comma-separated `PROCESSESxCONCURRENCY`: `2x1` = two worker processes of prefork concurrency 1, `1x2` = one of
concurrency 2; default `2x1,1x2`), `--batch B` (OTKLIK_ANALYSIS_BATCH for the workers: at most B posts analysed
together per task; default: the setting's default), `--feeders F` (processes feeding posts, default 1),
`--pg-host/--pg-port/--pg-user`, `--db NAME` (default bench_otklik_ingest), `--redis URL` (default
redis://127.0.0.1:6379/9; the results go to the next database number), `--keep` (leave the database).

What it does:
1. A throwaway PostgreSQL database (dropped and created again; dropped at the end) and a Redis database (flushed
   before each layout and at the end); a private OTKLIK_VAR_DIR (var/bench-ingest-<pid>/, deleted at the end) with
   a copy of the model caches of var/nlp/, as a worker that has run before has them. Mail goes to the locmem backend.
2. migrate, the rubricator, the demo organisation (departments, territories, routing rules, users, gazetteer:
   the reference part of `load_demo`, without its stream of posts).
3. For each layout: the Celery workers are started (`celery -A otklik worker --pool prefork`), they load their
   models (`otklik.nlp.warmup`), 20 warm-up posts are fed and analysed (not measured).
4. Each run: the feeder(s) ingest N posts through `otklik.intake.services.do_ingest_post` (the path of the API,
   the imports and the pollers: a post, its incident, an event, the analysis task published after commit), texts
   of the team's corpus (tests/nlp/data + the corpus, in turn, ≈150 characters), while the workers analyse them.
   The clock runs from the first post to the moment no post of the run is `pending` any more (the pipeline's
   "analysed" marker: `Post.analysis_status` done/failed, set in the transaction that classifies, places, merges
   and routes the incident). posts/s = N / that time. In drain mode the clock starts when the workers are let
   loose on the N posts fed before. Also reported: the feeding rate, the outcomes (routed / triage / merged / …,
   from the incidents' statuses), failures, and the CPU time per post of the worker processes, of the PostgreSQL
   server processes serving the bench database and of the feeder (psutil): their sum says what the machine could
   do when nothing else runs on it (2 cores → 2000 / sum posts/s), whatever the load while measuring.
5. The workers are stopped; the database and the broker are cleaned up.

The machine is shared while this runs (the feeder, PostgreSQL, Redis and the workers on the same cores): the load
average before each layout is printed; take the numbers with it.
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import platform
import shutil
import signal
import statistics
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path
from typing import Any

BASE_DIR = Path(__file__).resolve().parent.parent
WARMUP_POSTS = 20


def machine() -> str:
    cpu = platform.processor() or "unknown CPU"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    return f"nproc {os.cpu_count()}, {cpu}"


def load_average() -> str:
    try:
        return " ".join(Path("/proc/loadavg").read_text().split()[:3])
    except OSError:
        return "?"


def environment(args: argparse.Namespace, var_dir: Path) -> dict[str, str]:
    env = dict(os.environ)
    base, _slash, number = args.redis.rpartition("/")
    results = f"{base}/{int(number) + 1}" if number.isdigit() else args.redis
    env.update(
        OTKLIK_VAR_DIR=str(var_dir),
        OTKLIK_DB="postgres",
        OTKLIK_DB_NAME=args.db,
        OTKLIK_DB_HOST=args.pg_host,
        OTKLIK_DB_PORT=str(args.pg_port),
        OTKLIK_DB_USER=args.pg_user,
        OTKLIK_CELERY_EAGER="0",
        OTKLIK_BROKER_URL=args.redis,
        OTKLIK_RESULT_BACKEND=results,
        OTKLIK_EMAIL_BACKEND="django.core.mail.backends.locmem.EmailBackend",
        OTKLIK_LOG_LEVEL="WARNING",
        DJANGO_SETTINGS_MODULE="otklik.settings",
        PYTHONPATH=str(BASE_DIR),
    )
    if args.batch is not None:
        env["OTKLIK_ANALYSIS_BATCH"] = str(args.batch)
    return env


def recreate_database(args: argparse.Namespace, *, create: bool) -> None:
    import psycopg

    with psycopg.connect(
        host=args.pg_host, port=args.pg_port, user=args.pg_user, dbname="postgres", autocommit=True
    ) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{args.db}" WITH (FORCE)')
        if create:
            conn.execute(f'CREATE DATABASE "{args.db}"')


def flush_redis(env: dict[str, str]) -> None:
    import redis

    for url in {env["OTKLIK_BROKER_URL"], env["OTKLIK_RESULT_BACKEND"]}:
        redis.Redis.from_url(url).flushdb()


def setup_django(env: dict[str, str]) -> None:
    os.environ.update(env)
    sys.path.insert(0, str(BASE_DIR))
    import django

    django.setup()
    from django.core.management import call_command

    call_command("migrate", interactive=False, verbosity=0)


def load_reference_data() -> str:
    from django.core.management import call_command
    from django.db import transaction

    from otklik.org.management.commands import load_demo

    command = load_demo.Command()
    command.verbosity = 0
    org = load_demo._read(load_demo.ORG_PATH)
    call_command("load_reference", verbosity=0)
    with transaction.atomic():
        depts = command._departments(org["departments"])
        territories = command._territories(org["territories"])
        command._rules(org, depts, territories)
        command._users(org["users"], depts)
        command._gazetteer()
    return "rubricator, demo departments, territories, routing rules, users, gazetteer"


def corpus_texts() -> list[str]:
    from otklik.nlp.corpus import load

    return [row.text for row in load()]


def ingest(prefix: str, texts: list[str]) -> list[int]:
    from django.utils import timezone

    from otklik.intake.services import default_source, do_ingest_post

    source = default_source("vk")
    ids = []
    for i, text in enumerate(texts):
        result = do_ingest_post(
            source=source,
            external_id=f"{prefix}-{i}",
            text=text,
            posted_at=timezone.now(),
            author_name="Иван Петров",
            author_id=f"id{i % 97}",
        )
        ids.append(result.post.pk)
    return ids


def _feeder(prefix: str, texts: list[str], queue) -> None:  # type: ignore[no-untyped-def]
    from django.db import connection

    connection.close()  # a fresh connection in the child
    start = time.perf_counter()
    ids = ingest(prefix, texts)
    queue.put((ids, time.perf_counter() - start))


def feed(prefix: str, texts: list[str], feeders: int) -> tuple[list[int], float]:
    """Ingest the texts (in `feeders` processes); → the posts' ids and the seconds the feeding took."""
    if feeders <= 1:
        start = time.perf_counter()
        return ingest(prefix, texts), time.perf_counter() - start
    import multiprocessing

    from django.db import connection

    connection.close()
    ctx = multiprocessing.get_context("fork")
    queue = ctx.Queue()
    parts = [texts[i::feeders] for i in range(feeders)]
    procs = [ctx.Process(target=_feeder, args=(f"{prefix}-f{i}", part, queue)) for i, part in enumerate(parts)]
    start = time.perf_counter()
    for proc in procs:
        proc.start()
    results = [queue.get() for _proc in procs]
    for proc in procs:
        proc.join()
    ids = [pk for part_ids, _seconds in results for pk in part_ids]
    return ids, time.perf_counter() - start


def pending(ids: list[int]) -> int:
    from otklik.intake.choices import AnalysisStatus
    from otklik.intake.models import Post

    return Post.objects.filter(pk__in=ids, analysis_status=AnalysisStatus.PENDING).count()


def wait_analysed(ids: list[int], timeout: float) -> float | None:
    """Poll until none of the posts is pending; → the moment (perf_counter) or None on timeout."""
    deadline = time.perf_counter() + timeout
    while time.perf_counter() < deadline:
        if pending(ids) == 0:
            return time.perf_counter()
        time.sleep(0.05)
    return None


def analyze_tables() -> None:
    """ANALYZE the bench database before a run. The database starts empty and grows by thousands of rows a minute,
    faster than autovacuum's next look (autovacuum_naptime, 1 min): without statistics the planner guesses, e.g. a
    clock's lookup by incident AND-ed with a scan of every open clock, which grows with each run. A database in use
    has its statistics kept by autovacuum."""
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("ANALYZE")


def outcomes(ids: list[int]) -> Counter[str]:
    from otklik.intake.models import Post

    counts: Counter[str] = Counter()
    for status, incident_status in Post.objects.filter(pk__in=ids).values_list("analysis_status", "incident__status"):
        counts[f"{status}/{incident_status}" if status == "done" else status] += 1
    return counts


def cpu_seconds(pids: list[int], *, children: bool = False) -> float:
    """User + system CPU seconds of these processes (and their children); 0 without psutil."""
    try:
        import psutil
    except ImportError:
        return 0.0
    total = 0.0
    for pid in pids:
        try:
            proc = psutil.Process(pid)
            procs = [proc, *(proc.children(recursive=True) if children else [])]
            for one in procs:
                times = one.cpu_times()
                total += times.user + times.system
        except psutil.Error:
            continue
    return total


def cpu_by_process(pids: list[int]) -> dict[int, float]:
    """pid → user + system CPU seconds, for those of these processes still running; {} without psutil."""
    try:
        import psutil
    except ImportError:
        return {}
    found = {}
    for pid in pids:
        try:
            times = psutil.Process(pid).cpu_times()
        except psutil.Error:
            continue
        found[pid] = times.user + times.system
    return found


def database_backends(db: str) -> list[int]:
    """The PostgreSQL server processes serving the bench database (on this machine: their CPU is counted)."""
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("SELECT pid FROM pg_stat_activity WHERE datname = %s", [db])
        return [row[0] for row in cursor.fetchall()]


def consumers(workers: list[subprocess.Popen[bytes]], *, on: bool) -> None:
    """Make the workers start (on) or stop (off) consuming the analysis queue (Celery's remote control)."""
    import socket

    from otklik.celery import app

    hosts = [f"bench{i}-{os.getpid()}@{socket.gethostname()}" for i in range(len(workers))]
    if on:
        app.control.add_consumer("celery", destination=hosts, reply=True, timeout=10)
    else:
        app.control.cancel_consumer("celery", destination=hosts, reply=True, timeout=10)


def start_workers(layout: str, env: dict[str, str], log_dir: Path) -> list[subprocess.Popen[bytes]]:
    processes, _x, concurrency = layout.partition("x")
    workers = []
    worker_env = dict(env, OTKLIK_LOG_LEVEL="INFO")  # the warm-up's "analysis models loaded" line
    for i in range(int(processes)):
        log = log_dir / f"worker-{layout}-{i}.log"
        out = log.open("ab")
        workers.append(
            subprocess.Popen(  # noqa: S603 - our own celery, fixed arguments
                [
                    str(BASE_DIR / ".venv" / "bin" / "celery"),
                    "-A",
                    "otklik",
                    "worker",
                    "--pool",
                    "prefork",
                    "--concurrency",
                    concurrency or "1",
                    "-n",
                    f"bench{i}-{os.getpid()}@%h",
                    "--without-gossip",
                    "--without-mingle",
                    "--loglevel",
                    "INFO",
                ],
                env=worker_env,
                cwd=BASE_DIR,
                stdout=out,
                stderr=subprocess.STDOUT,
            )
        )
    return workers


def wait_models_loaded(log_dir: Path, layout: str, children: int, timeout: float = 600) -> None:
    """Wait until every worker child has logged that its models are loaded (otklik.nlp.warmup)."""
    deadline = time.time() + timeout
    while time.time() < deadline:
        loaded = sum(
            path.read_text(errors="replace").count("analysis models loaded")
            for path in log_dir.glob(f"worker-{layout}-*.log")
        )
        if loaded >= children:
            return
        time.sleep(0.5)
    print(f"# WARNING: not every worker child reported its models loaded within {timeout:.0f} s")


def stop_workers(workers: list[subprocess.Popen[bytes]]) -> None:
    for proc in workers:
        if proc.poll() is None:
            proc.send_signal(signal.SIGTERM)
    for proc in workers:
        try:
            proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


def run_layout(
    layout: str,
    args: argparse.Namespace,
    env: dict[str, str],
    texts: list[str],
    log_dir: Path,
    offset: int,
    modes: list[str],
) -> dict[str, Any]:
    processes, _x, concurrency = layout.partition("x")
    children = int(processes) * int(concurrency or "1")
    flush_redis(env)
    load = load_average()
    workers = start_workers(layout, env, log_dir)
    try:
        wait_models_loaded(log_dir, layout, children)
        warm = ingest(f"{layout}-warmup", texts[offset : offset + WARMUP_POSTS])
        if wait_analysed(warm, timeout=120) is None:
            raise SystemExit("the warm-up posts were not analysed in 120 s: are the workers running?")
        rows: dict[str, dict[str, list[float]]] = {}
        counts: Counter[str] = Counter()
        run = 0
        for _repeat in range(args.runs):
            for mode in modes:
                analyze_tables()  # not timed: the statistics autovacuum keeps on a database in use
                start_at = offset + WARMUP_POSTS + run * args.posts
                batch = [texts[(start_at + i) % len(texts)] for i in range(args.posts)]
                row = rows.setdefault(
                    mode, {"rate": [], "fed": [], "drain": [], "worker_cpu": [], "pg_cpu": [], "feed_cpu": []}
                )
                worker_pids = [proc.pid for proc in workers]
                if mode == "drain":
                    consumers(workers, on=False)
                    ids, fed = feed(f"{layout}-run{run}", batch, args.feeders)
                    backends = database_backends(args.db)
                    cpu0 = cpu_seconds(worker_pids, children=True), cpu_by_process(backends)
                    start = time.perf_counter()
                    consumers(workers, on=True)
                    feed_cpu = 0.0
                else:
                    backends = database_backends(args.db)
                    cpu0 = cpu_seconds(worker_pids, children=True), cpu_by_process(backends)
                    own0 = os.times()
                    start = time.perf_counter()
                    ids, fed = feed(f"{layout}-run{run}", batch, args.feeders)
                    own1 = os.times()
                    feed_cpu = (own1.user + own1.system + own1.children_user + own1.children_system) - (
                        own0.user + own0.system + own0.children_user + own0.children_system
                    )
                done = wait_analysed(ids, timeout=max(180.0, args.posts))
                if done is None:
                    raise SystemExit(f"run {run}: {pending(ids)} posts still pending after the timeout")
                backends_after = set(backends) | set(database_backends(args.db))
                worker_cpu = cpu_seconds(worker_pids, children=True) - cpu0[0]
                # A backend that ended during the run is left out (its CPU since the start is not known).
                pg_after = cpu_by_process(sorted(backends_after))
                pg_cpu = sum(seconds - cpu0[1].get(pid, 0.0) for pid, seconds in pg_after.items())
                total = done - start
                n = len(ids)
                row["rate"].append(n / total)
                row["fed"].append(fed)
                row["drain"].append(total - fed if mode == "live" else total)
                row["worker_cpu"].append(1000 * worker_cpu / n)
                row["pg_cpu"].append(1000 * pg_cpu / n)
                row["feed_cpu"].append(1000 * feed_cpu / n)
                counts.update(outcomes(ids))
                print(
                    f"#   {layout} {mode} run {run}: {n} posts in {total:.1f} s = {n / total:.0f} posts/s "
                    f"(fed in {fed:.1f} s); CPU ms/post: workers {1000 * worker_cpu / n:.1f}, "
                    f"PostgreSQL {1000 * pg_cpu / n:.1f}, feeder {1000 * feed_cpu / n:.1f}; load {load_average()}",
                    flush=True,
                )
                run += 1
                time.sleep(2)  # let the tail of the notifications settle
    finally:
        stop_workers(workers)
    return {
        "layout": layout,
        "rows": rows,
        "outcomes": counts,
        "load": load,
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--posts", type=int, default=600)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--workers", default="2x1,1x2", help="layouts PROCESSESxCONCURRENCY, comma-separated")
    parser.add_argument("--batch", type=int, default=None, help="OTKLIK_ANALYSIS_BATCH for the workers")
    parser.add_argument("--feeders", type=int, default=1)
    parser.add_argument("--mode", default="live,drain", help="live (feed while the workers analyse), drain, or both")
    parser.add_argument("--pg-host", default="127.0.0.1")
    parser.add_argument("--pg-port", type=int, default=5432)
    parser.add_argument("--pg-user", default="postgres")
    parser.add_argument("--db", default="bench_otklik_ingest")
    parser.add_argument("--redis", default="redis://127.0.0.1:6379/9")
    parser.add_argument("--keep", action="store_true", help="do not drop the database at the end")
    args = parser.parse_args()
    layouts = [layout.strip() for layout in args.workers.split(",") if layout.strip()]
    modes = [mode.strip() for mode in args.mode.split(",") if mode.strip() in ("live", "drain")]

    var_dir = BASE_DIR / "var" / f"bench-ingest-{os.getpid()}"
    var_dir.mkdir(parents=True)
    if (BASE_DIR / "var" / "nlp").is_dir():
        shutil.copytree(BASE_DIR / "var" / "nlp", var_dir / "nlp", ignore=shutil.ignore_patterns("*.tmp"))
    env = environment(args, var_dir)
    recreate_database(args, create=True)
    try:
        setup_django(env)
        import django
        from django.conf import settings

        setup = load_reference_data()
        texts = corpus_texts()
        results = [
            run_layout(
                layout, args, env, texts, var_dir, offset=i * (WARMUP_POSTS + args.posts * args.runs * 2), modes=modes
            )
            for i, layout in enumerate(layouts)
        ]
        today = dt.datetime.now(dt.UTC).strftime("%Y-%m-%d %H:%M UTC")
        batch = getattr(settings, "OTKLIK_ANALYSIS_BATCH", 1) if args.batch is None else args.batch
        print(f"# {today}; {machine()}; Python {platform.python_version()}, Django {django.get_version()}")
        print(f"# PostgreSQL {django.db.connection.pg_version}, broker {args.redis}; {setup}")
        print(f"# analysis batch (OTKLIK_ANALYSIS_BATCH) {batch}; feeders {args.feeders}")
        for result in results:
            print(f"# {result['layout']} outcomes: {dict(result['outcomes'])}")
        print(
            "| date | workers | mode | batch | N × runs | median posts/s | runs (posts/s) | feed posts/s | "
            "CPU ms/post: workers + PostgreSQL + feeder | load avg before |"
        )
        print("|---|---|---|---|---|---|---|---|---|---|")
        med = statistics.median
        for result in results:
            for mode, row in result["rows"].items():
                rates = " ".join(f"{r:.0f}" for r in row["rate"])
                feed_rate = f"{args.posts / med(row['fed']):.0f}" if mode == "live" else "(before)"
                cpu = (
                    f"{med(row['worker_cpu']):.1f} + {med(row['pg_cpu']):.1f} + {med(row['feed_cpu']):.1f}"
                    if mode == "live"
                    else f"{med(row['worker_cpu']):.1f} + {med(row['pg_cpu']):.1f}"
                )
                print(
                    f"| {today} | {result['layout']} | {mode} | {batch} | {args.posts} × {args.runs} | "
                    f"{med(row['rate']):.0f} | {rates} | {feed_rate} | {cpu} | {result['load']} |"
                )
        print(f"# machine: {machine()}")
        failed = sum(result["outcomes"].get("failed", 0) for result in results)
        if failed:
            print(f"# WARNING: {failed} posts failed analysis (see {var_dir}/worker-*.log)")
    finally:
        from django.db import connections

        connections.close_all()
        try:
            flush_redis(env)
        except Exception as error:  # noqa: BLE001
            print(f"# could not flush Redis: {error!r}")
        if not args.keep:
            recreate_database(args, create=False)
            shutil.rmtree(var_dir, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
