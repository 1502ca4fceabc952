"""The database stopped and started again under load: requests fail cleanly, the service recovers on its own, and
no incident is left half-written.

Otklik runs under gunicorn (2 processes × 4 threads, as in production) on a private PostgreSQL cluster and a
private Redis. Six client threads send posts (`POST /api/v1/posts`, each a new incident) and read
(`GET /api/v1/incidents`, `/healthz`) without pause while the cluster is stopped (`pg_ctl stop -m fast`: the
sessions are cut), kept down for a few seconds and started again on the same port.
"""

from __future__ import annotations

import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.faults.conftest import PgCluster, RedisServer, free_port, wait_for

pytestmark = [pytest.mark.postgres, pytest.mark.integration, pytest.mark.django_db(transaction=True)]

CLIENTS = 6
DOWN_SECONDS = 4
REQUEST_TIMEOUT = 30  # a request that takes longer is a hang
RECOVERY_SECONDS = 5  # requests succeed again this soon after the database is back
LEAKS = ("Traceback", "OperationalError", "psycopg", 'File "/', "connection refused", "Connection refused")


@dataclass
class Outcome:
    started: float
    finished: float
    kind: str  # "post", "list", "health"
    status: int  # 0: no HTTP answer at all
    body: str
    external_id: str = ""
    content_type: str = ""
    retry_after: str = ""


@pytest.fixture
def api_token(pg_cluster, on_cluster) -> str:
    from knox.models import get_token_model

    from tests.factories import make_user

    with on_cluster(pg_cluster):
        user = make_user("integration", role="operator")
        _instance, token = get_token_model().objects.create(user=user)
    return str(token)


@pytest.fixture
def web(pg_cluster: PgCluster, redis_server: RedisServer, api_token, tmp_path) -> Iterator[str]:
    port = free_port()
    log = tmp_path / "gunicorn.log"
    env = pg_cluster.env() | {
        "OTKLIK_VAR_DIR": str(tmp_path / "var"),
        "OTKLIK_BROKER_URL": redis_server.url,
        "OTKLIK_RESULT_BACKEND": redis_server.url,
        "OTKLIK_LOG_LEVEL": "WARNING",
    }
    command = [sys.executable, "-m", "gunicorn", "otklik.wsgi:application", "--bind", f"127.0.0.1:{port}"]
    command += ["--workers", "2", "--threads", "4", "--worker-class", "gthread", "--timeout", "60"]
    command += ["--graceful-timeout", "5"]
    base = Path(__file__).resolve().parents[2]
    with open(log, "wb") as out:
        proc = subprocess.Popen(command, cwd=base, env=env, stdout=out, stderr=subprocess.STDOUT)  # noqa: S603
    url = f"http://127.0.0.1:{port}"
    try:

        def answers() -> bool:
            try:
                response = httpx.get(f"{url}/api/v1/incidents", headers=auth(api_token), timeout=5)
            except httpx.HTTPError:
                return False
            return response.status_code == 200

        wait_for("gunicorn", answers, timeout=120, logs=(log,))
        # Warm both processes up (first requests import lazily): the load starts on a service in its stride.
        with httpx.Client(base_url=url, headers=auth(api_token), timeout=120) as http:
            for number in range(8):
                assert http.post("/api/v1/posts", json=post_body(f"warm-{number}")).status_code == 201
                assert http.get("/api/v1/incidents").status_code == 200
        yield url
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


def auth(token: str) -> dict[str, str]:
    return {"Authorization": f"Token {token}"}


