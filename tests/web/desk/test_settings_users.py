"""Users: list with role and department, create (password generated and shown once, or set), edit; all logged."""

from __future__ import annotations

import pytest
from django.contrib.admin.models import ADDITION, CHANGE, LogEntry
from django.test import Client
from django.utils.html import escape
from django.utils.translation import gettext

from otklik.accounts.models import User

pytestmark = pytest.mark.django_db


def user_data(**changes):
    data = {
        "username": "",
        "last_name": "",
        "first_name": "",
        "email": "",
        "phone": "",
        "role": "executor",
        "department": "",
        "is_active": "on",
        "password_mode": "generate",
        "password1": "",
        "password2": "",
    }
    data.update(changes)
    return data


def log_of(user):
    return LogEntry.objects.filter(object_id=str(user.pk), content_type__model="user").order_by("pk")


def test_the_list_shows_role_and_department_and_searches(login, head, executor, executor_other, operator):
    client = login(head)
    content = client.get("/settings/users/").content.decode()
    assert "Департамент ЖКХ" in content or "ЖКХ" in content
    assert escape(executor.get_role_display()) in content

    def usernames(query: str) -> list[str]:
        return sorted(u.username for u in client.get(f"/settings/users/{query}").context["page"])

    assert usernames("?q=roads") == ["executor_roads"]
    assert usernames("?q=Дорог") == ["executor_roads"]
    assert usernames("?role=operator") == ["operator"]
    assert usernames(f"?department={executor.department_id}") == ["executor"]


def test_a_new_user_gets_a_generated_password_shown_only_once(login, head, housing):
    client = login(head)
    response = client.post(
        "/settings/users/new/",
        user_data(username="ivanov", last_name="Иванов", first_name="Иван", department=housing.pk),
    )

    user = User.objects.get(username="ivanov")
    assert response.status_code == 302 and response["Location"] == f"/settings/users/{user.pk}/"
    assert (user.role, user.department, user.get_full_name()) == ("executor", housing, "Иван Иванов")
    first = client.get(f"/settings/users/{user.pk}/")
    password = first.context["new_password"]
    assert password and password in first.content.decode()
    assert "no-store" in first["Cache-Control"]
    second = client.get(f"/settings/users/{user.pk}/")
    assert second.context["new_password"] is None and password not in second.content.decode()
    assert Client().login(username="ivanov", password=password)
    (entry,) = log_of(user)
    assert entry.action_flag == ADDITION and entry.user == head


def test_a_password_can_be_set_when_creating(login, head):
    login(head).post(
        "/settings/users/new/",
        user_data(
            username="petrova",
            role="operator",
            password_mode="set",
            password1="long-enough-1",
            password2="long-enough-1",
        ),
    )
    assert Client().login(username="petrova", password="long-enough-1")


def test_an_executor_without_a_department_gets_the_models_error_next_to_the_field(login, head):
    response = login(head).post("/settings/users/new/", user_data(username="nodept", last_name="Без отдела"))

    assert response.status_code == 200
    content = response.content.decode()
    assert escape(gettext("An executor must belong to a department.")) in content
    assert 'value="Без отдела"' in content
    assert not User.objects.filter(username="nodept").exists()
    assert not LogEntry.objects.exists()


def test_typed_passwords_must_match_and_be_long_enough(login, head):
    client = login(head)
    differ = client.post(
        "/settings/users/new/",
        user_data(username="a1", role="operator", password_mode="set", password1="long-enough-1", password2="other"),
    )
    assert escape(gettext("The two passwords differ.")) in differ.content.decode()
    short = client.post(
        "/settings/users/new/",
        user_data(username="a1", role="operator", password_mode="set", password1="x", password2="x"),
    )
    assert 'class="invalid-feedback d-block"' in short.content.decode()
    assert not User.objects.filter(username="a1").exists()


def test_editing_a_user_changes_role_and_department_and_is_logged(login, head, executor, roads):
    response = login(head).post(
        f"/settings/users/{executor.pk}/",
        user_data(username="executor", role="dept_head", department=roads.pk, email="executor@example.org"),
    )

    assert response.status_code == 302
    executor.refresh_from_db()
    assert (executor.role, executor.department) == ("dept_head", roads)
    (entry,) = log_of(executor)
    assert entry.action_flag == CHANGE and entry.user == head
    assert "Role" in entry.change_message and "Department" in entry.change_message


def test_a_new_password_can_be_generated_for_a_user(login, head, executor):
    client = login(head)
    response = client.post(f"/settings/users/{executor.pk}/password/")
    assert response.status_code == 302
    password = client.get(f"/settings/users/{executor.pk}/").context["new_password"]
    assert Client().login(username="executor", password=password)
    assert log_of(executor).get().action_flag == CHANGE


def test_the_head_cannot_give_the_administrator_role_nor_touch_an_administrator(login, head, admin_user, operator):
    client = login(head)
    response = client.post(f"/settings/users/{operator.pk}/", user_data(username="operator", role="admin"))
    assert response.status_code == 200
    operator.refresh_from_db()
    assert operator.role == "operator"

    assert client.get(f"/settings/users/{admin_user.pk}/").status_code == 403
    assert client.post(f"/settings/users/{admin_user.pk}/password/").status_code == 403


def test_an_administrator_can_give_the_administrator_role(login, admin_user, operator):
    login(admin_user).post(f"/settings/users/{operator.pk}/", user_data(username="operator", role="admin"))
    operator.refresh_from_db()
    assert operator.role == "admin"


def test_nobody_deactivates_himself(login, head):
    response = login(head).post(f"/settings/users/{head.pk}/", user_data(username="head", role="head", is_active=""))
    assert response.status_code == 200
    head.refresh_from_db()
    assert head.is_active is True


def test_the_list_answers_an_htmx_search_with_the_results_only(login, head, executor):
    content = login(head).get("/settings/users/?q=executor", HTTP_HX_REQUEST="true").content.decode()
    assert content.lstrip().startswith('<div id="results"') and "executor" in content


def test_the_index_shows_the_latest_changes(login, head, executor):
    client = login(head)
    client.post(f"/settings/users/{executor.pk}/password/")
    content = client.get("/settings/").content.decode()
    assert "desk-changes" in content and "executor" in content
