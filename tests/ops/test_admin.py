"""The admin shows task runs and heartbeats read-only, with the age of each heartbeat and stale ones in red."""

from __future__ import annotations

import datetime as dt

from django.utils import timezone

from otklik.ops.models import Heartbeat, Process, TaskRun, TaskRunStatus
from otklik.ops.services import do_record_heartbeat


def test_it_shows_a_stale_worker_in_red_with_a_warning(admin_client):
    do_record_heartbeat(Process.WORKER, hostname="celery@w1", at=timezone.now() - dt.timedelta(minutes=10))
    do_record_heartbeat(Process.BEAT, hostname="beat-host")

    response = admin_client.get("/admin/ops/heartbeat/")

    assert response.status_code == 200
    content = response.content.decode()
    assert "celery@w1" in content
    assert content.count('<strong style="color: #ba2121">') == 1  # the worker's row only
    warnings = [str(m) for m in response.context["messages"]]
    assert len(warnings) == 1
    assert "10" in warnings[0]  # silent for 10 min


def test_it_shows_fresh_heartbeats_without_a_warning(admin_client):
    do_record_heartbeat(Process.WORKER)
    do_record_heartbeat(Process.BEAT)

    response = admin_client.get("/admin/ops/heartbeat/")

    assert response.status_code == 200
    assert "#ba2121" not in response.content.decode()
    assert len(response.context["messages"]) == 0


def test_task_runs_are_listed_and_cannot_be_edited(admin_client):
    run = TaskRun.objects.create(
        name="otklik.intake.tasks.analyze_post",
        key="otklik.intake.tasks.analyze_post(1)",
        status=TaskRunStatus.FAILED,
        attempts=3,
        error="Traceback …\nValueError: no such post",
    )

    listing = admin_client.get("/admin/ops/taskrun/")
    assert listing.status_code == 200
    assert "otklik.intake.tasks.analyze_post(1)" in listing.content.decode()
    assert "ValueError: no such post" in listing.content.decode()
    assert admin_client.get(f"/admin/ops/taskrun/{run.pk}/change/").status_code == 200  # a view-only page
    assert admin_client.post(f"/admin/ops/taskrun/{run.pk}/change/", {"status": "done"}).status_code == 403
    assert admin_client.get("/admin/ops/taskrun/add/").status_code == 403
    assert admin_client.get("/admin/ops/heartbeat/add/").status_code == 403
    assert not Heartbeat.objects.exists()