def test_a_database_restart_under_load_fails_cleanly_recovers_and_leaves_no_half_written_incident(
    pg_cluster, on_cluster, web, api_token
):
    outcomes: list[Outcome] = []
    lock = threading.Lock()
    stop = threading.Event()

    def client(number: int) -> None:
        with httpx.Client(base_url=web, headers=auth(api_token), timeout=REQUEST_TIMEOUT) as http:
            turn = 0
            while not stop.is_set():
                turn += 1
                kind = ("post", "post", "list", "health")[(turn + number) % 4]
                external_id = f"restart-{number}-{turn}-{uuid.uuid4().hex[:6]}" if kind == "post" else ""
                started = time.monotonic()
                try:
                    if kind == "post":
                        response = http.post("/api/v1/posts", json=post_body(external_id))
                    elif kind == "list":
                        response = http.get("/api/v1/incidents", params={"status": "new"})
                    else:
                        response = http.get("/healthz")
                    status, body = response.status_code, response.text
                    content_type = response.headers.get("content-type", "")
                    retry_after = response.headers.get("retry-after", "")
                except httpx.HTTPError as exc:
                    status, body, content_type, retry_after = 0, f"{type(exc).__name__}: {exc}", "", ""
                finished = time.monotonic()
                with lock:
                    outcomes.append(
                        Outcome(started, finished, kind, status, body, external_id, content_type, retry_after)
                    )

    threads = [threading.Thread(target=client, args=(n,), daemon=True) for n in range(CLIENTS)]
    for thread in threads:
        thread.start()
    try:
        # 1. Under load, healthy; then the database goes away (sessions cut), stays away, and comes back.
        wait_for("successful requests", lambda: sum(o.status in (200, 201) for o in outcomes) >= 20, timeout=60)
        pg_cluster.stop("fast")
        down_at = time.monotonic()
        time.sleep(DOWN_SECONDS)  # the outage itself: its length is the point, not a wait for something
        # The server accepts connections a moment before `pg_ctl start` returns: the outage ends when we start it.
        restart_at = time.monotonic()
        pg_cluster.start()
        up_at = time.monotonic()
        wait_for(
            "requests after the restart",
            lambda: sum(o.started > up_at + RECOVERY_SECONDS and o.status in (200, 201) for o in outcomes) >= 20,
            timeout=60,
        )
    finally:
        stop.set()
        for thread in threads:
            thread.join(timeout=REQUEST_TIMEOUT + 5)
    assert not any(thread.is_alive() for thread in threads), "a client is stuck in a request"

    # 2. Every answer was an answer: no hung request, no dropped connection, no traceback or driver error leaked.
    for o in outcomes:
        assert o.status != 0, f"no HTTP answer: {o.body}"
        assert o.finished - o.started < REQUEST_TIMEOUT
        # (/healthz names the failing check's exception class, by design; never a traceback or the driver's text)
        leaks = [leak for leak in LEAKS if not (o.kind == "health" and leak == "OperationalError")]
        assert not any(leak in o.body for leak in leaks), o.body[:2000]
        expected = {"post": {201}, "list": {200}, "health": {503}}[o.kind]  # /healthz: no worker here
        assert o.status in expected | {500, 503}, (o.kind, o.status, o.body[:500])
    # The outage was felt (else this test proves nothing), and answered as an error, not as data.
    during = [o for o in outcomes if down_at <= o.started and o.finished <= restart_at]
    assert during, "no request was made while the database was down"
    for o in during:
        assert o.status == 503, (o.kind, o.status, o.body[:500])
        if o.kind == "health":
            assert '"database": {"ok": false' in o.body.replace("\n", ""), o.body
    # Errors of the API are its JSON, "retry in a moment": a database away is a 503 with Retry-After.
    failed = [o for o in outcomes if o.status in (500, 503) and o.kind != "health"]
    assert failed
    for o in failed:
        assert o.content_type.startswith("application/json"), o.body[:500]
        assert o.status == 503 and '"code":"unavailable"' in o.body.replace(" ", ""), o.body[:500]
        assert o.retry_after == "5"

    # 3. Recovery: everything that started RECOVERY_SECONDS after the restart succeeded.
    after = [o for o in outcomes if o.started > up_at + RECOVERY_SECONDS]
    assert after
    assert all(o.status == {"post": 201, "list": 200, "health": 503}[o.kind] for o in after), [
        (o.kind, o.status, o.body[:200]) for o in after if o.status not in (200, 201, 503)
    ]
    healthy = [o for o in after if o.kind == "health"]
    assert healthy and all('"database": {"ok": true' in o.body.replace("\n", "") for o in healthy)

    # 4. The posts that failed are sent again (as an integration would): each is stored once, as a whole.
    posts = [o for o in outcomes if o.kind == "post"]
    with httpx.Client(base_url=web, headers=auth(api_token), timeout=REQUEST_TIMEOUT) as http:
        for o in posts:
            if o.status != 201:
                again = http.post("/api/v1/posts", json=post_body(o.external_id))
                # 200: the failed request had committed after all; 201: it had not.
                assert again.status_code in (200, 201), again.text
    with on_cluster(pg_cluster):
        check_consistency({o.external_id for o in posts})


def post_body(external_id: str) -> dict[str, Any]:
    return {
        "source": "vk",
        "external_id": external_id,
        "text": "Нет горячей воды в доме на улице Ленина 5 третий день",
        "posted_at": "2026-11-29T10:00:00+05:00",
        "author": "Иван",
    }


def check_consistency(external_ids: set[str]) -> None:
    """The invariants of intake and cases (otklik.intake.services.do_ingest_post, otklik.cases.services.
    create_incident): a post is stored with its incident, an incident with its creation event and its answer
    clock; one post per external id; the analysis of every post is pending or done (nothing lost in between)."""
    from django.db.models import Count

    from otklik.cases.choices import EventVerb
    from otklik.cases.models import Event, Incident
    from otklik.intake.models import Post
    from otklik.sla.models import Clock

    stored = list(Post.objects.exclude(external_id__startswith="warm-").values_list("external_id", flat=True))
    assert len(stored) == len(set(stored)), "a post stored twice"
    assert set(stored) == external_ids, "a post lost or invented"
    assert not Post.objects.filter(incident__isnull=True).exists(), "a post without its incident"
    assert not Post.objects.exclude(analysis_status__in=["pending", "done"]).exists()
    incidents = Incident.objects.annotate(n_posts=Count("posts", distinct=True))
    assert incidents.count() == len(external_ids) + 8  # one each (no thread), the warm-up's 8 too
    assert not incidents.filter(n_posts=0).exists(), "an incident without a post"
    created = set(Event.objects.filter(verb=EventVerb.CREATED).values_list("incident_id", flat=True))
    assert created == set(incidents.values_list("pk", flat=True)), "an incident without its creation event"
    assert Event.objects.filter(verb=EventVerb.CREATED).count() == len(created)
    clocks = set(Clock.objects.values_list("incident_id", flat=True))
    assert clocks == created, "an incident without its answer clock"
    assert not Incident.objects.filter(due_at__isnull=True).exists()
