"""/audit/: the head of the service and administrators search, filter and export the log; nobody else sees it."""

from __future__ import annotations

import csv
import datetime as dt
import io
import re

import pytest
from openpyxl import load_workbook

from otklik.audit.models import AuditRecord
from otklik.audit.services import record


@pytest.fixture
def log(operator, head, housing):
    base = dt.datetime(2026, 3, 2, 10, 0, tzinfo=dt.UTC)
    rows = [
        record("view", housing, user=operator, note="alpha"),
        record("update", housing, user=head, changes={"email": ["a@x", "b@x"]}, note="beta"),
        record("login_failed", username="intruder", note="gamma"),
    ]
    # Dated test rows: the log refuses updates, so they are made with their time.
    old = AuditRecord(action="export", username="operator", object_type="cases.incident", at=base, note="old")
    old.save()
    return [*rows, old]


def ids(html: str) -> list[int]:
    return [int(x) for x in re.findall(r'data-record="(\d+)"', html)]


def test_anonymous_users_are_sent_to_the_login(client):
    response = client.get("/audit/")
    assert response.status_code == 302 and response["Location"].startswith("/login/")


@pytest.mark.parametrize("persona", ["operator", "director", "executor", "dept_head"])
def test_other_roles_are_refused(request, login, persona):
    user = request.getfixturevalue(persona)
    assert login(user).get("/audit/").status_code == 403
    assert login(user).get("/audit/?format=xlsx").status_code == 403


@pytest.mark.parametrize("persona", ["head", "admin_user"])
def test_the_head_and_administrators_see_the_log_newest_first(request, login, persona, log):
    response = login(request.getfixturevalue(persona)).get("/audit/")
    assert response.status_code == 200
    shown = ids(response.content.decode())
    assert shown[: len(log)] == sorted(shown, reverse=True)[: len(log)]
    assert {r.pk for r in log} <= set(shown)


def test_the_nav_links_to_the_log_for_the_head_only(login, head, operator):
    assert 'href="/audit/"' in login(head).get("/settings/").content.decode()
    assert 'href="/audit/"' not in login(operator).get("/kb/").content.decode()


def test_search_and_filters_narrow_the_list(login, head, log):
    client = login(head)
    view, update, failed, old = log
    assert ids(client.get("/audit/?q=intruder").content.decode()) == [failed.pk]
    assert ids(client.get("/audit/?action=update").content.decode()) == [update.pk]
    assert set(ids(client.get("/audit/?user=operator").content.decode())) >= {view.pk, old.pk}
    assert update.pk not in ids(client.get("/audit/?user=operator").content.decode())
    by_type = ids(client.get("/audit/?object_type=org.department&action=view").content.decode())
    assert by_type == [view.pk]
    assert ids(client.get("/audit/?date_from=2026-03-01&date_to=2026-03-02").content.decode()) == [old.pk]
    assert old.pk not in ids(client.get("/audit/?date_from=2026-03-03").content.decode())
    assert ids(
        client.get(f"/audit/?object_type=org.department&object_id={view.object_id}&q=beta").content.decode()
    ) == [update.pk]


def test_paging_reads_older_pages_by_keyset_without_counting(login, head):
    bulk = [record("view", username=f"u{n}", note="bulk") for n in range(55)]
    client = login(head)
    first = client.get("/audit/?q=bulk").content.decode()
    assert ids(first) == [r.pk for r in reversed(bulk)][:50]
    older = re.search(r'href="\?([^"]*)" data-page-older', first).group(1).replace("&amp;", "&")
    # The view of the first page is a new record (its path matches «bulk»): the next page does not shift.
    second = client.get(f"/audit/?{older}").content.decode()
    assert ids(second) == [r.pk for r in reversed(bulk)][50:]
    assert "data-page-newest" in second and "data-page-older" not in second


def test_the_xlsx_export_holds_the_filtered_rows_and_is_itself_recorded(login, head, log, new_records):
    client = login(head)
    new_records()
    response = client.get("/audit/?action=update&format=xlsx")
    assert response.status_code == 200
    body = b"".join(response.streaming_content) if response.streaming else response.content
    sheet = load_workbook(io.BytesIO(body)).active
    rows = list(sheet.iter_rows(values_only=True))
    assert [row[0] for row in rows[1:]] == [log[1].pk]
    assert "b@x" in rows[1][9]
    [entry] = new_records()
    assert entry.action == "export" and entry.object_type == "audit.auditrecord" and entry.username == "head"
    assert "action=update" in entry.path


def test_the_csv_export_streams_the_filtered_rows(login, head, log, new_records):
    client = login(head)
    new_records()
    response = client.get("/audit/?q=gamma&format=csv")
    assert response.status_code == 200 and response["Content-Type"].startswith("text/csv")
    text = b"".join(response.streaming_content).decode("utf-8-sig")
    rows = list(csv.reader(io.StringIO(text)))
    assert len(rows) == 2 and rows[1][0] == str(log[2].pk) and rows[1][2] == "intruder"
    assert [r.action for r in new_records()] == ["export"]


def test_the_admin_shows_the_log_read_only(login, admin_user, log):
    client = login(admin_user)
    assert client.get("/admin/audit/auditrecord/?q=intruder").status_code == 200
    assert client.get(f"/admin/audit/auditrecord/{log[0].pk}/change/").status_code == 200
    assert client.get("/admin/audit/auditrecord/add/").status_code == 403
    assert client.post(f"/admin/audit/auditrecord/{log[0].pk}/delete/", {"post": "yes"}).status_code == 403
    assert AuditRecord.objects.filter(pk=log[0].pk).exists()
