"""«Мои поручения»: the department's open assignments by time left, and a tab with the finished ones."""

from __future__ import annotations

import datetime as dt
import re

import pytest
import time_machine
from django.utils import timezone

from otklik.cases.services import do_assign_executor, do_submit_information
from tests.factories import PASSWORD

pytestmark = pytest.mark.django_db


def incident_numbers(content: str) -> list[int]:
    return [int(n) for n in re.findall(r'desk-row-number">№(\d+)<', content)]


def test_it_lists_the_departments_open_assignments_by_time_left(login, assign, executor, housing, roads):
    later = assign(housing, hours=30, text="Не убирают мусор во дворе")
    soonest = assign(housing, hours=2, text="Прорвало трубу в подвале")
    middle = assign(housing, hours=10, text="Нет света в подъезде")
    other_department = assign(roads, hours=1, text="Яма на дороге")

    content = login(executor).get("/assignments/").content.decode()

    assert incident_numbers(content) == [soonest.incident_id, middle.incident_id, later.incident_id]
    assert "Яма на дороге" not in content
    assert f"№{other_department.incident_id}<" not in content


def test_each_row_shows_the_first_line_what_is_asked_and_the_status(login, assign, executor, housing):
    assign(housing, text="Прорвало трубу в подвале\nвторая строка не нужна", request="Сообщите сроки ремонта")

    content = login(executor).get("/assignments/").content.decode()

    assert "Прорвало трубу в подвале" in content
    assert "вторая строка не нужна" not in content
    assert "Сообщите сроки ремонта" in content
    assert "time-left" in content
    assert 'class="badge badge-violet"' in content


def test_an_executor_sees_his_and_unassigned_assignments_but_not_a_colleagues(
    login, assign, executor, colleague, dept_head, housing
):
    unassigned = assign(housing, text="Никому не назначено")
    his = assign(housing, text="Назначено исполнителю")
    colleagues = assign(housing, text="Назначено коллеге")
    do_assign_executor(his, actor=dept_head, assignee=executor)
    do_assign_executor(colleagues, actor=dept_head, assignee=colleague)

    assert set(incident_numbers(login(executor).get("/assignments/").content.decode())) == {
        unassigned.incident_id,
        his.incident_id,
    }


def test_the_department_head_sees_all_of_the_departments_assignments(
    login, assign, executor, colleague, dept_head, housing, roads
):
    first = assign(housing)
    second = assign(housing)
    do_assign_executor(first, actor=dept_head, assignee=colleague)
    assign(roads)

    content = login(dept_head).get("/assignments/").content.decode()

    assert set(incident_numbers(content)) == {first.incident_id, second.incident_id}
    assert "Сидоров" in content  # who it was given to


def test_finished_assignments_are_on_their_own_tab_for_thirty_days(login, assign, executor, housing):
    waiting = assign(housing, text="Ждёт ответа")
    answered = assign(housing, text="Уже ответили")
    do_submit_information(answered, actor=executor, text="Заменили трубу")
    client = login(executor)

    assert incident_numbers(client.get("/assignments/").content.decode()) == [waiting.incident_id]
    assert incident_numbers(client.get("/assignments/?tab=done").content.decode()) == [answered.incident_id]

    with time_machine.travel(timezone.now() + dt.timedelta(days=31)):
        client.force_login(executor)
        assert incident_numbers(client.get("/assignments/?tab=done").content.decode()) == []


def test_a_tab_answers_an_htmx_request_with_the_list_only(login, assign, executor, housing):
    done = assign(housing)
    do_submit_information(done, actor=executor, text="Готово")

    response = login(executor).get("/assignments/?tab=done", HTTP_HX_REQUEST="true")

    content = response.content.decode()
    assert response.status_code == 200
    assert "<html" not in content
    assert content.lstrip().startswith('<div id="assignments"')
    assert incident_numbers(content) == [done.incident_id]


def test_only_departments_use_the_page(client, login, operator, head):
    anonymous = client.get("/assignments/")
    assert anonymous.status_code == 302 and anonymous["Location"].startswith("/login/")
    assert login(operator).get("/assignments/").status_code == 403
    assert login(head).get("/assignments/").status_code == 403


def test_an_executor_logs_in_and_lands_on_his_assignments(client, executor):
    response = client.post("/login/", {"username": executor.username, "password": PASSWORD}, follow=True)
    assert response.redirect_chain[-1][0] == "/assignments/"
    assert response.status_code == 200


def test_the_list_takes_the_same_number_of_queries_for_many_rows(
    login, assign, executor, housing, django_assert_max_num_queries
):
    assign(housing)
    client = login(executor)
    client.get("/assignments/")  # warm the session and the content types
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    with CaptureQueriesContext(connection) as one:
        client.get("/assignments/")
    for _ in range(8):
        assign(housing)
    with django_assert_max_num_queries(len(one)):
        assert len(incident_numbers(client.get("/assignments/").content.decode())) == 9
