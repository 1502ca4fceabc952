"""Page timings on the city-sized database of bench/scale_gen.py (issue 9, "Measured at scale").

Usage:

    .venv/bin/python bench/scale_bench.py                          # every case, 30 requests each, db otklik_scale
    .venv/bin/python bench/scale_bench.py --requests 50 --only inbox --only card
    .venv/bin/python bench/scale_bench.py --db otklik_scale_small --only search --explain
    only: inbox, drill, card, search, dashboard, desk, api, sweep      (OTKLIK_DB_HOST/PORT/USER as for the app)

Each page is requested in-process with Django's test Client, logged in as the demo `operator` (the dashboard as
`director`, the desk as `executor`), after one warm-up request; every request of a case varies its value (another
group, department, incident, search word…) so that no single cached row answers. Prints the load average and the
PostgreSQL settings the timings depend on most (`server:`), one Markdown row per case — p50 / p95 / max in ms, the
number of SQL queries of the last request and the target — then the load average again.
`--explain` prints the plan of the slowest query of each case. The SLA case runs the real `sweep()` over the
database's open clocks: once with nothing due (the every-minute case), once with 2,000 clocks made overdue (the
changed rows and the notifications it creates are put back afterwards). The `drill` cases are the inbox links of the
month's dashboard (its figures' click-through: the hidden filters answered, on time, posts and negative posts in a
period, first and final answer, satisfied, a place), read from the page itself and grouped by their parameters;
then the same for a period of two months ten months back.
"""

from __future__ import annotations

import argparse
import datetime as dt
import gc
import os
import random
import re
import statistics
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

BASE_DIR = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(BASE_DIR))

CASES = ("inbox", "drill", "card", "search", "dashboard", "desk", "api", "sweep")
SEARCH_WORDS = [
    *("яма", "горячей воды", "мусор", "отопление", "автобус", "освещение", "снег", "ямы во дворе"),
    *("детская площадка", "свалка", "тротуар", "поликлиника", "подъезд", "светофор", "электричество"),
]
ADDRESS_WORDS = ["Ленина", "Мира", "Чапаева", "Омская", "Интернациональная"]


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--db", default=os.environ.get("OTKLIK_SCALE_DB", "otklik_scale"))
    parser.add_argument("--requests", type=int, default=30, help="requests per case (≥ 30 for a p95)")
    parser.add_argument("--only", action="append", choices=CASES, help="run only these groups of cases")
    parser.add_argument("--match", default="", help="run only the cases whose name contains this")
    parser.add_argument("--explain", action="store_true", help="EXPLAIN ANALYZE the slowest query of each case")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--no-migrate", action="store_true", help="do not migrate the database first")
    return parser.parse_args()


def setup(db: str, *, migrate: bool) -> None:
    os.environ["OTKLIK_DB"] = "postgres"
    os.environ["OTKLIK_DB_NAME"] = db
    os.environ.setdefault("OTKLIK_BROKER_URL", "memory://")
    os.environ.setdefault("OTKLIK_CELERY_EAGER", "0")
    os.environ.setdefault("OTKLIK_LOG_LEVEL", "WARNING")
    os.environ["DJANGO_SETTINGS_MODULE"] = "otklik.settings"
    import django

    django.setup()
    from django.conf import settings

    # Not setup_test_environment(): its instrumented template rendering copies every context (a test-only cost
    # of several ms per page); only what the test Client needs is set.
    settings.ALLOWED_HOSTS = [*settings.ALLOWED_HOSTS, "testserver"]
    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
    if migrate:  # the schema of the code being measured (new indexes included)
        from django.core.management import call_command

        try:
            call_command("migrate", interactive=False, verbosity=0)
        except Exception as error:  # noqa: BLE001 - a broken migration elsewhere: migrate what the pages need
            print(f"warning: migrate failed ({str(error).splitlines()[0]}); migrating the measured apps only")
            for app in ("accounts", "org", "intake", "cases", "answers", "sla", "stats", "notifications"):
                try:
                    call_command("migrate", app, interactive=False, verbosity=0)
                except Exception as app_error:  # noqa: BLE001
                    print(f"warning: migrate {app} failed: {str(app_error).splitlines()[0]}")


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    position = (len(ordered) - 1) * q
    low = int(position)
    high = min(low + 1, len(ordered) - 1)
    return ordered[low] + (ordered[high] - ordered[low]) * (position - low)


