"""The load test: 50 operators working at once against gunicorn on PostgreSQL, driven by locust from another process.

Usage (from the repository root; PostgreSQL at 127.0.0.1:5432, user postgres, as for `make test`):

    .venv/bin/python bench/load_test.py                     # the full run: 50 operators for 5 minutes
    .venv/bin/python bench/load_test.py --duration 30s      # a quick check
    .venv/bin/python bench/load_test.py --fresh             # drop and rebuild the demo database first
    .venv/bin/python bench/load_test.py --db otklik_scale   # on an existing (e.g. the 1M-post) database; read-only
                                                            # unless --writes

What it does:

1. The database (OTKLIK_DB=postgres): by default `bench_otklik_load`, created when missing (or with `--fresh`)
   and filled by `scripts/prepare_db.py` (migrations, reference data, the demo city); when present, migrated.
   With `--db NAME` an existing, migrated database is used as it is.
2. `--users` operators `load_op01…` (role operator) with one known password (`--password`), created or reset;
   their rows and the dashboard's snapshots (below) are the only change made to a database given with `--db`.
3. gunicorn `otklik.wsgi:application` on 127.0.0.1:`--port` with `--workers` sync workers (default 2 × cores + 1)
   and production settings over plain HTTP: OTKLIK_DEBUG=0, a random OTKLIK_SECRET_KEY, OTKLIK_HTTPS=0 (no TLS
   proxy on loopback), static files collected (whitenoise's manifest) into var/bench-load/staticfiles, an
   in-memory Celery broker (the web only enqueues; no worker is needed for the pages measured), logging at
   WARNING.
   The dashboard's snapshots of its default views are computed once before the run (`refresh_snapshots`, what
   production's beat does every 5 minutes; they stay fresh for 12): without them every dashboard request computes
   its figures live, as on a deployment whose beat is stopped — `--no-snapshots` measures that.
4. locust, headless, in its own process: `-u USERS -r SPAWN_RATE -t DURATION --csv` with `bench/locustfile.py`
   (log in with the form and its CSRF token; inbox views, filters and search as the page's HTMX requests make
   them; the new-items poll; incident cards with their on-load HTMX requests; the live answer check; the
   dashboard now and then; "take into work" as the only write, skipped with `--read-only`).
5. Prints per request type the count, failures, p50/p95/p99 and requests/s, the totals and the error rate,
   the load average before and after (the machine may be shared: read the numbers with it), and the lines
   of gunicorn's log that report an error. Results (locust CSVs, gunicorn log, summary.json, summary.md) go to
   `--out` (default `var/bench-load/<UTC timestamp>/`).

Exit status: 0 when no request failed and gunicorn logged no error, 1 otherwise, 2 when the set-up failed.
"""

from __future__ import annotations

import argparse
import contextlib
import csv
import datetime as dt
import json
import os
import platform
import secrets
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path
from typing import Any

BASE_DIR = Path(__file__).resolve().parent.parent
VENV_BIN = BASE_DIR / ".venv" / "bin"
PYTHON = str(VENV_BIN / "python") if (VENV_BIN / "python").exists() else sys.executable
DEFAULT_DB = "bench_otklik_load"
STATIC_ROOT = BASE_DIR / "var" / "bench-load" / "staticfiles"


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--duration", default="5m", help="locust run time, e.g. 30s, 5m (default 5m)")
    parser.add_argument("--users", type=int, default=50, help="concurrent operators (default 50)")
    parser.add_argument("--spawn-rate", type=float, default=10, help="operators started per second (default 10)")
    parser.add_argument("--db", default=DEFAULT_DB, help=f"PostgreSQL database (default {DEFAULT_DB}, demo data)")
    parser.add_argument("--fresh", action="store_true", help=f"drop and rebuild {DEFAULT_DB} first")
    parser.add_argument("--workers", type=int, default=2 * (os.cpu_count() or 1) + 1, help="gunicorn workers")
    parser.add_argument("--threads", type=int, default=1, help="threads per gunicorn worker (default 1: sync)")
    parser.add_argument("--port", type=int, default=18000, help="gunicorn port on 127.0.0.1 (default 18000)")
    parser.add_argument("--password", default="otklik-load-test", help="password of the load_op* users")
    parser.add_argument("--wait", default="1,3", help="think time between an operator's actions, min,max seconds")
    writes = parser.add_mutually_exclusive_group()
    writes.add_argument("--writes", dest="writes", action="store_true", default=None, help="take incidents")
    writes.add_argument("--read-only", dest="writes", action="store_false", help="no write action")
    parser.add_argument("--static", action="store_true", help="each operator loads the CSS/JS once (whitenoise)")
    parser.add_argument(
        "--no-snapshots", dest="snapshots", action="store_false", help="no dashboard snapshots: every one computed live"
    )
    parser.add_argument("--out", type=Path, default=None, help="results directory")
    args = parser.parse_args()
    if args.writes is None:
        args.writes = args.db == DEFAULT_DB  # someone else's database is only read unless asked
    return args


