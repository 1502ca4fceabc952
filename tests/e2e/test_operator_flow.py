"""The critical flows in real Chromium: an operator takes a routine incident from the inbox to a published answer
(the executor answering in between), an executor cannot open another department's assignment, and a post with
`<script>` shows as text."""

from __future__ import annotations

from decimal import Decimal

import pytest

from otklik.cases.choices import AssignmentStatus, IncidentStatus
from otklik.cases.models import Assignment, Incident
from otklik.cases.services import do_classify, do_route
from otklik.org.models import RoutingRule, Topic, TopicGroup
from tests.factories import ingest

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def triaged_incident(settings, operator, housing, executor, executor_other):
    """A classified incident waiting for the operator in triage (no auto-routing: step 3 is his)."""
    settings.OTKLIK_CLASSIFIER_THRESHOLD = 1.01
    group = TopicGroup.objects.create(name="ЖКХ")
    topic = Topic.objects.create(name="Отсутствие горячей воды", group=group)
    RoutingRule.objects.create(name="ЖКХ", group=group, lead=housing, due_hours=Decimal("8"))
    incident = ingest(
        "Третий день нет горячей воды на улице Ленина 5, дети моются из тазика",
        author_name="Иван Петров",
        author_id="id101",
        url="https://vk.com/wall-1_101",
    )
    incident.refresh_from_db()
    assert incident.status == IncidentStatus.TRIAGE
    return do_classify(incident, topic=topic, confidence=0.9)


def logout(page, live_server):
    page.click("nav form[action='/logout/'] button")
    page.wait_for_url(f"{live_server.url}/login/")


def test_an_operator_walks_a_routine_incident_to_a_published_answer(
    page, live_server, login_as, operator, executor, triaged_incident
):
    incident = triaged_incident
    # 1. The inbox lists it; the operator opens it.
    login_as(operator)
    assert page.url.endswith("/inbox/")
    row = page.locator(f"tr.inbox-row[data-id='{incident.pk}']")
    assert "горячей воды" in row.inner_text()
    row.click()
    page.wait_for_url(f"**/incidents/{incident.pk}/")
    # 2.–3. The card shows the post; the suggested routing is confirmed in one click.
    assert "дети моются из тазика" in page.inner_text("body")
    page.click("[data-confirm-route]")
    page.locator("[data-confirm-route]").wait_for(state="detached")
    assert executor.department.name in page.inner_text("body")
    incident.refresh_from_db()
    assert incident.status == IncidentStatus.ROUTED
    assignment = Assignment.objects.get(incident=incident)
    logout(page, live_server)

    # The executor answers from «Мои поручения».
    login_as(executor)
    assert page.url.endswith("/assignments/")
    page.click(f"a[href='/assignments/{assignment.pk}/']")
    page.fill(
        "textarea[name=information]", "Горячую воду дали 30.11 в 15:00, авария на сетях устранена, фото прилагаем."
    )
    page.click("form.desk-reply button[type=submit].btn-primary")
    page.wait_for_load_state("networkidle")
    assignment.refresh_from_db()
    assert assignment.status == AssignmentStatus.SUBMITTED
    logout(page, live_server)

    # 4. The operator accepts the information.
    login_as(operator)
    page.goto(f"{live_server.url}/incidents/{incident.pk}/")
    page.click(f"form[action='/incidents/{incident.pk}/assignments/{assignment.pk}/accept/'] button")
    page.wait_for_selector("#id_answer_kind_final:checked")
    assert page.is_enabled("[data-publish]")
    # 5. The answer: the editor is filled from the department's information; the operator pastes the link.
    text = page.input_value("textarea[name=text]")
    assert "Горячую воду дали" in text
    page.fill("input[name=link]", "https://vk.com/wall-1_101?reply=202")
    page.click("[data-publish]")
    page.wait_for_load_state("networkidle")
    # 6. A final answer closes the incident (the default setting).
    incident.refresh_from_db()
    assert incident.status == IncidentStatus.CLOSED
    answer = incident.answers.get()
    assert answer.link == "https://vk.com/wall-1_101?reply=202"
    assert page.locator("a[href='https://vk.com/wall-1_101?reply=202']").count() >= 1
    assert [e for e in page.console_errors if "Content Security Policy" in e] == []


def test_an_executor_cannot_open_another_departments_assignment(
    page, live_server, login_as, operator, housing, executor_other
):
    incident = ingest("Прорвало трубу в подъезде")
    do_route(incident, actor=operator, lead=housing)
    assignment = Assignment.objects.get(incident=incident)
    login_as(executor_other)
    response = page.goto(f"{live_server.url}/assignments/{assignment.pk}/")
    assert response.status == 404
    assert "Прорвало трубу" not in page.inner_text("body")
    response = page.goto(f"{live_server.url}/incidents/{incident.pk}/")
    assert response.status == 404


def test_a_post_with_a_script_shows_as_text(page, live_server, login_as, operator):
    incident = ingest('Жалоба <script>window.__xss = 1</script> <img src=x onerror="window.__xss = 2">')
    login_as(operator)
    page.goto(f"{live_server.url}/incidents/{incident.pk}/")
    assert page.evaluate("window.__xss") is None
    assert "<script>window.__xss = 1</script>" in page.inner_text("body")
    page.goto(f"{live_server.url}/inbox/")
    assert page.evaluate("window.__xss") is None
    assert Incident.objects.filter(pk=incident.pk).exists()
