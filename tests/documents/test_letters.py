"""Letter drafts (DOCX) from the head's editable templates: variables, permissions, links on the pages."""

from __future__ import annotations

import datetime as dt

import pytest
from django.utils import timezone

from otklik.cases.models import Assignment
from otklik.cases.services import do_route
from otklik.documents import letters
from otklik.documents.choices import LetterKind
from otklik.documents.models import LetterTemplate
from tests.documents.helpers import docx_text
from tests.factories import ingest, make_user

pytestmark = pytest.mark.django_db


@pytest.fixture
def assignment(operator, housing, dept_head, head):
    dept_head.first_name, dept_head.last_name = "Пётр", "Сидоров"
    dept_head.save(update_fields=["first_name", "last_name"])
    head.first_name, head.last_name = "Анна", "Руководитель"
    head.save(update_fields=["first_name", "last_name"])
    incident = ingest("Третий день нет горячей воды на улице Ленина 5")
    (a,) = do_route(incident, actor=operator, lead=housing, request="Сообщите сроки восстановления подачи воды")
    return a


def overdue(a: Assignment) -> Assignment:
    # The sweep that marks deadlines is not what is tested here: move the due time into the past directly.
    Assignment.objects.filter(pk=a.pk).update(due_at=timezone.now() - dt.timedelta(hours=30))
    a.refresh_from_db()
    return a


def test_the_command_loads_the_default_templates_once(db):
    from django.core.management import call_command

    call_command("load_letter_templates", verbosity=0)
    LetterTemplate.objects.filter(kind=LetterKind.INFO_REQUEST).update(body="Изменено {{ department }}")
    call_command("load_letter_templates", verbosity=0)
    assert set(LetterTemplate.objects.values_list("kind", flat=True)) == set(LetterKind.values)
    assert LetterTemplate.objects.get(kind=LetterKind.INFO_REQUEST).body == "Изменено {{ department }}"


def test_the_request_letter_names_the_department_its_head_the_request_and_the_due_time(assignment):
    letter = letters.letter_for_assignment(LetterKind.INFO_REQUEST, assignment)
    text = docx_text(letters.render_docx(letter))
    assert "Департамент ЖКХ" in text
    assert "Пётр Сидоров" in text
    assert "Сообщите сроки восстановления подачи воды" in text
    assert f"№{assignment.incident_id}" in text
    assert timezone.localtime(assignment.due_at).strftime("%d.%m.%Y %H:%M") in text
    assert "Анна Руководитель" in text  # the signature
    assert "{{" not in text


def test_the_overdue_notice_says_how_long_it_is_overdue(assignment):
    letter = letters.letter_for_assignment(LetterKind.OVERDUE_NOTICE, overdue(assignment))
    text = docx_text(letters.render_docx(letter))
    assert "Пётр Сидоров" in text
    assert "1" in letters.assignment_values(assignment)["overdue"]
    assert letters.assignment_values(assignment)["overdue"] in text


def test_a_saved_template_is_used_for_the_next_letter(client, head, assignment):
    client.force_login(head)
    response = client.post(
        f"/settings/letters/{LetterKind.INFO_REQUEST}/",
        {"name": "Запрос", "subject": "Запрос по {{ incident }}", "body": "Коллеги из {{ department }}, до {{ due }}."},
    )
    assert response.status_code == 302
    text = docx_text(letters.render_docx(letters.letter_for_assignment(LetterKind.INFO_REQUEST, assignment)))
    assert "Коллеги из Департамент ЖКХ, до" in text
    assert f"Запрос по №{assignment.incident_id}" in text


def test_an_unknown_variable_is_a_form_error(client, head):
    client.force_login(head)
    before = letters.get_template(LetterKind.INFO_REQUEST).body
    response = client.post(
        f"/settings/letters/{LetterKind.INFO_REQUEST}/",
        {"name": "Запрос", "subject": "", "body": "Привет, {{ mayor }} и {{ department }}"},
    )
    assert response.status_code == 400
    assert response.context["form"].has_error("body", code="unknown_variable")
    assert b"{{ mayor }}" in response.content
    assert LetterTemplate.objects.get(kind=LetterKind.INFO_REQUEST).body == before


def test_period_is_unknown_in_a_request_but_known_in_the_summary(client, head):
    client.force_login(head)
    body = {"name": "x", "subject": "", "body": "За {{ period }}: {{ figures }}"}
    assert client.post(f"/settings/letters/{LetterKind.INFO_REQUEST}/", body).status_code == 400
    assert client.post(f"/settings/letters/{LetterKind.SUMMARY_DEPUTY}/", body).status_code == 302