def server_env(args: argparse.Namespace) -> dict[str, str]:
    env = dict(os.environ)
    env.update(
        {
            "OTKLIK_DB": "postgres",
            "OTKLIK_DB_NAME": args.db,
            "OTKLIK_DB_HOST": env.get("OTKLIK_DB_HOST", "127.0.0.1"),
            "OTKLIK_DB_PORT": env.get("OTKLIK_DB_PORT", "5432"),
            "OTKLIK_DB_USER": env.get("OTKLIK_DB_USER", "postgres"),
            "OTKLIK_DEBUG": "0",
            "OTKLIK_SECRET_KEY": secrets.token_urlsafe(50),
            # Production settings, but plain http on loopback (no TLS proxy in front): no redirect, no Secure cookies.
            "OTKLIK_HTTPS": "0",
            "OTKLIK_STATIC_ROOT": str(STATIC_ROOT),
            "OTKLIK_ALLOWED_HOSTS": "127.0.0.1,localhost",
            "OTKLIK_SITE_URL": f"http://127.0.0.1:{args.port}",
            "OTKLIK_BROKER_URL": "memory://",
            "OTKLIK_RESULT_BACKEND": "cache+memory://",
            "OTKLIK_LOG_LEVEL": env.get("OTKLIK_LOG_LEVEL", "WARNING"),
            "DJANGO_SETTINGS_MODULE": "otklik.settings",
        }
    )
    env.pop("OTKLIK_FAST_TESTS", None)
    return env


def pg_connect(env: dict[str, str], dbname: str) -> Any:
    import psycopg

    return psycopg.connect(
        dbname=dbname,
        host=env["OTKLIK_DB_HOST"],
        port=env["OTKLIK_DB_PORT"],
        user=env["OTKLIK_DB_USER"],
        password=env.get("OTKLIK_DB_PASSWORD", ""),
        autocommit=True,
    )


def prepare_database(args: argparse.Namespace, env: dict[str, str]) -> None:
    with pg_connect(env, "postgres") as conn:
        exists = conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", [args.db]).fetchone() is not None
        if args.db != DEFAULT_DB:
            if not exists:
                raise SystemExit(f"database {args.db!r} does not exist (only {DEFAULT_DB} is created here)")
            print(f"==> database {args.db}: used as it is", flush=True)
            return
        if exists and args.fresh:
            print(f"==> dropping {args.db}", flush=True)
            conn.execute(f'DROP DATABASE "{args.db}" WITH (FORCE)')
            exists = False
        if not exists:
            conn.execute(f'CREATE DATABASE "{args.db}"')
    if exists:  # prepared by an earlier run: only the migrations of newer code
        print(f"==> database {args.db}: present, migrating (--fresh rebuilds it)", flush=True)
        migrate = [PYTHON, "manage.py", "migrate", "--noinput", "-v", "0"]
        subprocess.run(migrate, cwd=BASE_DIR, env=env, check=True)  # noqa: S603 - fixed arguments
        return
    print(f"==> preparing {args.db} (scripts/prepare_db.py: migrations, reference data, demo city)", flush=True)
    prepare = [PYTHON, str(BASE_DIR / "scripts" / "prepare_db.py")]
    subprocess.run(prepare, cwd=BASE_DIR, env=env, check=True)  # noqa: S603 - our own script, fixed arguments