class Runner:
    frozen = False

    def __init__(self, args: argparse.Namespace) -> None:
        from django.test import Client

        self.args = args
        self.rows: list[str] = []
        self.clients: dict[str, Any] = {}
        self.Client = Client

    def client(self, username: str) -> Any:
        from otklik.accounts.models import User

        if username not in self.clients:
            client = self.Client()
            client.force_login(User.objects.get(username=username))
            self.clients[username] = client
        return self.clients[username]

    def case(self, name: str, urls: Callable[[int], str], *, user: str = "operator", target_ms: float = 150) -> None:
        if self.args.match and self.args.match not in name:
            return
        from django.db import connection
        from django.test.utils import CaptureQueriesContext

        client = self.client(user)
        first = urls(0)
        response = client.get(first)
        assert response.status_code == 200, (name, first, response.status_code)  # noqa: S101
        if not self.frozen:
            # After its warm-up a web process freezes its heap (otklik/wsgi.py): this process does the same once,
            # so that the collector's full collections do not walk Django's objects in the middle of a request.
            gc.collect()
            gc.freeze()
            self.frozen = True
        timings = []
        slowest: tuple[float, str] = (0.0, "")
        queries = 0
        for n in range(self.args.requests):
            url = urls(n)
            with CaptureQueriesContext(connection) as captured:
                started = time.perf_counter()
                response = client.get(url)
                timings.append((time.perf_counter() - started) * 1000)
            assert response.status_code == 200, (name, url, response.status_code)  # noqa: S101
            queries = len(captured.captured_queries)
            for query in captured.captured_queries:
                if float(query["time"]) * 1000 > slowest[0]:
                    slowest = (float(query["time"]) * 1000, query["sql"])
        p50, p95 = percentile(timings, 0.5), percentile(timings, 0.95)
        mark = "ok" if p95 <= target_ms else "**over**"
        row = (
            f"| {name} | {p50:.0f} | {p95:.0f} | {max(timings):.0f} | {queries} | ≤ {target_ms:.0f} {mark} "
            f"| {slowest[0]:.0f} |"
        )
        print(row, flush=True)
        self.rows.append(row)
        if self.args.explain and slowest[1]:
            with connection.cursor() as cursor:
                cursor.execute("EXPLAIN (ANALYZE, BUFFERS) " + slowest[1])
                print("\n".join("    " + r[0] for r in cursor.fetchall()), flush=True)


RARE_CHANNELS = ["email", "api"]


def dashboard_links(runner: Runner, query: str) -> dict[str, list[str]]:
    """The inbox links of the dashboard of `query`, by the names of their parameters (dates and ids vary)."""
    import html
    from urllib.parse import parse_qsl, urlsplit

    page = runner.client("director").get(f"/dashboard/?{query}").content.decode()
    links: dict[str, list[str]] = {}
    for href in sorted(set(re.findall(r'href="(/inbox/\?[^"]+)"', page))):
        url = html.unescape(href)
        keys = [key for key, _value in parse_qsl(urlsplit(url).query) if key != "view"]
        links.setdefault(" + ".join(keys), []).append(url)
    return links


def counts_later(url: str) -> bool:
    """Whether the inbox page of `url` loads its counters after it (as the operator's browser would see it)."""
    from django.test import RequestFactory

    from otklik.accounts.models import User
    from otklik.cases.views.inbox import InboxQuery

    request = RequestFactory().get(url)
    request.user = User.objects.get(username="operator")
    return InboxQuery.from_request(request).counts_later


def cycle(values: list[Any]) -> Iterator[Any]:
    while True:
        yield from values


