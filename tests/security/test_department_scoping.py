"""Inside an incident two departments share, each sees only its own part: the matrix checks the status codes, this
checks what a department reads in the pages and the API that it may open."""

from __future__ import annotations

import re

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from knox.models import AuthToken
from rest_framework.test import APIClient

from otklik.cases.services import do_route, do_submit_information
from tests.factories import PASSWORD, ingest

pytestmark = pytest.mark.django_db


@pytest.fixture
def shared(operator, housing, roads, executor, executor_other):
    """Housing leads, roads helps; each has sent its information with a file. Another incident is roads' alone."""
    incident = ingest()
    by_department = {}
    for assignment in do_route(incident, actor=operator, lead=housing, co_executors=[roads]):
        author = executor if assignment.department_id == housing.pk else executor_other
        name = assignment.department.short_name
        upload = SimpleUploadedFile(f"file-{name}.txt", b"x", content_type="text/plain")
        do_submit_information(assignment, actor=author, text=f"Info-of-{name}", files=[upload])
        by_department[name] = assignment
    roads_only = ingest("Яма на дороге у школы")
    do_route(roads_only, actor=operator, lead=roads)
    return incident, by_department, roads_only


def api_client(user) -> APIClient:
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {AuthToken.objects.create(user=user)[1]}")
    return client


def test_the_card_shows_a_department_only_its_own_information_files_and_deadlines(client, executor, roads, shared):
    incident, by_department, _ = shared
    assert client.login(username=executor.username, password=PASSWORD)

    page = client.get(f"/incidents/{incident.pk}/").content.decode()

    assert "Info-of-ЖКХ" in page and "file-ЖКХ.txt" in page
    assert "Info-of-Дороги" not in page
    assert "file-Дороги.txt" not in page
    assert f"/api/v1/attachments/{by_department['Дороги'].attachments.get().pk}" not in page
    chips = re.findall(r'<span class="badge clock-chip[^"]*"[^>]*>([^<]*)', page)
    assert chips, "the card shows the deadlines"
    assert not [c for c in chips if str(roads) in c], chips


def test_the_api_gives_a_department_only_its_own_part(executor, housing, shared):
    incident, by_department, roads_only = shared
    own, other = by_department["ЖКХ"], by_department["Дороги"]
    api = api_client(executor)

    detail = api.get(f"/api/v1/incidents/{incident.pk}").json()
    assert [a["id"] for a in detail["assignments"]] == [own.pk]
    listed = [i["id"] for i in api.get("/api/v1/incidents").json()["results"]]
    assert incident.pk in listed and roads_only.pk not in listed
    assert [a["id"] for a in api.get("/api/v1/assignments").json()["results"]] == [own.pk]
    assert api.get(f"/api/v1/assignments/{other.pk}").status_code == 404
    assert api.get(f"/api/v1/attachments/{own.attachments.get().pk}").status_code == 200
    assert api.get(f"/api/v1/attachments/{other.attachments.get().pk}").status_code == 404
    assert api.get(f"/api/v1/incidents/{roads_only.pk}").status_code == 404


def test_the_service_and_the_director_see_both_parts(operator, director, shared):
    incident, by_department, _ = shared
    for user in (operator, director):
        detail = api_client(user).get(f"/api/v1/incidents/{incident.pk}").json()
        assert {a["id"] for a in detail["assignments"]} == {a.pk for a in by_department.values()}
