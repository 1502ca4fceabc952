"""Every list exports to XLSX with its current filters (issue 8): `?format=xlsx` on the list's own URL.

The helper (otklik.core.xlsx) first: real dates in the city's time, text never a formula, bold frozen header, the
cap's note. Then each list: the export opens, has the page's header row and exactly the rows the filters match, and
the page's permissions (an executor's export holds his department's rows only).
"""

from __future__ import annotations

import datetime as dt
import io
import zipfile
from collections.abc import Callable
from decimal import Decimal

import pytest
import time_machine
from django.template import Context, Template
from django.test import Client, RequestFactory
from django.utils import timezone
from openpyxl import load_workbook

from otklik.accounts.models import User
from otklik.cases.models import Assignment
from otklik.cases.services import do_assign_executor, do_route, do_submit_information
from otklik.core.xlsx import CONTENT_TYPE, Link, xlsx_response
from otklik.intake.services import do_create_import_job, do_run_import_job, do_start_import_job
from otklik.nlp.models import Spike, SpikeKind, SpikeWindow
from otklik.org.models import Department, RoutingRule, TopicGroup
from otklik.sla.choices import ClockKind
from otklik.sla.clocks import do_start_clock
from otklik.sla.models import Clock, DutyShift
from otklik.sla.services import do_delegate, do_request_extension
from tests import factories

pytestmark = pytest.mark.django_db

FORMULA = '=HYPERLINK("http://evil.example","жми")'


# --- helpers of the tests ------------------------------------------------------------------------------------------


@pytest.fixture
def login(client: Client) -> Callable[[User], Client]:
    def as_user(user: User) -> Client:
        client.force_login(user)
        return client

    return as_user


@pytest.fixture
def assign(operator: User) -> Callable[..., Assignment]:
    def make(
        department: Department, *, hours: float = 4, text: str = "Нет горячей воды на улице Ленина 5"
    ) -> Assignment:
        incident = factories.ingest(text)
        due_at = timezone.now() + dt.timedelta(hours=hours)
        (assignment,) = do_route(incident, actor=operator, lead=department, due_at=due_at)
        return assignment

    return make


def book(response, *, index: int = 0):
    """The response as an XLSX sheet (asserting it is one)."""
    assert response.status_code == 200, response.status_code
    assert response["Content-Type"] == CONTENT_TYPE
    assert response["Content-Disposition"].startswith("attachment; filename=")
    return load_workbook(io.BytesIO(response.content)).worksheets[index]


def rows_of(sheet) -> list[tuple]:
    return list(sheet.iter_rows(values_only=True))


def column(sheet, header: str | int) -> list:
    """The values under `header` (a Russian header, or the column's index), header excluded.

    Headers added with the export are English msgids until the lead translates them: those columns are found by
    their position.
    """
    rows = rows_of(sheet)
    index = header if isinstance(header, int) else list(rows[0]).index(header)
    return [row[index] for row in rows[1:]]


# --- the helper ---------------------------------------------------------------------------------------------------


