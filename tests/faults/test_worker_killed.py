"""A Celery worker killed (SIGKILL) in the middle of a task: the message is delivered again, nothing is lost and
nothing is done twice.

The worker (a real subprocess, solo pool, on a private Redis and a private PostgreSQL cluster) analyses a post —
classification, routing, the department's assignment and notification, all written in one transaction — and is
killed after the writes but before the commit (tests/faults/hooked_worker.py). The task acknowledges late, so the
message stays unacknowledged in Redis; after the visibility timeout (8 s here) a fresh worker takes it again and
runs it to the end. A second post, sent while no worker was alive, waits in the queue and is not lost.
"""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import uuid
from pathlib import Path
from typing import Any

import pytest
from django.utils import timezone

from tests.faults.conftest import PgCluster, RedisServer, wait_for
from tests.integration.test_worker_redis import sending_to

# transaction=True: the suite's test database is set up (the clusters copy its schema) and left as it was.
pytestmark = [pytest.mark.postgres, pytest.mark.integration, pytest.mark.django_db(transaction=True)]

# Longer than a cold worker's first analysis (model loading included, ~3 s on a loaded machine): a shorter one
# makes Redis deliver the message again while the fresh worker still runs it (harmless — the second run finds
# nothing to claim — but it overwrites the run's recorded result with "skipped").
VISIBILITY_TIMEOUT = 8
STARTUP = 120  # seconds a worker may take to start and work on a loaded machine (usually ~5)
HOOKED_WORKER = Path(__file__).with_name("hooked_worker.py")


def start_worker(
    cluster: PgCluster, redis: RedisServer, tmp_path: Path, name: str, **extra: str
) -> tuple[subprocess.Popen[bytes], Path]:
    env = cluster.env() | {
        "OTKLIK_VAR_DIR": str(tmp_path / "var"),
        "OTKLIK_BROKER_URL": redis.url,
        "OTKLIK_RESULT_BACKEND": redis.url,
        "OTKLIK_BROKER_VISIBILITY_TIMEOUT": str(VISIBILITY_TIMEOUT),
        "OTKLIK_BROKER_RESTORE_INTERVAL": "1",
        **extra,
    }
    log = tmp_path / f"{name}.log"
    command = [sys.executable, str(HOOKED_WORKER), "--hostname", f"{name}@localhost", "--loglevel", "INFO"]
    command += ["--pool", "solo", "--without-gossip", "--without-mingle", "--without-heartbeat"]
    with open(log, "wb") as out:
        proc = subprocess.Popen(  # noqa: S603
            command, cwd=HOOKED_WORKER.parents[2], env=env, stdout=out, stderr=subprocess.STDOUT
        )
    return proc, log


def stop(proc: subprocess.Popen[bytes]) -> None:
    if proc.poll() is None:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


@pytest.fixture
def city(pg_cluster, on_cluster) -> dict[str, Any]:
    """A topic routed to the housing department, whose executor is notified."""
    from otklik.org.models import RoutingRule, Topic, TopicGroup
    from tests.factories import make_department, make_user

    with on_cluster(pg_cluster):
        group = TopicGroup.objects.create(name="ЖКХ")
        # No keywords: the sender's topic decides (the test is about delivery, not about the classifier).
        topic = Topic.objects.create(name="Отсутствие горячего водоснабжения", group=group)
        housing = make_department("Департамент ЖКХ", short_name="ЖКХ")
        RoutingRule.objects.create(name="Горячая вода → ЖКХ", topic=topic, lead=housing)
        executor = make_user("executor", role="executor", department=housing, email="executor@example.org")
        return {"topic_id": topic.pk, "housing_id": housing.pk, "executor_id": executor.pk}


