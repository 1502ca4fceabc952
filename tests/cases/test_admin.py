"""Django admin shows incidents read-only; its actions change them through the services."""

from __future__ import annotations

import pytest

from otklik.cases.choices import EventVerb, IncidentStatus
from otklik.cases.models import Event
from tests.factories import PASSWORD, ingest

pytestmark = pytest.mark.django_db


@pytest.fixture
def admin_client_logged(client, admin_user):
    client.login(username=admin_user.username, password=PASSWORD)
    return client


def test_the_admin_lists_and_shows_incidents(admin_client_logged):
    incident = ingest("Яма во дворе дома 5")
    listing = admin_client_logged.get("/admin/cases/incident/")
    assert listing.status_code == 200
    page = admin_client_logged.get(f"/admin/cases/incident/{incident.pk}/change/")
    assert page.status_code == 200
    assert "Яма во дворе дома 5" in page.content.decode()


def test_an_admin_action_goes_through_the_service_and_records_an_event(admin_client_logged, admin_user):
    incident = ingest()
    response = admin_client_logged.post(
        "/admin/cases/incident/",
        {"action": "no_answer_spam", "_selected_action": [incident.pk]},
        follow=True,
    )
    assert response.status_code == 200
    incident.refresh_from_db()
    assert incident.status == IncidentStatus.NO_ANSWER
    assert Event.objects.get(incident=incident, verb=EventVerb.NO_ANSWER).actor == admin_user


def test_an_illegal_admin_action_is_reported_not_raised(admin_client_logged):
    incident = ingest()
    response = admin_client_logged.post(
        "/admin/cases/incident/", {"action": "close", "_selected_action": [incident.pk]}, follow=True
    )
    assert response.status_code == 200
    incident.refresh_from_db()
    assert incident.status == IncidentStatus.NEW
    assert f"#{incident.pk}" in response.content.decode()


def test_the_admin_cannot_edit_incident_fields_directly(admin_client_logged):
    incident = ingest()
    admin_client_logged.post(f"/admin/cases/incident/{incident.pk}/change/", {"status": "closed"})
    incident.refresh_from_db()
    assert incident.status == IncidentStatus.NEW