def test_the_helper_writes_a_bold_frozen_header_real_local_dates_and_text_that_never_runs():
    moment = dt.datetime(2026, 11, 29, 5, 30, tzinfo=dt.UTC)  # 10:30 in Yekaterinburg
    rows = [
        [1, moment, dt.date(2026, 12, 31), FORMULA, "+79990001122", "-5 градусов", "@all", True, None, Decimal("2.5")],
        [2, None, None, "текст\x0bс управляющим символом", Link("http://x.example/1", "№1"), "", "", False, 3, 0.5],
    ]
    headers = ["№", "Когда", "Дата", "Текст", "Телефон", "Минус", "Собака", "Да", "Пусто", "Часы"]
    response = xlsx_response("t.xlsx", [("Лист: [1]", headers, rows)])
    content = response.content
    sheet = load_workbook(io.BytesIO(content)).worksheets[0]

    assert sheet.title == "Лист   1"  # characters Excel forbids in titles are replaced
    assert [c.value for c in sheet[1]] == headers and all(c.font.b for c in sheet[1])
    assert sheet.freeze_panes == "A2"
    when = sheet.cell(row=2, column=2)
    assert when.is_date and when.value == dt.datetime(2026, 11, 29, 10, 30)  # noqa: DTZ001 - Excel's wall time
    assert sheet.cell(row=2, column=3).is_date
    for col in (4, 5, 6, 7):
        assert sheet.cell(row=2, column=col).data_type == "s"
    assert sheet.cell(row=2, column=4).value == FORMULA
    assert sheet.cell(row=2, column=8).value == "да"
    assert sheet.cell(row=2, column=10).value == 2.5
    assert sheet.cell(row=3, column=4).value == "текстс управляющим символом"
    link = sheet.cell(row=3, column=5)
    assert link.value == "№1" and link.hyperlink.target == "http://x.example/1"
    with zipfile.ZipFile(io.BytesIO(content)) as archive:
        xml = archive.read("xl/worksheets/sheet1.xml").decode()
    assert "<f>" not in xml and "<f " not in xml  # no formula anywhere in the file


def test_the_helper_sizes_columns_from_their_contents_and_keeps_given_widths():
    rows = [["коротко", "очень длинное значение в этой колонке, длиннее заголовка", "x"]]
    sheet = load_workbook(io.BytesIO(xlsx_response("w.xlsx", [("w", ["A", "B", ("C", 33)], rows)]).content)).active
    assert sheet.column_dimensions["B"].width > sheet.column_dimensions["A"].width
    assert sheet.column_dimensions["C"].width == 33


def test_the_helper_stops_at_the_limit_with_a_note():
    rows = ([i] for i in range(10))
    sheet = load_workbook(io.BytesIO(xlsx_response("l.xlsx", [("l", ["n"], rows)], limit=4).content)).active
    values = [r[0] for r in rows_of(sheet)]
    assert values[1:5] == [0, 1, 2, 3] and len(values) == 6 and isinstance(values[-1], str)


def test_the_button_keeps_the_query_string_drops_the_page_and_asks_for_xlsx():
    request = RequestFactory().get("/settings/rules/", {"q": "вода", "page": "3", "active": "all"})
    html = Template('{% include "_export_xlsx.html" %}').render(Context({"request": request}))
    assert 'href="?q=%D0%B2%D0%BE%D0%B4%D0%B0&amp;active=all&amp;format=xlsx"' in html
    assert "page=" not in html and 'hx-boost="false"' in html


# --- the inbox ------------------------------------------------------------------------------------------------


def test_the_inbox_exports_its_filtered_list_from_its_own_url(login, operator):
    wanted = [factories.ingest(f"Яма на дороге {i}", channel="vk") for i in range(3)]
    factories.ingest("Обращение из телеграма", channel="telegram")
    factories.ingest(FORMULA, channel="vk")
    sheet = book(login(operator).get("/inbox/?view=all&channel=vk&q=Яма&page=2&format=xlsx"))
    assert sorted(column(sheet, "№")) == sorted(i.pk for i in wanted)
    assert rows_of(sheet)[0][:3] == ("№", "Дата создания", "Статус")


def test_a_citizens_formula_in_the_inbox_export_stays_text(login, operator):
    factories.ingest(FORMULA, channel="vk")
    sheet = book(login(operator).get("/inbox/?format=xlsx"))
    cell = sheet.cell(row=2, column=11)
    assert cell.value == FORMULA and cell.data_type == "s"


def test_the_inbox_export_reads_the_rows_in_a_bounded_number_of_queries(
    login, operator, housing, django_assert_max_num_queries
):
    for i in range(40):
        incident = factories.ingest(f"Обращение {i}", channel="vk")
        do_route(incident, actor=operator, lead=housing, due_at=timezone.now() + dt.timedelta(hours=4))
    client = login(operator)
    with django_assert_max_num_queries(4):  # session, user, the incidents: one query for all rows
        response = client.get("/inbox/?format=xlsx")
    assert book(response).max_row == 41


