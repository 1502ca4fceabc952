"""Ingestion throughput on SQLite: POST /api/v1/posts through Django's test client, and do_ingest_post directly.

Run: `.venv/bin/python bench/ingest_bench.py` (or `make bench`). Options: `--posts N` (default 200), `--runs R`
(default 5), `--mode api|service|both`, `--broker sqlite|memory`.

It works in a private, fresh directory (OTKLIK_VAR_DIR=var/bench-<pid>: database, broker) that is deleted at the end.
Each run ingests N new posts, one after another, as the embedded web process would: WAL, IMMEDIATE transactions,
and with `--broker sqlite` (the default) the analysis task published to the SQLite broker after each commit (no
worker consumes it, so only the request is measured). The result is the median of R runs, printed as a row for
docs/BENCHMARKS.md.
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import platform
import shutil
import statistics
import sys
import time
from pathlib import Path

BASE_DIR = Path(__file__).resolve().parent.parent
TEXTS = [
    "Третий день нет горячей воды на улице Ленина 5, когда дадут?",
    "Огромная яма на дороге у школы № 12, машины бьют колёса",
    "Во дворе дома 7 по улице Мира неделю не вывозят мусор",
    "Автобус № 5 утром не ходит по расписанию, люди опаздывают на работу",
    "На детской площадке на Нефтяников сломаны качели, дети могут пораниться",
]


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


def setup_django(var_dir: Path, broker: str) -> None:
    os.environ["OTKLIK_VAR_DIR"] = str(var_dir)
    os.environ["OTKLIK_DB"] = "sqlite"
    os.environ.pop("OTKLIK_DB_NAME", None)
    os.environ["OTKLIK_CELERY_EAGER"] = "0"
    os.environ["OTKLIK_LOG_LEVEL"] = "WARNING"
    os.environ.pop("OTKLIK_BROKER_URL", None)
    if broker == "memory":
        os.environ["OTKLIK_BROKER_URL"] = "memory://"
    os.environ["DJANGO_SETTINGS_MODULE"] = "otklik.settings"
    sys.path.insert(0, str(BASE_DIR))
    import django

    django.setup()
    from django.core.management import call_command

    call_command("migrate", interactive=False, verbosity=0)


def api_available() -> bool:
    from django.urls import Resolver404, resolve

    try:
        resolve("/api/v1/posts")
    except Resolver404:
        return False
    return True


def make_api_poster():  # type: ignore[no-untyped-def]
    from django.test import Client
    from knox.models import AuthToken

    from otklik.accounts.models import User

    user = User.objects.create_user(username="bench", role="operator")
    _instance, token = AuthToken.objects.create(user)
    client = Client(HTTP_AUTHORIZATION=f"Token {token}")

    def post(external_id: str, text: str) -> None:
        response = client.post(
            "/api/v1/posts",
            {
                "source": "vk",
                "external_id": external_id,
                "text": text,
                "posted_at": dt.datetime.now(dt.UTC).isoformat(),
                "author": "Иван Петров",
                "author_id": "id123",
                "url": f"https://vk.com/wall-1_{external_id}",
            },
            content_type="application/json",
        )
        if response.status_code != 201:
            raise SystemExit(f"POST /api/v1/posts answered {response.status_code}: {response.content[:300]!r}")

    return post


def make_service_poster():  # type: ignore[no-untyped-def]
    from django.utils import timezone

    from otklik.intake.services import default_source, do_ingest_post

    def post(external_id: str, text: str) -> None:
        result = do_ingest_post(
            source=default_source("vk"),
            external_id=external_id,
            text=text,
            posted_at=timezone.now(),
            author_name="Иван Петров",
            author_id="id123",
            url=f"https://vk.com/wall-1_{external_id}",
        )
        if not result.created:
            raise SystemExit(f"post {external_id} was not created")

    return post


def measure(name: str, post, posts: int, runs: int) -> list[float]:  # type: ignore[no-untyped-def]
    for i in range(20):  # warm-up: imports, caches, the first connection
        post(f"{name}-warmup-{i}", TEXTS[i % len(TEXTS)])
    rates = []
    for run in range(runs):
        start = time.perf_counter()
        for i in range(posts):
            post(f"{name}-{run}-{i}", TEXTS[i % len(TEXTS)])
        rates.append(posts / (time.perf_counter() - start))
    return rates


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--posts", type=int, default=200)
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--mode", choices=["api", "service", "both"], default="both")
    parser.add_argument("--broker", choices=["sqlite", "memory"], default="sqlite")
    args = parser.parse_args()

    var_dir = BASE_DIR / "var" / f"bench-{os.getpid()}"
    var_dir.mkdir(parents=True)
    try:
        setup_django(var_dir, args.broker)
        import django

        modes = ["api", "service"] if args.mode == "both" else [args.mode]
        if "api" in modes and not api_available():
            print("POST /api/v1/posts does not exist in this version: benchmarking the service only")
            modes = ["service"]
        today = dt.datetime.now(dt.UTC).date().isoformat()
        broker = "SQLite broker" if args.broker == "sqlite" else "in-memory broker"
        where = f"Python {platform.python_version()}, Django {django.get_version()}"
        print(f"# {today}; {machine()}; {where}; SQLite (WAL, IMMEDIATE), {broker}")
        print("| date | path | N × runs | median posts/s | ms/post | runs (posts/s) | setup | machine |")
        for mode in modes:
            post = make_api_poster() if mode == "api" else make_service_poster()
            rates = measure(mode, post, args.posts, args.runs)
            median = statistics.median(rates)
            path = "POST /api/v1/posts (test client, token)" if mode == "api" else "do_ingest_post"
            print(
                f"| {today} | {path} | {args.posts} × {args.runs} | {median:.0f} | {1000 / median:.1f} | "
                f"{' '.join(f'{r:.0f}' for r in rates)} | SQLite WAL, {broker} | {machine()} |"
            )
    finally:
        shutil.rmtree(var_dir, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
