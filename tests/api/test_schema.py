"""The OpenAPI schema and the Swagger UI: valid, complete, served without a CDN."""

from __future__ import annotations

import re

import pytest
import yaml
from django.core.management import call_command
from drf_spectacular.validation import validate_schema

pytestmark = pytest.mark.django_db

PATHS = {
    "/api/v1/posts": {"post"},
    "/api/v1/incidents": {"get"},
    "/api/v1/incidents/{id}": {"get"},
    "/api/v1/incidents/{id}/take": {"post"},
    "/api/v1/incidents/{id}/route": {"post"},
    "/api/v1/incidents/{id}/no-answer": {"post"},
    "/api/v1/incidents/{id}/merge": {"post"},
    "/api/v1/incidents/{id}/split": {"post"},
    "/api/v1/incidents/{id}/close": {"post"},
    "/api/v1/incidents/{id}/reopen": {"post"},
    "/api/v1/incidents/{id}/classify": {"post"},
    "/api/v1/incidents/{id}/answers": {"post"},
    "/api/v1/answers/check": {"post"},
    "/api/v1/answers/{id}": {"get"},
    "/api/v1/answers/{id}/submit": {"post"},
    "/api/v1/answers/{id}/approve": {"post"},
    "/api/v1/answers/{id}/reject": {"post"},
    "/api/v1/answers/{id}/publish": {"post"},
    "/api/v1/assignments": {"get"},
    "/api/v1/assignments/{id}": {"get"},
    "/api/v1/assignments/{id}/information": {"post"},
    "/api/v1/assignments/{id}/accept": {"post"},
    "/api/v1/assignments/{id}/rework": {"post"},
    "/api/v1/assignments/{id}/decline": {"post"},
    "/api/v1/assignments/{id}/assign": {"post"},
    "/api/v1/attachments/{id}": {"get"},
    "/api/v1/auth/logout": {"post"},
    "/api/v1/auth/logout-all": {"post"},
    "/api/v1/auth/me": {"get"},
    "/api/v1/stats": {"get"},
    "/api/v1/notifications": {"get"},
    "/api/v1/notifications/{id}/read": {"post"},
    "/api/v1/notifications/read-all": {"post"},
}
# POSTs without a body that no role is refused: nothing to answer 400 or 403 to.
NO_INPUT_POSTS = {
    "/api/v1/auth/logout",
    "/api/v1/auth/logout-all",
    "/api/v1/notifications/{id}/read",
    "/api/v1/notifications/read-all",
}


def test_it_generates_a_valid_openapi_3_schema_without_warnings(tmp_path):
    target = tmp_path / "schema.yaml"

    call_command("spectacular", "--validate", "--fail-on-warn", "--file", str(target))

    assert yaml.safe_load(target.read_text())["openapi"].startswith("3.")


@pytest.mark.parametrize("url", ["/api/schema/", "/api/schema"])
def test_it_serves_the_schema_listing_every_path(anon, url):
    response = anon.get(url)

    assert response.status_code == 200
    schema = yaml.safe_load(response.content)
    validate_schema(schema)
    assert {path: set(ops) - {"parameters"} for path, ops in schema["paths"].items()} == PATHS


def test_it_documents_requests_responses_and_errors_of_every_operation(anon):
    schema = yaml.safe_load(anon.get("/api/schema/").content)

    for path, operations in schema["paths"].items():
        for method, operation in operations.items():
            assert operation.get("summary"), (method, path)
            assert {"401"} <= set(operation["responses"]), (method, path)
            if method == "post" and path not in NO_INPUT_POSTS:
                assert {"400", "403"} <= set(operation["responses"]), (method, path)
    post = schema["paths"]["/api/v1/posts"]["post"]
    assert set(post["responses"]) >= {"200", "201", "400", "401", "403"}
    assert schema["components"]["securitySchemes"]["tokenAuth"]["in"] == "header"


def test_it_describes_the_incident_exactly_as_the_contract(anon):
    schema = yaml.safe_load(anon.get("/api/schema/").content)

    incident = schema["components"]["schemas"]["Incident"]["properties"]
    assert list(incident) == [
        "id",
        "status",
        "topic",
        "group",
        "priority",
        "address",
        "lead_department",
        "owner",
        "due_at",
        "created_at",
        "merged_into",
        "posts",
        "assignments",
        "answers",
    ]


@pytest.mark.parametrize("url", ["/api/docs/", "/api/docs"])
def test_it_serves_the_swagger_ui_from_the_sidecar_not_a_cdn(anon, url):
    response = anon.get(url)

    assert response.status_code == 200
    html = response.content.decode()
    assert "drf_spectacular_sidecar/swagger-ui-dist" in html
    # No address of a CDN (a bare "cdn" may occur inside the random CSRF token).
    assert not re.search(r"(?:https?:)?//[^\s\"']*(?:cdn|unpkg|jsdelivr)", html, re.IGNORECASE)
    assert "/api/schema" in html
