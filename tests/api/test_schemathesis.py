"""The API against its own OpenAPI schema (schemathesis): no 5xx, and every response as the schema documents it.

The schema is the one the app serves at /api/schema/ (drf-spectacular); requests go to the Django WSGI application
in-process, authenticated with a knox token. For each operation schemathesis generates valid and invalid requests
(its examples, coverage and fuzzing phases; path ids mostly those of real objects, so that requests reach the views'
logic rather than their 404; half of the posts with a valid `posted_at`) and runs these checks on every response:

- `not_a_server_error`: no 5xx;
- `status_code_conformance`: the status is one the operation documents;
- `content_type_conformance`: the Content-Type is one it documents for that status;
- `response_schema_conformance`: the body validates against the documented schema.

Hypothesis is derandomized (the same cases on every run) with a bounded number of examples per operation, so the
test is fast enough for the suite and a failure reproduces.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Iterator
from typing import Any

import pytest
import schemathesis
from django.core.handlers.wsgi import WSGIHandler
from django.core.signals import request_finished, request_started
from django.db import close_old_connections
from django.test import RequestFactory
from django.utils import timezone
from drf_spectacular.views import SpectacularAPIView
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from knox.models import AuthToken
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from otklik.answers.services import do_draft_answer
from otklik.cases.models import Attachment
from otklik.cases.services import do_route, do_submit_information
from otklik.notifications.models import Notification
from tests.factories import ingest

pytestmark = pytest.mark.django_db

CHECKS = [not_a_server_error, status_code_conformance, content_type_conformance, response_schema_conformance]
MAX_EXAMPLES = 15

# The id of a path, by the collection it names.
ID_KINDS = {
    "/api/v1/incidents/": "incidents",
    "/api/v1/answers/": "answers",
    "/api/v1/assignments/": "assignments",
    "/api/v1/attachments/": "attachments",
    "/api/v1/notifications/": "notifications",
}


def served_schema() -> dict[str, Any]:
    """The schema exactly as /api/schema/ serves it (read at collection time: it needs no database)."""
    response = SpectacularAPIView.as_view()(RequestFactory().get("/api/schema/", HTTP_ACCEPT="application/json"))
    response.render()
    assert response.status_code == 200, response.content[:500]
    return json.loads(response.content)


schema = schemathesis.openapi.from_dict(served_schema())
schema.app = WSGIHandler()  # otklik.wsgi's application, without its warm-up thread
# Ids of the objects the current test made (`world`), by kind.
IDS: dict[str, list[int]] = {}


@schema.hook
def flatmap_path_parameters(context: Any, path_parameters: dict[str, Any]) -> Any:
    """Half of the time the id of an existing object of the path's kind: the views' logic, not only their 404."""
    path = context.operation.path if context.operation is not None else ""
    kind = next((k for prefix, k in ID_KINDS.items() if path.startswith(prefix)), None)
    ids = IDS.get(kind or "", [])
    if not path_parameters or "id" not in path_parameters or not ids:
        return st.just(path_parameters)
    # Three times in four an existing id; else the generated one (a 404, or a malformed id: the JSON 404).
    choices: list[int | None] = [*ids, *ids, *ids, None]
    return st.sampled_from(choices).map(lambda pk: path_parameters if pk is None else {**path_parameters, "id": pk})


@schema.hook
def flatmap_body(context: Any, body: Any) -> Any:
    """A post's `posted_at` must be a recent moment (not in the future, not before 2000): half of the generated posts
    get one, so that posts are stored (201, then 200 for a repeat) and not only refused."""
    path = context.operation.path if context.operation is not None else ""
    if path != "/api/v1/posts" or not isinstance(body, dict) or "posted_at" not in body:
        return st.just(body)
    recent = (timezone.now() - dt.timedelta(hours=1)).isoformat()
    return st.sampled_from([body, {**body, "posted_at": recent}])


@pytest.fixture
def _wsgi_in_test_transaction() -> Iterator[None]:
    """Requests go through Django's WSGI handler, which closes "old" connections at the start and end of each request;
    inside the test's transaction that would drop it. Django's own test client switches this off the same way."""
    request_started.disconnect(close_old_connections)
    request_finished.disconnect(close_old_connections)
    try:
        yield
    finally:
        request_started.connect(close_old_connections)
        request_finished.connect(close_old_connections)


@pytest.fixture
def world(operator, head, executor, housing, roads, topics) -> Iterator[dict[str, list[int]]]:
    """Incidents in several states with posts, assignments, information with a file, answers and notifications."""
    fresh = ingest("Нет горячей воды на улице Ленина 5, третий день")
    routed = ingest("Яма на дороге у дома 12 по улице Мира")
    do_route(routed, actor=operator, lead=housing, co_executors=[roads])
    answered = ingest("Не вывозят мусор во дворе дома 3")
    do_route(answered, actor=operator, lead=housing)
    lead = answered.assignments.get(department=housing)
    do_submit_information(lead, actor=executor, text="Мусор вывезут сегодня до 18:00.")
    Attachment.objects.create(
        assignment=lead, name="фото.txt", content_type="text/plain", size=5, file="attachments/missing.txt"
    )
    answer = do_draft_answer(
        answered,
        actor=operator,
        kind="final",
        text=(
            "Добрый день! Мусор во дворе дома 3 вывезли сегодня в 17:30, график вывоза восстановлен. "
            "Спасибо, что написали."
        ),
        promised_date=None,
    )
    for number, user in enumerate((operator, head)):
        Notification.objects.create(
            recipient=user, kind="generic", title="Поручение", url=f"/incidents/{fresh.pk}/", dedup_key=f"st-{number}"
        )
    IDS.update(
        {
            "incidents": [fresh.pk, routed.pk, answered.pk],
            "answers": [answer.pk],
            "assignments": [*routed.assignments.values_list("pk", flat=True), lead.pk],
            "attachments": list(Attachment.objects.values_list("pk", flat=True)),
            "notifications": list(Notification.objects.filter(recipient=operator).values_list("pk", flat=True)),
        }
    )
    yield IDS
    IDS.clear()


@schema.parametrize()
@settings(
    max_examples=MAX_EXAMPLES,
    deadline=None,
    derandomize=True,
    database=None,
    suppress_health_check=list(HealthCheck),
)
def test_the_api_conforms_to_its_schema(case, operator, world, _wsgi_in_test_transaction):
    _token, key = AuthToken.objects.create(user=operator)
    case.call_and_validate(headers={"Authorization": f"Token {key}"}, checks=CHECKS)


# --- what the schemathesis run found, pinned ----------------------------------------------------------------------


@pytest.mark.parametrize("path", ["/api/v1/incidents/1.5", "/api/v1/answers/AAA/approve", "/api/v2/incidents"])
def test_a_malformed_or_unknown_api_path_is_a_json_404(client_for, operator, path):
    response = client_for(operator).post(path) if path.endswith("approve") else client_for(operator).get(path)

    assert response.status_code == 404
    assert response["Content-Type"] == "application/json"
    assert set(response.json()) == {"detail"}


def test_a_body_that_is_not_json_is_a_400_with_a_list_of_messages(client_for, operator):
    response = client_for(operator).post("/api/v1/posts", data=b"\x00", content_type="application/json")

    assert response.status_code == 400
    body = response.json()
    assert list(body) == ["detail"]
    assert isinstance(body["detail"], list)
    assert all(isinstance(message, str) for message in body["detail"])
