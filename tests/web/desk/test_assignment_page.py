"""One assignment: the citizen's posts, what is asked, the due time, and the one form (information or decline)."""

from __future__ import annotations

import datetime as dt

import pytest
import time_machine
from django.utils import timezone
from django.utils.html import escape
from django.utils.translation import gettext

from otklik.cases.choices import AssignmentStatus, EventVerb, IncidentStatus
from otklik.cases.services import do_assign_executor, do_return_for_rework, do_submit_information

pytestmark = pytest.mark.django_db

A = AssignmentStatus


def t(msgid: str) -> str:
    """A message as the page shows it (translated, HTML-escaped)."""
    return escape(gettext(msgid))


SUBMITTED_NEXT = (
    "The information has been sent to the feedback service. If anything needs clarifying, the assignment "
    "will come back to you with a comment."
)
DECLINED_NEXT = (
    "The assignment has gone back to the feedback service: an operator will send the incident to the right department."
)


def test_it_shows_the_citizens_posts_as_text_with_author_time_and_link(login, assign, executor, housing):
    assignment = assign(
        housing,
        text="Во дворе <script>alert('x')</script> яма",
        author_name="Мария Иванова",
        url="https://vk.com/wall-1_2",
    )

    content = login(executor).get(f"/assignments/{assignment.pk}/").content.decode()

    assert "&lt;script&gt;alert(&#x27;x&#x27;)&lt;/script&gt;" in content
    assert "<script>alert(" not in content
    assert "Мария Иванова" in content
    assert 'href="https://vk.com/wall-1_2"' in content
    assert "<time datetime=" in content


def test_a_link_that_is_not_a_web_address_is_not_clickable(login, assign, executor, housing):
    assignment = assign(housing, url="javascript:alert(1)")
    content = login(executor).get(f"/assignments/{assignment.pk}/").content.decode()
    assert "javascript:" not in content


def test_it_shows_what_the_service_asks_or_a_plain_default_and_the_time_left(login, assign, executor, housing):
    asked = assign(housing, request="Сообщите, когда дадут воду")
    silent = assign(housing)
    client = login(executor)

    asked_page = client.get(f"/assignments/{asked.pk}/").content.decode()
    assert "Сообщите, когда дадут воду" in asked_page
    assert 'class="time-left"' in asked_page

    silent_page = client.get(f"/assignments/{silent.pk}/").content.decode()
    assert t("Tell what has been done or will be done about this problem, by whom and by what date.") in silent_page


def test_a_returned_assignment_shows_the_services_comment_highlighted_and_keeps_the_earlier_text(
    login, assign, operator, executor, housing
):
    assignment = assign(housing)
    do_submit_information(assignment, actor=executor, text="Трубу заменили")
    do_return_for_rework(assignment, actor=operator, comment="Нужна дата окончания работ")

    content = login(executor).get(f"/assignments/{assignment.pk}/").content.decode()

    assert 'class="alert alert-warning desk-rework"' in content
    assert t("The service returned it for rework:") in content
    assert "Нужна дата окончания работ" in content
    assert ">Трубу заменили</textarea>" in content


def test_sending_information_stores_it_and_says_what_happens_next(login, assign, executor, housing):
    assignment = assign(housing)
    client = login(executor)

    response = client.post(
        f"/assignments/{assignment.pk}/", {"choice": "information", "information": "Воду дадут в 18:00"}
    )

    assert response.status_code == 302 and response["Location"] == f"/assignments/{assignment.pk}/"
    assignment.refresh_from_db()
    assert assignment.status == A.SUBMITTED
    assert assignment.information == "Воду дадут в 18:00"
    assert assignment.submitted_by == executor
    page = client.get(f"/assignments/{assignment.pk}/").content.decode()
    assert t(SUBMITTED_NEXT) in page
    assert 'name="choice"' not in page  # read-only now
    assert t("answered on time") in page


def test_information_needs_a_text(login, assign, executor, housing):
    assignment = assign(housing)
    response = login(executor).post(f"/assignments/{assignment.pk}/", {"choice": "information", "information": " "})
    assert response.status_code == 200
    assert t("Write the information for the answer.") in response.content.decode()
    assignment.refresh_from_db()
    assert assignment.status == A.SENT


def test_declining_needs_a_reason(login, assign, executor, housing):
    assignment = assign(housing)
    response = login(executor).post(
        f"/assignments/{assignment.pk}/", {"choice": "decline", "reason": "", "information": "черновик"}
    )
    content = response.content.decode()
    assert t("Say why this is not your department's competence.") in content
    assert ">черновик</textarea>" in content
    assignment.refresh_from_db()
    assert assignment.status == A.SENT


