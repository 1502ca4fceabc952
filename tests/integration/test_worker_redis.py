"""A real Celery worker on Redis analyses an ingested post, records its tasks and keeps /healthz green.

Needs Redis at OTKLIK_TEST_REDIS_URL (default redis://127.0.0.1:6379/15; `make test` provides one). That Redis
database belongs to this test: it is emptied before and after. The worker is a subprocess on the test database.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest
from django.conf import settings
from django.db import connection
from django.utils import timezone

from otklik.celery import app as celery_app
from otklik.intake.choices import AnalysisStatus
from otklik.intake.models import Post
from otklik.intake.services import default_source, do_ingest_post
from otklik.notifications.choices import DeliveryStatus
from otklik.notifications.models import Notification
from otklik.ops.models import Heartbeat, Process, TaskRun, TaskRunStatus
from otklik.ops.recording import run_key
from otklik.org.models import RoutingRule, Topic, TopicGroup
from tests.factories import make_department, make_user

pytestmark = pytest.mark.integration

REDIS_URL = os.environ.get("OTKLIK_TEST_REDIS_URL", "redis://127.0.0.1:6379/15")
WAIT_SECONDS = 30
# The first analysis includes the worker's model warm-up in its fresh VAR_DIR (the default topic model is built:
# ~25 s alone, over 30 s while the PostgreSQL pass of `make test` runs beside it on the same cores).
FIRST_ANALYSIS_SECONDS = 180


def redis_or_skip() -> Any:
    import redis

    client = redis.Redis.from_url(REDIS_URL, socket_connect_timeout=1, socket_timeout=2)
    try:
        client.ping()
    except redis.RedisError as exc:
        pytest.skip(f"Redis does not answer at {REDIS_URL} ({exc}); set OTKLIK_TEST_REDIS_URL or run `make test`")
    return client


def wait_for(what: str, check: Callable[[], Any], log: Path, timeout: float = WAIT_SECONDS) -> Any:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = check()
        if value:
            return value
        time.sleep(0.2)
    tail = log.read_text(errors="replace")[-4000:] if log.exists() else "(no log)"
    pytest.fail(f"Timed out after {timeout} s waiting for {what}. Worker log:\n{tail}")


def worker_env(var_dir: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("OTKLIK_")}
    db = connection.settings_dict
    env.update(
        DJANGO_SETTINGS_MODULE="otklik.settings",
        PYTHONUNBUFFERED="1",
        OTKLIK_FAST_TESTS="1",
        OTKLIK_VAR_DIR=str(var_dir),
        OTKLIK_BROKER_URL=REDIS_URL,
        OTKLIK_RESULT_BACKEND=REDIS_URL,
        OTKLIK_EMAIL_BACKEND="django.core.mail.backends.locmem.EmailBackend",
        OTKLIK_DB_NAME=str(db["NAME"]),  # the test database, not the one it was made from
    )
    if connection.vendor == "postgresql":
        env.update(
            OTKLIK_DB="postgres",
            OTKLIK_DB_HOST=str(db["HOST"] or ""),
            OTKLIK_DB_PORT=str(db["PORT"] or ""),
            OTKLIK_DB_USER=str(db["USER"] or ""),
            OTKLIK_DB_PASSWORD=str(db["PASSWORD"] or ""),
        )
    else:
        env["OTKLIK_DB"] = "sqlite"
    return env


@contextmanager
def sending_to(url: str) -> Iterator[None]:
    """Make this process publish to `url` for real (not eagerly), then put everything back."""
    conf = celery_app.conf
    saved = {"broker_url": conf.broker_url, "task_always_eager": conf.task_always_eager}

    def fresh_pools() -> None:
        if celery_app._pool is not None:
            celery_app._pool.force_close_all()
        celery_app._pool = None
        celery_app.amqp._producer_pool = None

    conf.update(broker_url=url, task_always_eager=False)
    fresh_pools()
    try:
        yield
    finally:
        conf.update(saved)
        fresh_pools()


@pytest.fixture
def worker(transactional_db, tmp_path, settings) -> Iterator[dict[str, Any]]:
    redis_client = redis_or_skip()
    redis_client.flushdb()  # no messages left over from an earlier run
    settings.CELERY_BROKER_URL = REDIS_URL  # what /healthz checks
    name = f"otklik-it-{uuid.uuid4().hex[:8]}@localhost"
    log = tmp_path / "worker.log"
    command = [sys.executable, "-m", "celery", "-A", "otklik", "worker", "--hostname", name, "--loglevel", "INFO"]
    command += ["--pool", "solo", "--concurrency", "1", "--without-gossip", "--without-mingle", "--without-heartbeat"]
    with open(log, "wb") as out, sending_to(REDIS_URL):
        proc = subprocess.Popen(
            command, cwd=settings.BASE_DIR, env=worker_env(tmp_path), stdout=out, stderr=subprocess.STDOUT
        )
        try:
            # The worker reports itself on `worker_ready`: then it consumes.
            wait_for("the worker to be ready", lambda: Heartbeat.objects.filter(hostname=name).exists(), log)
            yield {"name": name, "log": log, "proc": proc}
        finally:
            proc.send_signal(signal.SIGTERM)  # warm shutdown: finish the current task, then exit
            try:
                proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
            redis_client.flushdb()
    assert proc.returncode == 0, log.read_text(errors="replace")[-4000:]


@pytest.fixture
def routing(transactional_db) -> dict[str, Any]:
    group = TopicGroup.objects.create(name="ЖКХ")
    topic = Topic.objects.create(name="Отсутствие горячего водоснабжения", group=group, keywords="горячей воды")
    housing = make_department("Департамент ЖКХ", short_name="ЖКХ")
    RoutingRule.objects.create(name="Горячая вода → ЖКХ", topic=topic, lead=housing)
    executor = make_user("executor", role="executor", department=housing, email="executor@example.org")
    return {"topic": topic, "housing": housing, "executor": executor}


def test_a_worker_on_redis_analyses_a_post_records_its_tasks_and_keeps_healthz_green(worker, routing, client):
    log = worker["log"]
    result = do_ingest_post(
        source=default_source("vk"),
        external_id=f"it-{uuid.uuid4().hex}",
        text="Третий день нет горячей воды на улице Ленина 5",
        posted_at=timezone.now(),
        topic=routing["topic"],
    )
    post = result.post

    # 1. The worker analyses the post (classification and routing) and records the run.
    def analysed() -> Post | None:
        fresh = Post.objects.select_related("incident").get(pk=post.pk)
        if fresh.analysis_status != AnalysisStatus.DONE or fresh.incident.status == "new":
            return None
        return fresh

    analysed_post = wait_for("the analysis of the post", analysed, log, timeout=FIRST_ANALYSIS_SECONDS)
    incident = analysed_post.incident
    assert incident.status == "routed", incident.status_note
    assert incident.lead_department == routing["housing"]
    run_of_analysis = wait_for(
        "the recorded analysis",
        lambda: TaskRun.objects.filter(
            key=run_key("otklik.intake.tasks.analyze_post", (post.pk,), {}), status=TaskRunStatus.DONE
        ).first(),
        log,
    )
    assert (run_of_analysis.attempts, run_of_analysis.result) == (1, "routed")

    # 2. The department's e-mail went out from the worker too.
    note = Notification.objects.get(recipient=routing["executor"])
    wait_for(
        "the notification e-mail",
        lambda: Notification.objects.filter(pk=note.pk, email_status=DeliveryStatus.SENT).exists(),
        log,
    )

    # 3. A heartbeat as beat sends it: the worker records itself, and beat at the time the message was sent.
    from otklik.ops.tasks import heartbeat

    sent = timezone.now()
    heartbeat.apply_async(headers={"celery_beat_task": True}, expires=settings.HEARTBEAT_INTERVAL_SECONDS)
    beat = wait_for("the beat heartbeat", lambda: Heartbeat.objects.filter(name=Process.BEAT).first(), log)
    assert sent <= beat.last_seen <= timezone.now()
    worker_beat = Heartbeat.objects.get(name=Process.WORKER)
    assert worker_beat.hostname == worker["name"]
    assert worker_beat.last_seen >= sent
    assert beat.last_seen < worker_beat.last_seen  # beat's time is the stamped send time, not the arrival
    assert TaskRun.objects.get(key="otklik.ops.tasks.heartbeat").status == TaskRunStatus.DONE

    # 4. Database, Redis and a fresh worker heartbeat: healthy.
    response = client.get("/healthz")
    assert response.status_code == 200, response.content
    body = response.json()
    assert body["checks"]["broker"]["transport"] == "redis"
    assert body["checks"]["worker"]["ok"] is True
    assert body["checks"]["beat"]["ok"] is True
