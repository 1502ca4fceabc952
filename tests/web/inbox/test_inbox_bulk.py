"""Bulk actions on the ticked rows: route by the rules, "no answer needed" with a reason, merge.

Each item runs in its own transaction; a refused item is reported with its reason and the others go on.
"""

from __future__ import annotations

import pytest
from django.contrib.messages import get_messages

from otklik.cases.choices import AssignmentRole, IncidentStatus
from otklik.cases.services import do_classify
from otklik.intake.models import Post
from tests.factories import ingest

pytestmark = pytest.mark.django_db
S = IncidentStatus


def texts(response) -> list[str]:
    return [str(m) for m in get_messages(response.wsgi_request)]


def test_routing_by_the_rules_routes_each_suggested_incident_and_reports_the_rest(
    login, operator, world, rubricator, housing
):
    pothole = ingest("Яма на Ленина", channel="vk")
    do_classify(pothole, topic=rubricator.potholes, actor=operator)  # no rule for the roads group
    client = login(operator)
    ids = [world.new.pk, pothole.pk, world.routed.pk]
    response = client.post("/inbox/?view=new&channel=vk", {"action": "route", "ids": ids})
    assert response.status_code == 302 and response["Location"] == "/inbox/?view=new&channel=vk"

    world.new.refresh_from_db()
    assert world.new.status == S.ROUTED and world.new.lead_department == housing
    assert world.new.routing_rule == rubricator.rule
    assert world.new.assignments.get().role == AssignmentRole.LEAD
    pothole.refresh_from_db()
    assert pothole.status == S.NEW
    [message] = texts(response)
    assert "1" in message and "2" in message
    assert f"№{pothole.pk}:" in message and f"№{world.routed.pk}:" in message


def test_the_summary_is_shown_on_the_list_after_the_redirect(login, operator, world):
    client = login(operator)
    response = client.post("/inbox/", {"action": "route", "ids": [world.triage.pk]}, follow=True)
    assert response.status_code == 200
    html = response.content.decode()
    assert "alert-danger" in html and f"№{world.triage.pk}:" in html


def test_no_answer_needed_marks_each_incident_with_the_reason_and_note(login, operator, world):
    client = login(operator)
    ids = [world.new.pk, world.triage.pk, world.approval.pk]
    response = client.post("/inbox/", {"action": "no_answer", "ids": ids, "reason": "other", "note": "Реклама"})
    assert response.status_code == 302
    for incident in (world.new, world.triage):
        incident.refresh_from_db()
        assert incident.status == S.NO_ANSWER and incident.no_answer_reason == "other"
        assert incident.status_note == "Реклама"
    world.approval.refresh_from_db()
    assert world.approval.status == S.APPROVAL  # on approval: cannot be dropped, reported
    [message] = texts(response)
    assert f"№{world.approval.pk}:" in message


def test_no_answer_without_a_reason_keeps_the_ticks_and_says_what_is_missing(login, operator, world):
    client = login(operator)
    response = client.post("/inbox/?view=new", {"action": "no_answer", "ids": [world.new.pk], "note": "спам"})
    assert response.status_code == 400
    html = response.content.decode()
    assert 'data-error="reason"' in html
    assert f'value="{world.new.pk}" aria-label="№{world.new.pk}" checked' in html
    assert 'value="спам"' in html
    world.new.refresh_from_db()
    assert world.new.status == S.NEW


def test_nothing_ticked_is_an_error_next_to_the_actions(login, operator, world):
    response = login(operator).post("/inbox/", {"action": "route"})
    assert response.status_code == 400
    assert 'data-error="ids"' in response.content.decode()


def test_merge_puts_the_ticked_incidents_into_the_oldest(login, operator, world):
    extra = ingest("Тоже нет горячей воды на Ленина", channel="vk")
    client = login(operator)
    response = client.post("/inbox/", {"action": "merge", "ids": [extra.pk, world.new.pk, world.new_overdue.pk]})
    assert response.status_code == 302
    for incident in (world.new, extra):
        incident.refresh_from_db()
        assert incident.status == S.MERGED and incident.merged_into_id == world.new_overdue.pk
    assert Post.objects.filter(incident=world.new_overdue).count() == 3
    [message] = texts(response)
    assert f"№{world.new_overdue.pk}" in message


def test_merge_into_a_chosen_incident_reports_the_ones_that_cannot_merge(login, operator, world):
    client = login(operator)
    ids = [world.new.pk, world.approval.pk, world.triage.pk]
    response = client.post("/inbox/", {"action": "merge", "ids": ids, "into": world.triage.pk})
    assert response.status_code == 302
    world.new.refresh_from_db()
    assert world.new.merged_into_id == world.triage.pk
    world.approval.refresh_from_db()
    assert world.approval.status == S.APPROVAL
    [message] = texts(response)
    assert f"№{world.approval.pk}:" in message


def test_merge_into_an_unknown_number_is_an_error_next_to_the_field(login, operator, world):
    response = login(operator).post("/inbox/", {"action": "merge", "ids": [world.new.pk], "into": 999999})
    assert response.status_code == 400
    assert 'data-error="into"' in response.content.decode()


def test_merging_a_single_incident_is_refused(login, operator, world):
    response = login(operator).post("/inbox/", {"action": "merge", "ids": [world.new.pk]})
    assert response.status_code == 400
    world.new.refresh_from_db()
    assert world.new.status == S.NEW


def test_an_unknown_id_is_reported_not_a_crash(login, operator, world):
    response = login(operator).post("/inbox/", {"action": "no_answer", "ids": [world.new.pk, 999999], "reason": "spam"})
    assert response.status_code == 302
    world.new.refresh_from_db()
    assert world.new.status == S.NO_ANSWER
    [message] = texts(response)
    assert "№999999:" in message


def test_a_bulk_action_redirects_only_back_to_the_inbox(login, operator, world):
    response = login(operator).post("/inbox/?view=new", {"action": "route", "ids": [world.new.pk], "next": "//evil"})
    assert response["Location"] == "/inbox/?view=new"