def test_declining_with_a_reason_returns_the_incident_to_the_service(login, assign, executor, housing):
    assignment = assign(housing)
    client = login(executor)

    client.post(f"/assignments/{assignment.pk}/", {"choice": "decline", "reason": "Это дорога, не ЖКХ"})

    assignment.refresh_from_db()
    assert assignment.status == A.DECLINED
    assert assignment.decline_reason == "Это дорога, не ЖКХ"
    assert assignment.incident.status == IncidentStatus.TRIAGE
    page = client.get(f"/assignments/{assignment.pk}/").content.decode()
    assert t(DECLINED_NEXT) in page
    assert "Это дорога, не ЖКХ" in page


def test_another_departments_assignment_does_not_exist_for_an_executor(login, assign, executor_other, housing):
    assignment = assign(housing)
    client = login(executor_other)

    assert client.get(f"/assignments/{assignment.pk}/").status_code == 404
    posted = client.post(f"/assignments/{assignment.pk}/", {"choice": "information", "information": "Чужое"})
    assert posted.status_code == 404
    declined = client.post(f"/assignments/{assignment.pk}/", {"choice": "decline", "reason": "Чужое"})
    assert declined.status_code == 404
    assert client.post(f"/assignments/{assignment.pk}/assign/", {"assignee": executor_other.pk}).status_code == 404
    assignment.refresh_from_db()
    assert assignment.status == A.SENT and assignment.information == "" and assignment.assignee is None


def test_a_finished_assignment_is_read_only(login, assign, executor, housing):
    assignment = assign(housing)
    do_submit_information(assignment, actor=executor, text="Сделано")
    client = login(executor)

    page = client.get(f"/assignments/{assignment.pk}/").content.decode()
    assert 'name="choice"' not in page
    assert "Сделано" in page

    response = client.post(f"/assignments/{assignment.pk}/", {"choice": "decline", "reason": "Передумали"}, follow=True)
    assert response.status_code == 200
    assignment.refresh_from_db()
    assert assignment.status == A.SUBMITTED
    assert assignment.incident.events.filter(verb=EventVerb.DECLINED).count() == 0


def test_a_colleagues_assignment_is_shown_but_cannot_be_answered(
    login, assign, executor, colleague, dept_head, housing
):
    assignment = assign(housing)
    do_assign_executor(assignment, actor=dept_head, assignee=colleague)
    client = login(executor)

    page = client.get(f"/assignments/{assignment.pk}/").content.decode()
    assert 'name="choice"' not in page
    assert "Пётр Сидоров" in page

    client.post(f"/assignments/{assignment.pk}/", {"choice": "information", "information": "Не моё"})
    assignment.refresh_from_db()
    assert assignment.status == A.SENT


def test_the_department_head_gives_an_assignment_to_an_executor(login, assign, dept_head, colleague, housing):
    assignment = assign(housing)
    client = login(dept_head)

    page = client.get(f"/assignments/{assignment.pk}/").content.decode()
    assert f'action="/assignments/{assignment.pk}/assign/"' in page
    assert "Пётр Сидоров" in page

    response = client.post(f"/assignments/{assignment.pk}/assign/", {"assignee": colleague.pk})
    assert response.status_code == 302
    assignment.refresh_from_db()
    assert assignment.assignee == colleague
    assert assignment.incident.events.filter(verb=EventVerb.REASSIGNED).exists()

    client.post(f"/assignments/{assignment.pk}/assign/", {"assignee": ""})
    assignment.refresh_from_db()
    assert assignment.assignee is None


def test_an_assignment_cannot_be_given_to_someone_outside_the_department(
    login, assign, dept_head, executor_other, housing
):
    assignment = assign(housing)
    response = login(dept_head).post(f"/assignments/{assignment.pk}/assign/", {"assignee": executor_other.pk})
    assert response.status_code == 200
    assert 'class="invalid-feedback d-block"' in response.content.decode()
    assignment.refresh_from_db()
    assert assignment.assignee is None


def test_an_executor_cannot_reassign(login, assign, executor, colleague, housing):
    assignment = assign(housing)
    client = login(executor)
    assert "/assign/" not in client.get(f"/assignments/{assignment.pk}/").content.decode()
    client.post(f"/assignments/{assignment.pk}/assign/", {"assignee": colleague.pk})
    assignment.refresh_from_db()
    assert assignment.assignee is None


def test_the_department_head_can_answer_any_assignment_of_the_department(login, assign, dept_head, executor, housing):
    assignment = assign(housing)
    do_assign_executor(assignment, actor=dept_head, assignee=executor)
    login(dept_head).post(
        f"/assignments/{assignment.pk}/", {"choice": "information", "information": "Ответ начальника"}
    )
    assignment.refresh_from_db()
    assert assignment.status == A.SUBMITTED and assignment.submitted_by == dept_head


def test_a_late_answer_is_shown_as_late(login, assign, executor, housing):
    assignment = assign(housing, hours=1)
    with time_machine.travel(timezone.now() + dt.timedelta(days=2)):
        do_submit_information(assignment, actor=executor, text="Поздно, но сделали")
        page = login(executor).get(f"/assignments/{assignment.pk}/").content.decode()
    assert t("answered after the due time") in page