def test_the_preview_fills_the_variables_with_examples(client, head):
    client.force_login(head)
    response = client.post(
        f"/settings/letters/{LetterKind.OVERDUE_NOTICE}/preview/",
        {"name": "x", "subject": "", "body": "Просрочка: {{ overdue }} у {{ department }}"},
    )
    assert response.status_code == 200
    assert b"data-preview" in response.content
    assert b"{{" not in response.content
    bad = client.post(
        f"/settings/letters/{LetterKind.OVERDUE_NOTICE}/preview/", {"name": "x", "subject": "", "body": "{{ nope }}"}
    )
    assert b"data-preview-errors" in bad.content


def test_only_the_head_edits_templates(client, operator, head):
    client.force_login(operator)
    assert client.get("/settings/letters/").status_code == 403
    assert client.post(f"/settings/letters/{LetterKind.INFO_REQUEST}/", {"name": "x", "body": "y"}).status_code == 403
    client.force_login(head)
    page = client.get("/settings/letters/")
    assert page.status_code == 200
    assert page.content.count(b"data-letter-template") == 3


@pytest.mark.parametrize(
    ("persona", "status"),
    [("operator", 200), ("director", 200), ("executor", 200), ("dept_head", 200), ("executor_other", 403)],
)
def test_who_may_download_a_departments_letter(client, request, assignment, persona, status):
    client.force_login(request.getfixturevalue(persona))
    response = client.get(f"/documents/letters/assignment/{assignment.pk}/{LetterKind.INFO_REQUEST}/")
    assert response.status_code == status
    if status == 200:
        assert "Департамент ЖКХ" in docx_text(response.content)


def test_the_overdue_notice_exists_only_for_an_overdue_assignment(client, operator, assignment):
    client.force_login(operator)
    url = f"/documents/letters/assignment/{assignment.pk}/{LetterKind.OVERDUE_NOTICE}/"
    assert client.get(url).status_code == 404
    overdue(assignment)
    response = client.get(url)
    assert response.status_code == 200
    assert "Сообщите сроки восстановления подачи воды" in docx_text(response.content)


def test_the_card_links_the_letters_of_its_assignments(client, operator, executor_other, assignment):
    client.force_login(operator)
    page = client.get(f"/incidents/{assignment.incident_id}/")
    assert f"/documents/letters/assignment/{assignment.pk}/info_request/".encode() in page.content
    assert b'data-letter="overdue_notice"' not in page.content
    overdue(assignment)
    page = client.get(f"/incidents/{assignment.incident_id}/")
    assert f"/documents/letters/assignment/{assignment.pk}/overdue_notice/".encode() in page.content


def test_the_summary_to_the_deputy_holds_the_figures_of_the_period(client, director, operator, housing):
    for text in ("Нет воды на Ленина 5", "Яма на дороге у дома 7", "Не вывозят мусор третий день"):
        ingest(text)
    today = timezone.localdate()
    client.force_login(director)
    response = client.get(
        "/documents/letters/summary/",
        {"start": (today - dt.timedelta(days=2)).isoformat(), "end": today.isoformat(), "deputy": "С. С. Замов"},
    )
    assert response.status_code == 200
    text = docx_text(response.content)
    assert today.strftime("%d.%m.%Y") in text
    assert "С. С. Замов" in text
    values = letters.summary_values(today - dt.timedelta(days=2), today)
    assert values["figures"].splitlines()[1].endswith(": 3")  # incidents
    assert values["figures"].splitlines()[1] in text
    assert "{{" not in text


def test_the_summary_refuses_a_reversed_period(client, director):
    client.force_login(director)
    response = client.get("/documents/letters/summary/", {"start": "2026-05-10", "end": "2026-05-01"})
    assert response.status_code == 400


def test_an_executor_cannot_get_the_summary(client, executor):
    client.force_login(executor)
    assert client.get("/documents/letters/summary/").status_code == 403


def test_the_dashboard_links_the_summary_with_its_period(client, director):
    client.force_login(director)
    page = client.get("/dashboard/")
    assert page.status_code == 200
    assert b"/documents/letters/summary/?start=" in page.content


def test_a_new_department_user_sees_no_letters_of_another_department(client, roads, assignment):
    stranger = make_user("roads_head", role="dept_head", department=roads)
    client.force_login(stranger)
    response = client.get(f"/documents/letters/assignment/{assignment.pk}/{LetterKind.INFO_REQUEST}/")
    assert response.status_code == 403


def test_the_editor_shows_the_variables_and_a_preview(client, head):
    client.force_login(head)
    page = client.get(f"/settings/letters/{LetterKind.SUMMARY_DEPUTY}/")
    assert page.status_code == 200
    assert b"{{ figures }}" in page.content  # the list of variables
    assert b"data-preview" in page.content
    assert f"/settings/letters/{LetterKind.SUMMARY_DEPUTY}/preview/".encode() in page.content