def test_a_worker_killed_mid_task_loses_nothing_and_does_nothing_twice(
    pg_cluster, redis_server, on_cluster, city, tmp_path
):
    from otklik.cases.choices import EventVerb
    from otklik.cases.models import Assignment, Event
    from otklik.intake.choices import AnalysisStatus
    from otklik.intake.models import Post
    from otklik.intake.services import default_source, do_ingest_post
    from otklik.notifications.choices import DeliveryStatus
    from otklik.notifications.models import Notification
    from otklik.ops.models import Heartbeat, TaskRun, TaskRunStatus
    from otklik.ops.recording import run_key
    from otklik.org.models import Topic

    marker = tmp_path / "hanging"
    workers: list[subprocess.Popen[bytes]] = []

    def ingest(text: str) -> Post:
        return do_ingest_post(
            source=default_source("vk"),
            external_id=f"faults-{uuid.uuid4().hex}",
            text=text,
            posted_at=timezone.now(),
            topic=Topic.objects.get(pk=city["topic_id"]),
        ).post

    with on_cluster(pg_cluster), sending_to(redis_server.url):
        try:
            # 1. A worker that will hang before committing its first analysis.
            first, first_log = start_worker(
                pg_cluster, redis_server, tmp_path, "doomed", FAULTS_HANG_MARKER=str(marker)
            )
            workers.append(first)
            wait_for(
                "the first worker",
                lambda: Heartbeat.objects.filter(hostname="doomed@localhost").exists(),
                timeout=STARTUP,
                logs=(first_log,),
            )
            killed = ingest("Третий день нет горячей воды на улице Ленина 5")
            wait_for("the analysis to hang before its commit", marker.exists, timeout=STARTUP, logs=(first_log,))
            assert marker.read_text() == f"{killed.pk} routed"  # the whole analysis was done in the transaction

            # Nothing of it is visible: the transaction is open.
            killed.refresh_from_db()
            assert killed.analysis_status == AnalysisStatus.PENDING
            assert not Assignment.objects.filter(incident_id=killed.incident_id).exists()

            # 2. SIGKILL: no warm shutdown, no acknowledgement, the connection to PostgreSQL dropped.
            first.send_signal(signal.SIGKILL)
            first.wait(timeout=10)
            # The database rolled the transaction back.
            wait_for("the killed worker's session to end", lambda: _backends() == 1)
            killed.refresh_from_db()
            assert killed.analysis_status == AnalysisStatus.PENDING
            unacked = redis_server.client().hvals("unacked")
            assert len(unacked) == 1, "the message of the killed task is still unacknowledged in Redis"
            killed_task_id = json.loads(unacked[0])[0]["headers"]["id"]

            # 3. A post sent while no worker is alive waits in the queue.
            waiting = ingest("Нет горячей воды в доме на улице Мира 10, дети не могут помыться")

            # 4. A fresh worker: after the visibility timeout it takes the killed task's message again.
            second, second_log = start_worker(pg_cluster, redis_server, tmp_path, "fresh")
            workers.append(second)

            def both_analysed() -> bool:
                return (
                    Post.objects.filter(pk__in=[killed.pk, waiting.pk], analysis_status=AnalysisStatus.DONE).count()
                    == 2
                )

            wait_for("both posts analysed by the fresh worker", both_analysed, timeout=STARTUP, logs=(second_log,))
            wait_for(
                "the notification e-mails",
                lambda: Notification.objects.filter(email_status=DeliveryStatus.SENT).count() == 2,
                logs=(second_log,),
            )
            wait_for(
                "the queue to drain",
                lambda: redis_server.client().hlen("unacked") == 0 and redis_server.client().llen("celery") == 0,
                logs=(second_log,),
            )
        finally:
            for proc in workers:
                stop(proc)

        # 5. Exactly once: one routing, one assignment, one notification per incident; the killed run counted.
        for post in (killed, waiting):
            post.refresh_from_db()
            incident = post.incident
            assert incident.status == "routed"
            assert incident.lead_department_id == city["housing_id"]
            assert Assignment.objects.filter(incident=incident).count() == 1
            assert Event.objects.filter(incident=incident, verb=EventVerb.CREATED).count() == 1
            assert Event.objects.filter(incident=incident, verb=EventVerb.CLASSIFIED).count() == 1
            assert Event.objects.filter(incident=incident, verb=EventVerb.ROUTED).count() == 1
            notes = Notification.objects.filter(incident=incident, recipient_id=city["executor_id"])
            assert notes.count() == 1
            assert notes.get().email_status == DeliveryStatus.SENT
        # The killed message itself was delivered again to the fresh worker (and acknowledged: the queue is empty).
        log = second_log.read_text(errors="replace")
        assert f"analyze_post[{killed_task_id}] received" in log, log[-3000:]
        # Each message recorded done; its result is what became of its own post, "skipped" when the other message's
        # batch took it (a batch analyses the pending posts from its post on: otklik.intake.dispatch).
        results = []
        for post in (killed, waiting):
            run = TaskRun.objects.get(key=run_key("otklik.intake.tasks.analyze_post", (post.pk,), {}))
            assert run.status == TaskRunStatus.DONE
            results.append(run.result)
        assert "routed" in results and set(results) <= {"routed", "skipped"}, results


def _backends() -> int:
    """Client sessions on the cluster (this test's own included)."""
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("SELECT count(*) FROM pg_stat_activity WHERE backend_type = 'client backend'")
        return int(cursor.fetchone()[0])
