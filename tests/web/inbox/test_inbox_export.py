"""Export of the current filtered list (all pages) to XLSX: Russian headers, real dates in local time, links."""

from __future__ import annotations

import datetime as dt
import io

import pytest
from django.utils import timezone
from django.utils.translation import override
from openpyxl import load_workbook

from otklik.cases.services import do_take, do_update_incident
from otklik.cases.views import inbox as inbox_views
from tests.factories import ingest

pytestmark = pytest.mark.django_db


def workbook(response):
    assert response.status_code == 200
    assert response["Content-Type"] == "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
    assert response["Content-Disposition"].startswith('attachment; filename="otklik-inbox-')
    return load_workbook(io.BytesIO(response.content))


def test_it_exports_the_filtered_list_with_headers_and_rows(login, operator, world, housing):
    do_update_incident(world.new, actor=operator, address="ул. Ленина, 5")
    do_take(world.new, actor=operator)
    sheet = workbook(login(operator).get("/inbox/export.xlsx?view=new&sort=due")).active
    rows = list(sheet.iter_rows(values_only=True))
    with override("ru"):
        headers = [header for header, _width in inbox_views.export_columns()]
    assert list(rows[0]) == headers
    assert headers[:4] == ["№", "Дата создания", "Статус", "Группа"]
    assert all(cell.font.b for cell in sheet[1])
    assert [row[0] for row in rows[1:]] == [world.new_overdue.pk, world.new.pk]

    new = dict(zip(headers, rows[2], strict=True))
    assert new["Статус"] == "Новый"
    assert new["Группа"] == "ЖКХ" and new["Тема"] == "Отсутствие горячей воды" and new["Приоритет"] == "★"
    assert new["Адрес"] == "ул. Ленина, 5"
    assert new["Ответственный оператор"] == operator.display_name
    assert new[headers[10]] == "Нет горячей воды на улице Ленина 5"
    assert new[headers[11]] == f"http://testserver/incidents/{world.new.pk}/"
    assert sheet.cell(row=3, column=12).hyperlink.target == f"http://testserver/incidents/{world.new.pk}/"
    assert sheet.column_dimensions["K"].width > sheet.column_dimensions["A"].width


def test_dates_are_real_excel_dates_in_local_time(login, operator, world):
    sheet = workbook(login(operator).get("/inbox/export.xlsx?view=triage")).active
    created = sheet.cell(row=2, column=2)
    due = sheet.cell(row=2, column=10)
    assert created.is_date and due.is_date
    world.triage.refresh_from_db()
    local = timezone.localtime(world.triage.created_at).replace(tzinfo=None)
    assert abs(created.value - local) < dt.timedelta(seconds=1)
    assert abs(due.value - timezone.localtime(world.triage.due_at).replace(tzinfo=None)) < dt.timedelta(seconds=1)


def test_it_exports_all_pages_not_only_the_first(login, operator):
    for i in range(60):
        ingest(f"Обращение {i}", channel="vk")
    sheet = workbook(login(operator).get("/inbox/export.xlsx?channel=vk")).active
    assert sheet.max_row == 61


def test_a_citizens_formula_stays_text(login, operator):
    ingest('=HYPERLINK("http://evil.example","жми")', channel="vk")
    sheet = workbook(login(operator).get("/inbox/export.xlsx")).active
    cell = sheet.cell(row=2, column=11)
    assert cell.data_type == "s" and cell.value.startswith("=HYPERLINK")


def test_the_export_is_capped(login, operator, world, monkeypatch):
    monkeypatch.setattr(inbox_views, "EXPORT_LIMIT", 3)
    sheet = workbook(login(operator).get("/inbox/export.xlsx")).active
    rows = list(sheet.iter_rows(values_only=True))
    assert len(rows) == 1 + 3 + 1  # headers, the first three, the note
    assert isinstance(rows[-1][0], str)


def test_the_director_may_export(login, director, world):
    assert workbook(login(director).get("/inbox/export.xlsx")).active.max_row == 9