# --- «Мои поручения» --------------------------------------------------------------------------------------------


def test_an_executors_export_holds_only_his_departments_assignments(login, assign, executor, dept_head, housing, roads):
    mine = assign(housing, hours=2, text="Прорвало трубу")
    unassigned = assign(housing, hours=5, text="Нет света")
    colleague = factories.make_user("colleague", role="executor", department=housing)
    colleagues = assign(housing, hours=1, text="Назначено коллеге")
    do_assign_executor(mine, actor=dept_head, assignee=executor)
    do_assign_executor(colleagues, actor=dept_head, assignee=colleague)
    assign(roads, hours=1, text="Яма на дороге")

    sheet = book(login(executor).get("/assignments/?format=xlsx"))
    assert column(sheet, 0) == [mine.incident_id, unassigned.incident_id]  # by time left
    assert "Яма на дороге" not in str(rows_of(sheet))

    head_sheet = book(login(dept_head).get("/assignments/?format=xlsx"))
    assert sorted(column(head_sheet, 0)) == sorted([mine.incident_id, unassigned.incident_id, colleagues.incident_id])


def test_the_assignments_export_follows_the_tab(login, assign, executor, housing):
    waiting = assign(housing)
    answered = assign(housing)
    do_submit_information(answered, actor=executor, text="Заменили трубу")
    assert column(book(login(executor).get("/assignments/?format=xlsx")), 0) == [waiting.incident_id]
    done = book(login(executor).get("/assignments/?tab=done&format=xlsx"))
    assert column(done, 0) == [answered.incident_id]


def test_the_feedback_service_has_no_assignments_export(login, operator):
    assert login(operator).get("/assignments/?format=xlsx").status_code == 403


# --- the head's pages ---------------------------------------------------------------------------------------------


def test_the_overdue_board_exports_departments_assignments_and_the_services_own_lateness(
    login, head, assign, housing, roads, executor
):
    late = assign(housing, hours=2)
    assign(roads, hours=24 * 60)  # not overdue
    with time_machine.travel(timezone.now() + dt.timedelta(days=20), tick=False):
        sheet = book(login(head).get("/board/overdue/?format=xlsx"))
        assignments = book(login(head).get("/board/overdue/?format=xlsx"), index=1)
    assert [row[:2] for row in rows_of(sheet)[1:]] == [(housing.name, 1)]
    assert column(assignments, 1) == [late.incident_id]
    assert login(executor).get("/board/overdue/?format=xlsx").status_code == 403


def test_the_scorecard_exports_one_row_per_department(login, director, assign, housing, roads):
    assign(housing)
    assign(roads)
    sheet = book(login(director).get("/departments/scorecard/?period=month&format=xlsx"))
    assert sorted(column(sheet, "Подразделение")) == sorted([housing.name, roads.name])


def test_spikes_export_every_spike_matching_the_filters(login, head):
    hour = Spike.objects.create(
        kind=SpikeKind.TOPIC, key="Отсутствие горячей воды", window=SpikeWindow.HOUR, count=12, baseline=1.0
    )
    Spike.objects.create(kind=SpikeKind.PLACE, key="ул. Ленина", window=SpikeWindow.DAY, count=30, baseline=3.0)
    sheet = book(login(head).get("/spikes/?window=hour&format=xlsx"))
    assert column(sheet, "Тема или место") == [hour.key]
    assert column(sheet, 3) == [12]


def test_extension_requests_export(login, head, housing, executor, operator, assign):
    assignment = assign(housing)
    clock = Clock.objects.filter(assignment=assignment).first() or do_start_clock(
        ClockKind.ASSIGNMENT, incident=assignment.incident, assignment=assignment, hours=8, start=timezone.now()
    )
    do_request_extension(clock, actor=executor, hours="4", reason=FORMULA)
    sheet = book(login(head).get("/extensions/?format=xlsx"))
    assert column(sheet, 0) == [assignment.incident_id]
    reason = [c for c in sheet[2] if c.value == FORMULA]
    assert reason and reason[0].data_type == "s"
    assert login(executor).get("/extensions/?format=xlsx").status_code == 403


