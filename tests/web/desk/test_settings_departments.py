"""Departments: list with search, create and edit (including deactivation); every change in the admin log."""

from __future__ import annotations

import pytest
from django.contrib.admin.models import ADDITION, CHANGE, LogEntry
from django.utils.html import escape
from django.utils.translation import gettext

from otklik.org.choices import DepartmentKind
from otklik.org.models import Department
from tests import factories

pytestmark = pytest.mark.django_db


def department_data(**changes):
    data = {
        "name": "",
        "short_name": "",
        "kind": DepartmentKind.UNIT,
        "parent": "",
        "email": "",
        "phone": "",
        "contacts": "",
        "is_active": "on",
    }
    data.update(changes)
    return data


def log_of(obj):
    return LogEntry.objects.filter(object_id=str(obj.pk), content_type__model="department").order_by("pk")


def test_the_head_creates_a_department_and_it_is_logged(login, head, housing):
    response = login(head).post(
        "/settings/departments/new/",
        department_data(
            name="УК «Северная»",
            short_name="Северная",
            kind=DepartmentKind.COMPANY,
            parent=housing.pk,
            email="north@example.org",
            phone="+7 3466 00-00-00",
            contacts="Диспетчер круглосуточно",
        ),
    )

    assert response.status_code == 302 and response["Location"] == "/settings/departments/"
    department = Department.objects.get(name="УК «Северная»")
    assert (department.kind, department.parent, department.email) == (
        DepartmentKind.COMPANY,
        housing,
        "north@example.org",
    )
    (entry,) = log_of(department)
    assert entry.action_flag == ADDITION and entry.user == head


def test_editing_and_deactivating_a_department_is_logged(login, head, housing):
    response = login(head).post(
        f"/settings/departments/{housing.pk}/",
        department_data(name=housing.name, short_name="ЖКХ", email="new@example.org", is_active=""),
    )

    assert response.status_code == 302
    housing.refresh_from_db()
    assert housing.email == "new@example.org" and housing.is_active is False
    (entry,) = log_of(housing)
    assert entry.action_flag == CHANGE and entry.user == head


def test_validation_errors_are_shown_next_to_the_fields_and_nothing_is_lost(login, head, housing):
    response = login(head).post(
        "/settings/departments/new/", department_data(name=housing.name, email="не почта", contacts="Пишите нам")
    )

    assert response.status_code == 200
    content = response.content.decode()
    assert content.count('class="invalid-feedback d-block"') == 2  # the name is taken, the e-mail is wrong
    assert "Пишите нам</textarea>" in content
    assert Department.objects.count() == 1
    assert not LogEntry.objects.exists()


def test_a_department_cannot_be_placed_inside_its_own_unit(login, head, housing):
    child = factories.make_department("Отдел ЖКХ Северного района", parent=housing)
    response = login(head).post(
        f"/settings/departments/{housing.pk}/", department_data(name=housing.name, parent=child.pk)
    )
    assert escape(gettext("A department cannot be inside itself or inside its own unit.")) in response.content.decode()
    housing.refresh_from_db()
    assert housing.parent is None


def test_the_list_searches_and_filters(login, head, housing, roads, executor, dept_head):
    factories.make_department("УК «Южная»", kind=DepartmentKind.COMPANY, email="south@example.org")
    factories.make_department("Закрытый отдел", is_active=False)
    client = login(head)

    def names(query: str) -> list[str]:
        return [d.name for d in client.get(f"/settings/departments/{query}").context["page"]]

    assert sorted(names("")) == sorted(["Департамент ЖКХ", "Управление дорог и благоустройства", "УК «Южная»"])
    assert names("?q=south") == ["УК «Южная»"]
    assert names("?q=ЖКХ") == ["Департамент ЖКХ"]
    assert names("?q=жкх") == ["Департамент ЖКХ"]  # Cyrillic case folds on SQLite too
    assert names("?q=ЮЖНАЯ") == ["УК «Южная»"]
    assert names(f"?kind={DepartmentKind.COMPANY}") == ["УК «Южная»"]
    assert names("?active=inactive") == ["Закрытый отдел"]
    page = client.get("/settings/departments/").context["page"]
    assert {d.name: d.user_count for d in page}["Департамент ЖКХ"] == 2


def test_the_list_answers_an_htmx_search_with_the_results_only(login, head, housing):
    content = login(head).get("/settings/departments/?q=ЖКХ", HTTP_HX_REQUEST="true").content.decode()
    assert content.lstrip().startswith('<div id="results"') and "Департамент ЖКХ" in content
