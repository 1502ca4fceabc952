"""Routing from the card (confirm the suggestion in one click, or change it); checking the information."""

from __future__ import annotations

import pytest

from otklik.cases.choices import AssignmentRole, AssignmentStatus, IncidentStatus
from otklik.cases.models import Incident
from otklik.cases.services import do_route, do_submit_information
from otklik.core.worktime import add_working_hours
from otklik.notifications.models import Notification

pytestmark = pytest.mark.django_db
S = IncidentStatus
A = AssignmentStatus


def htmx_post(client, path: str, data: dict | None = None):
    return client.post(path, data or {}, HTTP_HX_REQUEST="true")


def test_confirming_the_suggestion_routes_in_one_click_and_notifies_the_departments(
    as_operator, incident, rule, housing, roads, executor, executor_other
):
    response = htmx_post(as_operator, f"/incidents/{incident.pk}/route/", {"confirm": rule.pk})

    incident.refresh_from_db()
    assignments = {a.department: a for a in incident.assignments.all()}
    assert response.status_code == 200
    assert incident.status == S.ROUTED
    assert (incident.lead_department, incident.routing_rule) == (housing, rule)
    assert assignments[housing].role == AssignmentRole.LEAD
    assert assignments[roads].role == AssignmentRole.CO
    expected_due = add_working_hours(assignments[housing].created_at, 6)
    assert abs((assignments[housing].due_at - expected_due).total_seconds()) < 60
    assert Notification.objects.filter(recipient=executor).exists()
    assert Notification.objects.filter(recipient=executor_other).exists()
    content = response.content.decode()
    assert f'id="assignment-{assignments[housing].pk}"' in content
    assert 'name="confirm"' not in content  # nothing left to confirm


def test_a_suggestion_that_changed_meanwhile_is_not_confirmed_blindly(as_operator, incident, rule):
    response = htmx_post(as_operator, f"/incidents/{incident.pk}/route/", {"confirm": rule.pk + 1000})

    incident.refresh_from_db()
    assert incident.status == S.NEW
    assert not incident.assignments.exists()
    assert "text-danger" in response.content.decode()


def test_the_operator_can_route_differently_with_a_request_and_a_due_time(as_operator, incident, roads):
    response = as_operator.post(
        f"/incidents/{incident.pk}/route/",
        {"lead": roads.pk, "due_hours": "3", "request": "Проверьте, не раскопана ли дорога."},
    )

    incident.refresh_from_db()
    (assignment,) = incident.assignments.all()
    assert response.status_code == 302
    assert (incident.lead_department, incident.routing_rule) == (roads, None)
    assert assignment.request == "Проверьте, не раскопана ли дорога."
    expected_due = add_working_hours(assignment.created_at, 3)
    assert abs((assignment.due_at - expected_due).total_seconds()) < 60


def test_routing_without_a_lead_department_is_refused_and_the_request_text_stays(as_operator, incident):
    response = htmx_post(
        as_operator, f"/incidents/{incident.pk}/route/", {"lead": "", "request": "Сообщите сроки ремонта"}
    )

    content = response.content.decode()
    assert "Сообщите сроки ремонта" in content
    assert 'class="form-select is-invalid"' in content
    assert '<details class="card-action mt-2" open>' in content
    assert Incident.objects.get(pk=incident.pk).status == S.NEW


def test_an_inactive_department_is_refused(as_operator, incident, roads):
    roads.is_active = False
    roads.save(update_fields=["is_active"])

    response = htmx_post(as_operator, f"/incidents/{incident.pk}/route/", {"lead": roads.pk})

    assert "is-invalid" in response.content.decode()
    assert not incident.assignments.exists()


@pytest.fixture
def submitted(incident, operator, housing, executor):
    (assignment,) = do_route(incident, actor=operator, lead=housing)
    do_submit_information(assignment, actor=executor, text="Горячую воду дадут 12.12 после замены задвижки.")
    return assignment


def test_accepting_the_lead_information_moves_the_incident_to_answering(as_operator, incident, submitted):
    response = htmx_post(as_operator, f"/incidents/{incident.pk}/assignments/{submitted.pk}/accept/")

    submitted.refresh_from_db()
    incident.refresh_from_db()
    assert response.status_code == 200
    assert submitted.status == A.ACCEPTED
    assert incident.status == S.ANSWERING
    # The answer editor now offers the final answer, filled from the accepted information.
    content = response.content.decode()
    assert 'value="final" data-template="' in content
    assert "Горячую воду дадут 12.12 после замены задвижки." in content


def test_accepting_twice_shows_why_it_cannot_be_done(as_operator, incident, submitted):
    as_operator.post(f"/incidents/{incident.pk}/assignments/{submitted.pk}/accept/")

    response = htmx_post(as_operator, f"/incidents/{incident.pk}/assignments/{submitted.pk}/accept/")

    content = response.content.decode()
    assert response.status_code == 200
    assert '<div class="text-danger small mt-1" role="alert">' in content


def test_returning_for_rework_needs_a_comment(as_operator, incident, submitted):
    url = f"/incidents/{incident.pk}/assignments/{submitted.pk}/rework/"
    response = htmx_post(as_operator, url, {"comment": "", "criteria": ["no_date"]})

    submitted.refresh_from_db()
    assert "Укажите, что нужно исправить." in response.content.decode()
    assert submitted.status == A.SUBMITTED
    response = htmx_post(as_operator, url, {"comment": "Нет даты"})  # no criterion chosen
    assert "Выберите хотя бы одну причину." in response.content.decode()
    submitted.refresh_from_db()
    assert submitted.status == A.SUBMITTED


def test_returning_for_rework_keeps_the_comment_in_the_history_and_notifies_the_department(
    as_operator, incident, submitted, executor
):
    before = Notification.objects.filter(recipient=executor).count()

    response = htmx_post(
        as_operator,
        f"/incidents/{incident.pk}/assignments/{submitted.pk}/rework/",
        {"comment": "Приложите фото задвижки", "criteria": ["no_evidence", "no_date"]},
    )

    submitted.refresh_from_db()
    assert submitted.status == A.REWORK
    comment = submitted.rework_comments.get()
    assert comment.text == "Приложите фото задвижки"
    assert comment.criteria == ["no_evidence", "no_date"]
    assert "Работы выполнены, но нет подтверждения (фото, акт)" in response.content.decode()
    assert Notification.objects.filter(recipient=executor).count() == before + 1
    assert 'class="small mt-2 rework-history"' in response.content.decode()


def test_a_closed_incident_offers_no_checking_of_the_information(as_operator, operator, incident, submitted):
    from otklik.answers.services import do_draft_answer, do_publish_answer
    from otklik.cases.services import do_accept_information

    do_accept_information(submitted, actor=operator)
    do_publish_answer(do_draft_answer(incident, actor=operator, kind="final", text="Готово."), actor=operator)
    assert Incident.objects.get(pk=incident.pk).status == S.CLOSED

    content = as_operator.get(f"/incidents/{incident.pk}/").content.decode()

    assert f"/assignments/{submitted.pk}/rework/" not in content