CREATE_USERS = """
import sys
import django
django.setup()
from django.contrib.auth.hashers import make_password
from otklik.accounts.models import User
count, password = int(sys.argv[1]), sys.argv[2]
encoded = make_password(password)  # hashed once, shared: 50 hashings would only slow the set-up
names = [f"load_op{i:02d}" for i in range(1, count + 1)]
for name in names:
    User.objects.update_or_create(
        username=name,
        defaults={"role": "operator", "password": encoded, "is_active": True, "first_name": "Load",
                  "last_name": name.removeprefix("load_op")},
    )
print(",".join(names))
"""


def create_users(args: argparse.Namespace, env: dict[str, str]) -> list[str]:
    result = subprocess.run(  # noqa: S603 - our own code, fixed arguments
        [PYTHON, "-c", CREATE_USERS, str(args.users), args.password],
        cwd=BASE_DIR,
        env=env,
        check=True,
        capture_output=True,
        text=True,
    )
    names = result.stdout.strip().splitlines()[-1].split(",")
    print(f"==> {len(names)} operators: {names[0]} … {names[-1]}", flush=True)
    return names


def collect_static(env: dict[str, str]) -> None:
    """Production serves hashed, compressed copies (whitenoise's manifest): collected once, updated incrementally."""
    print(f"==> collectstatic into {STATIC_ROOT}", flush=True)
    command = [PYTHON, "manage.py", "collectstatic", "--noinput", "-v", "0"]
    subprocess.run(command, cwd=BASE_DIR, env=env, check=True)  # noqa: S603 - fixed arguments


def refresh_snapshots(env: dict[str, str]) -> None:
    """The dashboard's default views computed ahead, once, as production's beat does every 5 minutes."""
    print("==> the dashboard's snapshots (refresh_snapshots, as the beat does)", flush=True)
    code = "from otklik.stats.snapshots import refresh_snapshots; print(refresh_snapshots())"
    command = [PYTHON, "manage.py", "shell", "-v", "0", "-c", code]
    subprocess.run(command, cwd=BASE_DIR, env=env, check=True)  # noqa: S603 - fixed arguments


def port_free(port: int) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        return sock.connect_ex(("127.0.0.1", port)) != 0


def start_gunicorn(args: argparse.Namespace, env: dict[str, str], out: Path) -> subprocess.Popen[bytes]:
    if not port_free(args.port):
        raise SystemExit(f"port {args.port} is taken: give another with --port")
    log = out / "gunicorn.log"
    command = [
        str(VENV_BIN / "gunicorn"),
        "otklik.wsgi:application",
        "--bind",
        f"127.0.0.1:{args.port}",
        "--workers",
        str(args.workers),
        "--threads",
        str(args.threads),
        "--timeout",
        "60",
        "--backlog",
        "256",
        "--error-logfile",
        str(log),
        "--log-level",
        "warning",
    ]
    print(f"==> gunicorn: {args.workers} workers × {args.threads} thread(s) on 127.0.0.1:{args.port}", flush=True)
    process = subprocess.Popen(command, cwd=BASE_DIR, env=env, start_new_session=True)  # noqa: S603
    deadline = time.monotonic() + 180  # a busy 2-core machine takes a while to import Django in 5 processes
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise SystemExit(f"gunicorn exited with {process.returncode}: see {log}")
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{args.port}/login/", timeout=5) as response:  # noqa: S310
                if response.status == 200:
                    return process
        except (urllib.error.URLError, ConnectionError, TimeoutError):
            pass
        time.sleep(0.5)
    stop(process)
    raise SystemExit("gunicorn did not answer /login/ within 180 s")


def _workers(pid: int) -> list[int]:
    try:
        return [int(child) for child in Path(f"/proc/{pid}/task/{pid}/children").read_text().split()]
    except OSError:
        return []