def test_notifications_export_only_the_users_own(login, assign, housing, roads, executor, executor_other):
    assign(housing)  # the housing department is notified
    assign(roads)
    own = executor.notifications.count()
    assert own > 0
    sheet = book(login(executor).get("/notifications/?format=xlsx"))
    assert sheet.max_row == 1 + own


def test_the_import_job_exports_the_rows_of_its_current_tab(login, operator):
    data = "ID;Текст;Дата\n1;Яма на дороге;29.11.2026 10:00\n2;;29.11.2026 10:00\n3;Мусор;32.11.2026 10:00\n".encode()
    job = do_create_import_job(actor=operator, data=data, file_name="t.csv")
    job = do_start_import_job(job, actor=operator, mapping=job.mapping, channel="im", enqueue=False)
    do_run_import_job(job.pk)
    job.refresh_from_db()
    rejected = list(job.rows.filter(outcome="rejected").order_by("row_number").values_list("row_number", flat=True))
    assert rejected  # the file has bad rows
    sheet = book(login(operator).get(f"/import/{job.pk}/?rows=rejected&format=xlsx"))
    assert column(sheet, "Строка") == rejected
    assert list(rows_of(sheet)[0][3:]) == job.headers


# --- settings lists -----------------------------------------------------------------------------------------------


def test_routing_rules_export_with_the_search(login, head, housing, roads, executor):
    group = TopicGroup.objects.create(name="ЖКХ")
    water = RoutingRule.objects.create(name="Горячая вода", group=group, lead=housing, keywords="вода, труба")
    water.co_executors.add(roads)
    RoutingRule.objects.create(name="Дороги", group=group, lead=roads)
    sheet = book(login(head).get("/settings/rules/?q=вода&format=xlsx"))
    assert column(sheet, "ID") == [water.pk]
    assert column(sheet, "Соисполнители") == [roads.name]
    assert login(executor).get("/settings/rules/?format=xlsx").status_code == 403


def test_departments_and_users_export_with_their_filters(login, head, housing, roads, executor, executor_other):
    sheet = book(login(head).get("/settings/departments/?q=дорог&format=xlsx"))
    assert column(sheet, "ID") == [roads.pk]
    users = book(login(head).get(f"/settings/users/?department={housing.pk}&format=xlsx"))
    assert column(users, "ID") == [executor.pk]


def test_sla_settings_lists_export(login, head, operator):
    now = timezone.now()
    DutyShift.objects.create(user=operator, starts_at=now, ends_at=now + dt.timedelta(hours=8), note=FORMULA)
    duty = book(login(head).get("/settings/sla/duty/?format=xlsx"))
    assert duty.max_row == 2 and duty.cell(row=2, column=5).data_type == "s"
    do_delegate(head=head, acting=operator, starts_at=now, ends_at=now + dt.timedelta(days=3), actor=head)
    delegations = book(login(head).get("/settings/sla/delegations/?format=xlsx"))
    assert delegations.max_row == 2
    policies = book(login(head).get("/settings/sla/policies/?active=all&format=xlsx"))
    assert rows_of(policies)[0][0] == "ID"


@pytest.mark.parametrize(
    "url",
    [
        "/settings/answer-templates/?format=xlsx",
        "/settings/approval/?format=xlsx",
        "/settings/gazetteer/?what=streets&format=xlsx",
        "/settings/gazetteer/?format=xlsx",
        "/settings/sources/?format=xlsx",
        "/kb/?format=xlsx",
    ],
)
def test_other_settings_lists_export_for_the_head_and_not_for_an_executor(login, head, executor, url):
    assert rows_of(book(login(head).get(url)))[0]
    assert login(executor).get(url).status_code in {302, 403}