def run_pages(runner: Runner, only: set[str], rnd: random.Random) -> None:
    from django.utils import timezone

    from otklik.accounts.models import User
    from otklik.cases.models import Incident
    from otklik.org.models import Department, Territory, TopicGroup

    groups = list(TopicGroup.objects.values_list("pk", flat=True))
    departments = list(Department.objects.values_list("pk", flat=True))
    territories = list(Territory.objects.values_list("pk", flat=True))
    channels = ["vk", "telegram", "ok", "max", "im", "pos"]
    last = Incident.objects.order_by("-pk").values_list("pk", flat=True).first() or 1
    first = Incident.objects.order_by("pk").values_list("pk", flat=True).first() or 1
    today = timezone.localdate()

    def pick(values: list[Any]) -> Callable[[int], Any]:
        return lambda n: values[(n * 7 + 3) % len(values)]

    def day(n: int, back: int) -> str:
        return (today - dt.timedelta(days=back + n % 30)).isoformat()

    if "inbox" in only:
        g, d, t, c = pick(groups), pick(departments), pick(territories), pick(channels)
        views = ["all", "new", "triage", "routed", "ready", "overdue", "mine"]
        for view in views:
            runner.case(f"inbox view={view}", lambda n, v=view: f"/inbox/?view={v}")
        runner.case("inbox group", lambda n: f"/inbox/?group={g(n)}")
        runner.case("inbox department", lambda n: f"/inbox/?department={d(n)}")
        runner.case("inbox source (channel)", lambda n: f"/inbox/?channel={c(n)}")
        # A rare channel (none or few of the generated posts): the capped count cannot stop early.
        runner.case("inbox source, a rare channel", lambda n: f"/inbox/?channel={RARE_CHANNELS[n % 2]}")
        runner.case("inbox territory", lambda n: f"/inbox/?territory={t(n)}")
        runner.case("inbox dates (a week)", lambda n: f"/inbox/?date_from={day(n, 7)}&date_to={day(n, 0)}")
        runner.case("inbox date_from (a year ago)", lambda n: f"/inbox/?date_from={day(n, 330)}")
        runner.case("inbox sort=created (oldest)", lambda n: "/inbox/?sort=created")
        runner.case("inbox view=all sort=due", lambda n: "/inbox/?view=all&sort=due")
        runner.case("inbox answered=1", lambda n: "/inbox/?answered=1")
        runner.case("inbox on_time=0 (late)", lambda n: f"/inbox/?on_time=0&date_from={day(n, 30)}")
        runner.case("inbox reopened=1", lambda n: "/inbox/?reopened=1")
        runner.case("inbox address", lambda n: f"/inbox/?address={ADDRESS_WORDS[n % 5]}")
        runner.case("inbox search #id", lambda n: f"/inbox/?q=%23{rnd.randint(first, last)}")
        runner.case("inbox overdue + department", lambda n: f"/inbox/?view=overdue&department={d(n)}")
        runner.case("inbox routed + group + territory", lambda n: f"/inbox/?view=routed&group={g(n)}&territory={t(n)}")
        runner.case(
            "inbox group + channel + week",
            lambda n: f"/inbox/?group={g(n)}&channel={c(n)}&date_from={day(n, 7)}&date_to={day(n, 0)}",
        )
        runner.case("inbox mine sort=created", lambda n: "/inbox/?view=mine&sort=-created")
        runner.case("inbox page 20", lambda n: f"/inbox/?page={20 + n}")
        runner.case("inbox page 2000 (deep)", lambda n: f"/inbox/?page={2000 + n * 10}")
        runner.case("inbox overdue page 100", lambda n: f"/inbox/?view=overdue&page={100 + n}")
        runner.case(
            "inbox new-count poll",
            lambda n: f"/inbox/new-count/?view=all&since={timezone.now().isoformat()}".replace("+", "%2B"),
        )
    if "drill" in only:
        old_start, old_end = today - dt.timedelta(days=330), today - dt.timedelta(days=270)
        old_period = f"period=custom&date_from={old_start}&date_to={old_end}"
        for label, query in (("month", "period=month"), ("10 months back", old_period)):
            for name, links in dashboard_links(runner, query).items():
                runner.case(f"inbox from the dashboard ({label}): {name}", lambda n, links=links: links[n % len(links)])
                # Under a filter by a period's rows the page's counters come after it, in a request of their own
                # (`InboxQuery.counts_later`): timed as a case of its own; the counters show after both.
                if any(counts_later(link) for link in links):
                    runner.case(
                        f"  … and its counters (/inbox/counts/, loaded after): {name}",
                        lambda n, links=links: links[n % len(links)].replace("/inbox/?", "/inbox/counts/?", 1),
                    )
    if "search" in only:
        runner.case("search (full text)", lambda n: f"/inbox/?q={SEARCH_WORDS[n % len(SEARCH_WORDS)]}", target_ms=300)
        runner.case("search + view=routed", lambda n: f"/inbox/?view=routed&q={SEARCH_WORDS[n % 15]}", target_ms=300)
        runner.case("search address part", lambda n: f"/inbox/?q={ADDRESS_WORDS[n % 5]}", target_ms=300)
    if "card" in only:
        ids = rnd.sample(range(first, last + 1), max(runner.args.requests, 30) + 1)
        open_ids = list(Incident.objects.filter(status="routed").order_by("?").values_list("pk", flat=True)[:40])
        runner.case("card (random incident)", lambda n: f"/incidents/{ids[n]}/")
        runner.case("card (routed incident)", lambda n: f"/incidents/{open_ids[n % len(open_ids)]}/")
    if "dashboard" in only:
        runner.case("dashboard month", lambda n: "/dashboard/?period=month", user="director", target_ms=1000)
        runner.case(
            "dashboard month + group", lambda n: f"/dashboard/?period=month&group={groups[n % len(groups)]}",
            user="director", target_ms=1000,
        )  # fmt: skip
    if "desk" in only and User.objects.filter(username="executor").exists():
        runner.case("desk (executor's assignments)", lambda n: "/assignments/", user="executor")
    if "api" in only:
        runner.case("api incidents list", lambda n: "/api/v1/incidents/")
        runner.case("api incidents ?status=routed", lambda n: "/api/v1/incidents/?status=routed")