def _cpu_seconds(pids: list[int]) -> float:
    total = 0.0
    for pid in pids:
        try:
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
            total += (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
        except (OSError, IndexError, ValueError):
            pass
    return total


def warm_up(args: argparse.Namespace, process: subprocess.Popen[bytes]) -> None:
    """Each worker loads the answer editor's dictionary and index in a background thread when it starts
    (otklik.wsgi), holding the GIL for seconds: wait until the workers use no more CPU (at most 5 minutes), so that the
    measurement does not include it. Then a few requests for the lazy imports."""
    started = time.monotonic()
    previous = -1.0
    while time.monotonic() - started < 300:
        time.sleep(3)
        workers = _workers(process.pid)
        used = _cpu_seconds(workers)
        if len(workers) >= args.workers and 0 <= used - previous < 0.2:
            break
        previous = used
    else:
        print("==> the workers' warm-up did not finish within 5 minutes: measuring anyway", flush=True)
    for _ in range(args.workers * 2):
        with contextlib.suppress(urllib.error.URLError, ConnectionError, TimeoutError):
            urllib.request.urlopen(f"http://127.0.0.1:{args.port}/login/", timeout=30).read()  # noqa: S310
    print(f"==> gunicorn workers warmed up after {time.monotonic() - started:.0f} s", flush=True)


def stop(process: subprocess.Popen[bytes]) -> None:
    # gunicorn's master stops its workers gracefully; its session's group also reaches workers still booting.
    with contextlib.suppress(ProcessLookupError):
        os.killpg(process.pid, signal.SIGTERM)
    try:
        process.wait(timeout=30)
    except subprocess.TimeoutExpired:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, signal.SIGKILL)
        process.wait()


def run_locust(args: argparse.Namespace, users: list[str], out: Path) -> int:
    env = dict(os.environ)
    env.update(
        {
            "LOAD_USERS": ",".join(users),
            "LOAD_PASSWORD": args.password,
            "LOAD_WRITES": "1" if args.writes else "0",
            "LOAD_STATIC": "1" if args.static else "0",
            "LOAD_WAIT": args.wait,
        }
    )
    command = [
        str(VENV_BIN / "locust"),
        "-f",
        str(BASE_DIR / "bench" / "locustfile.py"),
        "--headless",
        "--host",
        f"http://127.0.0.1:{args.port}",
        "-u",
        str(args.users),
        "-r",
        str(args.spawn_rate),
        "-t",
        args.duration,
        "--csv",
        str(out / "locust"),
        "--csv-full-history",
        "--only-summary",
        "--stop-timeout",
        "10",
        "--loglevel",
        "WARNING",
        "--logfile",
        str(out / "locust.log"),
    ]
    print(f"==> locust: {args.users} operators, +{args.spawn_rate:g}/s, for {args.duration}", flush=True)
    return subprocess.run(command, cwd=BASE_DIR, env=env, check=False).returncode  # noqa: S603


def load_average() -> list[float]:
    return [round(x, 2) for x in os.getloadavg()]


def read_stats(out: Path) -> tuple[list[dict[str, Any]], dict[str, Any]]:
    rows: list[dict[str, Any]] = []
    total: dict[str, Any] = {}
    with (out / "locust_stats.csv").open(newline="") as handle:
        for row in csv.DictReader(handle):
            item = {
                "name": row["Name"] if row["Type"] in {"", "None"} else f"{row['Type']} {row['Name']}",
                "requests": int(row["Request Count"]),
                "failures": int(row["Failure Count"]),
                "p50": _ms(row["50%"]),
                "p95": _ms(row["95%"]),
                "p99": _ms(row["99%"]),
                "max": _ms(row["Max Response Time"]),
                "rps": round(float(row["Requests/s"]), 2),
            }
            if row["Name"] == "Aggregated":
                item["name"] = "all requests"
                total = item
            else:
                rows.append(item)
    return rows, total


def _ms(value: str) -> float | None:
    return None if value in {"", "N/A"} else round(float(value))


def read_failures(out: Path) -> list[str]:
    path = out / "locust_failures.csv"
    if not path.exists():
        return []
    with path.open(newline="") as handle:
        return [
            f"{row['Occurrences']}× {row['Method']} {row['Name']}: {row['Error']}" for row in csv.DictReader(handle)
        ]


def server_errors(out: Path) -> list[str]:
    log = out / "gunicorn.log"
    if not log.exists():
        return []
    markers = ("ERROR", "Traceback", "CRITICAL", "WORKER TIMEOUT")
    return [line.rstrip() for line in log.read_text(errors="replace").splitlines() if any(m in line for m in markers)]


