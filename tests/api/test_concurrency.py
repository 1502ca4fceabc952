"""Two integrations send the same post at the same moment: one post, one incident, the same ids for both."""

from __future__ import annotations

import os
import threading
import time

import pytest
from django.db import connection
from knox.models import AuthToken
from rest_framework.test import APIClient

from otklik.cases.models import Incident
from otklik.intake import services as intake_services
from otklik.intake.models import Post, Source

pytestmark = [
    pytest.mark.postgres,
    pytest.mark.skipif(os.environ.get("OTKLIK_DB") != "postgres", reason="needs PostgreSQL's concurrent writers"),
]

BODY = {
    "source": "vk",
    "external_id": "wall-1_777",
    "text": "Во дворе по улице Мира 3 не убирают снег",
    "posted_at": "2025-01-15T09:00:00",
}


@pytest.mark.parametrize("attempt", range(3))
def test_it_stores_a_post_sent_twice_at_once_exactly_once(transactional_db, operator, monkeypatch, attempt):
    _instance, key = AuthToken.objects.create(user=operator)
    original = intake_services._thread_incident

    def slow_thread_incident(post):  # type: ignore[no-untyped-def]
        # Hold the first writer's transaction open, so that the second one misses the uncommitted post in its
        # check and collides with it on the unique constraint: the race this test is about, every time.
        time.sleep(0.3)
        return original(post)

    monkeypatch.setattr(intake_services, "_thread_incident", slow_thread_incident)
    barrier = threading.Barrier(2, timeout=30)
    results: list[tuple[int, dict[str, int]]] = []
    errors: list[BaseException] = []

    def send() -> None:
        client = APIClient()
        client.credentials(HTTP_AUTHORIZATION=f"Token {key}")
        try:
            barrier.wait()
            response = client.post("/api/v1/posts", BODY, format="json")
            results.append((response.status_code, response.json()))
        except BaseException as exc:  # reported to the main thread below
            errors.append(exc)
        finally:
            connection.close()  # each thread has its own connection; the test database must be droppable

    threads = [threading.Thread(target=send) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)

    assert not errors, errors
    assert sorted(code for code, _body in results) == [200, 201]
    assert results[0][1] == results[1][1]
    assert Post.objects.count() == 1
    assert Incident.objects.count() == 1
    assert Source.objects.filter(channel="vk").count() == 1
    post = Post.objects.get()
    assert results[0][1] == {"post_id": post.pk, "incident_id": post.incident_id}