def run_sweep(runner: Runner) -> None:
    from django.db import connection
    from django.utils import timezone

    from otklik.notifications.models import Notification
    from otklik.sla.escalation import sweep
    from otklik.sla.models import Clock

    open_clocks = Clock.objects.filter(state="running").count()
    times = []
    for _ in range(3):
        started = time.perf_counter()
        result = sweep(timezone.now())
        times.append(time.perf_counter() - started)
    row = f"| SLA sweep, {open_clocks} open clocks, nothing due | {statistics.median(times) * 1000:.0f} ms | {result} |"
    print(row, flush=True)
    runner.rows.append(row)
    now = timezone.now()
    last_notification = Notification.objects.order_by("-pk").values_list("pk", flat=True).first() or 0
    chosen = list(
        Clock.objects.filter(state="running", due_at__gt=now, warned_at__isnull=True)
        .order_by("pk")
        .values_list("pk", "warn_at", "due_at")[:2000]
    )
    # A worker that sweeps every minute loaded the URLconf (the notices' links) and Celery's result backend (the
    # e-mail tasks) long ago; load them now so that the time is the sweep's own (the first sweep of a fresh process
    # pays 1-2 s more for these imports alone).
    from django.urls import reverse

    from otklik.celery import app

    reverse("incident-card", args=[1])
    _ = app.backend
    try:
        Clock.objects.filter(pk__in=[c[0] for c in chosen]).update(
            warn_at=now - dt.timedelta(hours=2), due_at=now - dt.timedelta(hours=1)
        )
        started = time.perf_counter()
        result = sweep(timezone.now())
        elapsed = time.perf_counter() - started
    finally:
        with connection.cursor() as cursor:
            cursor.executemany(
                f"UPDATE {Clock._meta.db_table} SET warn_at = %s, due_at = %s, warned_at = NULL, overdue_at = NULL, "  # noqa: S608
                "long_overdue_at = NULL WHERE id = %s",
                [(warn, due, pk) for pk, warn, due in chosen],
            )
        Notification.objects.filter(pk__gt=last_notification).delete()
    row = f"| SLA sweep, {len(chosen)} of them overdue | {elapsed * 1000:.0f} ms | {result} |"
    print(row, flush=True)
    runner.rows.append(row)


SERVER_SETTINGS = (
    "server_version",
    "shared_buffers",
    "effective_cache_size",
    "work_mem",
    "random_page_cost",
    "max_parallel_workers_per_gather",
    "jit",
)


def server_settings() -> str:
    """The PostgreSQL settings the timings depend on most (a run's numbers are read with them)."""
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("SELECT " + ", ".join(["current_setting(%s)"] * len(SERVER_SETTINGS)), SERVER_SETTINGS)
        values = cursor.fetchone()
    return ", ".join(f"{name}={value}" for name, value in zip(SERVER_SETTINGS, values, strict=True))


def main() -> int:
    args = parse_args()
    setup(args.db, migrate=not args.no_migrate)
    only = set(args.only or CASES)
    rnd = random.Random(args.seed)
    runner = Runner(args)
    print(f"uptime: {os.popen('uptime').read().strip()}")  # noqa: S605,S607
    print(f"server: {server_settings()}")
    print("| case | p50 ms | p95 ms | max ms | queries | target | slowest query ms |")
    print("|---|---|---|---|---|---|---|")
    run_pages(runner, only, rnd)
    if "sweep" in only:
        run_sweep(runner)
    print(f"uptime: {os.popen('uptime').read().strip()}")  # noqa: S605,S607
    return 0


if __name__ == "__main__":
    sys.exit(main())