def table(rows: list[dict[str, Any]], total: dict[str, Any]) -> str:
    head = "| request | count | failures | p50 ms | p95 ms | p99 ms | max ms | req/s |"
    lines = [head, "|---|---:|---:|---:|---:|---:|---:|---:|"]
    for row in [*sorted(rows, key=lambda r: -r["requests"]), total]:
        lines.append(
            f"| {row['name']} | {row['requests']} | {row['failures']} | {row['p50']} | {row['p95']} | {row['p99']} "
            f"| {row['max']} | {row['rps']} |"
        )
    return "\n".join(lines)


def git_commit() -> str:
    try:
        return subprocess.run(  # noqa: S603
            ["git", "rev-parse", "--short", "HEAD"],  # noqa: S607
            cwd=BASE_DIR,
            capture_output=True,
            text=True,
            check=True,
        ).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        return "?"


def main() -> int:
    args = parse_args()
    started = dt.datetime.now(dt.UTC)
    out = args.out or BASE_DIR / "var" / "bench-load" / started.strftime("%Y%m%dT%H%M%SZ")
    out.mkdir(parents=True, exist_ok=True)
    env = server_env(args)
    try:
        prepare_database(args, env)
        users = create_users(args, env)
        collect_static(env)
        if args.snapshots:
            refresh_snapshots(env)
    except (subprocess.CalledProcessError, OSError) as exc:
        print(f"set-up failed: {exc}", file=sys.stderr)
        return 2
    process = start_gunicorn(args, env, out)
    try:
        warm_up(args, process)
        load_before = load_average()
        locust_status = run_locust(args, users, out)
        load_after = load_average()
    finally:
        stop(process)

    if not (out / "locust_stats.csv").exists():
        print(f"locust wrote no statistics (exit {locust_status}); see {out / 'locust.log'}", file=sys.stderr)
        return 2
    rows, total = read_stats(out)
    failures = read_failures(out)
    errors = server_errors(out)
    error_rate = total["failures"] / total["requests"] if total.get("requests") else 0.0
    command = "bench/load_test.py " + " ".join(sys.argv[1:])
    summary = {
        "date": started.isoformat(timespec="seconds"),
        "commit": git_commit(),
        "machine": f"{platform.node()}: {os.cpu_count()} cores, {platform.processor() or platform.machine()}, "
        f"Python {platform.python_version()}",
        "command": command.strip(),
        "database": args.db,
        "users": args.users,
        "duration": args.duration,
        "gunicorn": f"{args.workers} workers × {args.threads} thread(s)",
        "writes": args.writes,
        "snapshots": args.snapshots,
        "load_average_before": load_before,
        "load_average_after": load_after,
        "requests": total.get("requests", 0),
        "failures": total.get("failures", 0),
        "error_rate": error_rate,
        "rps": total.get("rps"),
        "p50_ms": total.get("p50"),
        "p95_ms": total.get("p95"),
        "p99_ms": total.get("p99"),
        "rows": rows,
        "failure_lines": failures,
        "server_error_lines": errors[:50],
    }
    (out / "summary.json").write_text(json.dumps(summary, ensure_ascii=False, indent=2))
    report = [
        f"Load test {summary['date']} (commit {summary['commit']}), {summary['machine']}",
        f"`{summary['command']}`: database {args.db}, {args.users} operators for {args.duration}, "
        f"gunicorn {summary['gunicorn']}, writes {'on' if args.writes else 'off'}, "
        f"dashboard snapshots {'refreshed before the run' if args.snapshots else 'none (computed live)'}",
        f"load average before {load_before}, after {load_after}",
        "",
        table(rows, total),
        "",
        f"requests {summary['requests']}, failures {summary['failures']}, error rate {error_rate:.2%}, "
        f"{summary['rps']} req/s, p50 {summary['p50_ms']} ms, p95 {summary['p95_ms']} ms, p99 {summary['p99_ms']} ms",
    ]
    if failures:
        report += ["", "Failures:", *failures]
    if errors:
        report += ["", f"gunicorn logged {len(errors)} error line(s), the first ones:", *errors[:20]]
    text = "\n".join(report)
    (out / "summary.md").write_text(text + "\n")
    print()
    print(text)
    print(f"\nresults in {out}")
    return 1 if summary["failures"] or errors else 0


if __name__ == "__main__":
    sys.exit(main())
