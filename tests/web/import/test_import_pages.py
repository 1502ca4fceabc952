"""The import pages at the HTTP level: upload → mapping with a preview → run (Celery eager) → progress → result
with the rejected rows and the report; errors next to the field; who may use them."""

from __future__ import annotations

import csv
import io
from pathlib import Path

import pytest
from openpyxl import load_workbook

from otklik.intake.choices import ImportStatus
from otklik.intake.models import ImportJob, Post
from otklik.intake.services import do_create_import_job, do_start_import_job
from tests.factories import PASSWORD

pytestmark = pytest.mark.django_db

DATA = Path(__file__).resolve().parents[2] / "intake" / "data"
HTMX = {"HTTP_HX_REQUEST": "true"}


def login(client, user):
    assert client.login(username=user.username, password=PASSWORD)
    return client


def make_job(user=None, name="pos_cp1251_semicolon.csv", channel="pos") -> ImportJob:
    return do_create_import_job(actor=user, data=(DATA / name).read_bytes(), file_name=name, channel=channel)


def selected(html: str, name: str) -> str | None:
    """The value of the selected option of the select `name` in the page."""
    start = html.index(f'name="{name}"')
    end = html.index("</select>", start)
    chunk = html[start:end]
    for option in chunk.split("<option")[1:]:
        if " selected" in option.split(">")[0]:
            return option.split('value="')[1].split('"')[0]
    return None


# --- who may use the pages ----------------------------------------------------------------------------------


def test_an_anonymous_visitor_is_sent_to_the_login_page(client):
    response = client.get("/import/")
    assert response.status_code == 302
    assert response["Location"].startswith("/login/")


@pytest.mark.parametrize("persona", ["executor", "dept_head", "director"])
def test_anyone_outside_the_service_gets_403_on_every_import_page(client, request, persona):
    job = make_job()
    login(client, request.getfixturevalue(persona))
    for url in (
        "/import/",
        "/import/sample.csv",
        f"/import/{job.pk}/",
        f"/import/{job.pk}/preview/",
        f"/import/{job.pk}/progress/",
        f"/import/{job.pk}/report.csv",
        f"/import/{job.pk}/report.xlsx",
    ):
        assert client.get(url).status_code == 403, url
    for url in (f"/import/{job.pk}/run/", f"/import/{job.pk}/reread/"):
        assert client.post(url, {"text": "3", "posted_at": "1", "channel": "im"}).status_code == 403, url
    upload = io.BytesIO((DATA / "im_utf8_comma.csv").read_bytes())
    upload.name = "im.csv"
    assert client.post("/import/", {"file": upload, "channel": "im"}).status_code == 403
    job.refresh_from_db()
    assert job.status == ImportStatus.MAPPING
    assert ImportJob.objects.count() == 1


@pytest.mark.parametrize("persona", ["operator", "head", "admin_user"])
def test_the_service_opens_the_import_page(client, request, persona):
    response = login(client, request.getfixturevalue(persona)).get("/import/")
    assert response.status_code == 200
    assert 'enctype="multipart/form-data"' in response.content.decode()


def test_an_unknown_import_is_404(client, operator):
    assert login(client, operator).get("/import/999/").status_code == 404


# --- the whole flow -----------------------------------------------------------------------------------------


def test_an_operator_uploads_maps_runs_and_gets_the_result_with_the_rejected_rows(
    client, operator, reference, upload, django_capture_on_commit_callbacks
):
    login(client, operator)
    # 1. upload
    response = client.post(
        "/import/",
        {"file": upload("pos_cp1251_semicolon.csv"), "channel": "pos", "encoding": "auto", "delimiter": "auto"},
    )
    job = ImportJob.objects.get()
    assert response.status_code == 302 and response["Location"] == f"/import/{job.pk}/"
    assert (job.status, job.channel, job.encoding, job.delimiter) == ("mapping", "pos", "cp1251", ";")
    assert job.created_by == operator

    # 2. the mapping page: the guess is selected, the preview shows mapped values and what would be rejected
    page = client.get(f"/import/{job.pk}/").content.decode()
    assert selected(page, "text") == "3"  # «Текст сообщения»
    assert selected(page, "posted_at") == "1"  # «Дата подачи»
    assert selected(page, "external_id") == "0"  # «Номер сообщения»
    assert selected(page, "url") == ""
    assert selected(page, "channel") == "pos"
    assert "Не убран снег во дворе ул. Северная 44" in page
    assert "26.11.2026 18:02" in page  # the date as it will be stored, in city time
    assert "32.11.2026 10:00" in page  # the reason of the broken row, with its value
    assert 'id="import-preview"' in page

    # 3. another choice → the preview region alone (HTMX), computed with that choice
    preview = client.get(
        f"/import/{job.pk}/preview/", {"text": "5", "posted_at": "1", "external_id": "0", "channel": "pos"}, **HTMX
    )
    content = preview.content.decode()
    rows = content.split("import-columns")[0]  # the table of the file's columns shows every value
    assert preview.status_code == 200
    assert content.lstrip().startswith('<section id="import-preview"')
    assert "<html" not in content
    assert "Зарегистрировано" in rows
    assert "Не убран снег" not in rows

    # 4. run: the task runs (Celery eager) after the commit
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(
            f"/import/{job.pk}/run/",
            {"text": "3", "posted_at": "1", "external_id": "0", "author": "4", "topic": "2", "channel": "pos"},
        )
    assert response.status_code == 302 and response["Location"] == f"/import/{job.pk}/"
    job.refresh_from_db()
    assert job.status == ImportStatus.DONE
    assert (job.imported, job.updated, job.skipped, job.rejected) == (2, 0, 0, 2)
    assert Post.objects.filter(source__channel="pos").count() == 2

    # 5. the result: the counts and the rejected rows with their number, reason and raw values
    page = client.get(f"/import/{job.pk}/").content.decode()
    assert 'class="import-count">2<' in page
    assert "32.11.2026 10:00" in page and "Разбитый асфальт на въезде" in page
    assert "Гость" in page  # the raw values of the empty-text row
    assert f"/import/{job.pk}/report.xlsx" in page and f"/import/{job.pk}/report.csv" in page
    warnings = client.get(f"/import/{job.pk}/", {"rows": "warnings"}).content.decode()
    assert "Освещение" in warnings  # an unknown category is a warning, the post imported

    # 6. the progress region, polled by HTMX, now is the result and stops polling
    state = client.get(f"/import/{job.pk}/progress/", **HTMX).content.decode()
    assert state.lstrip().startswith('<div id="import-state"')
    assert "hx-trigger" not in state.split(">")[0]
    assert "Разбитый асфальт" in state


def test_the_report_lists_each_rejected_row_with_its_reason_and_values_as_xlsx_and_csv(client, operator, reference):
    job = make_job(operator)
    job = do_start_import_job(job, actor=operator, mapping=job.mapping, channel="pos", enqueue=False)
    from otklik.intake.services import do_run_import_job

    do_run_import_job(job.pk)
    login(client, operator)

    response = client.get(f"/import/{job.pk}/report.xlsx")
    assert response.status_code == 200
    assert response["Content-Type"].startswith("application/vnd.openxmlformats")
    assert "attachment" in response["Content-Disposition"]
    sheet = load_workbook(io.BytesIO(response.content), read_only=True).worksheets[0]
    rows = [list(r) for r in sheet.iter_rows(values_only=True)]
    assert rows[0][3:] == job.headers
    by_number = {r[0]: r for r in rows[1:]}
    assert set(by_number) == {3, 4, 5}  # two rejected, one imported with a warning
    assert "32.11.2026" in by_number[4][2]
    assert by_number[4][3:] == [
        "5012347",
        "32.11.2026 10:00",
        "Дороги",
        "Разбитый асфальт на въезде во двор Интернациональная 7",
        "Виктор",
        "Зарегистрировано",
    ]

    response = client.get(f"/import/{job.pk}/report.csv")
    assert response.status_code == 200
    text = response.content.decode("utf-8-sig")
    records = list(csv.reader(io.StringIO(text), delimiter=";"))
    assert records[0][3:] == job.headers
    assert [r[0] for r in records[1:]] == ["3", "4", "5"]
    assert "Гость" in records[3]


def test_a_report_value_that_looks_like_a_formula_stays_text(client, operator, tmp_path):
    data = 'ID;Текст;Дата\n1;=HYPERLINK("http://evil");никогда\n'.encode()
    job = do_create_import_job(actor=operator, data=data, file_name="evil.csv")
    job = do_start_import_job(job, actor=operator, mapping=job.mapping, channel="im", enqueue=False)
    from otklik.intake.services import do_run_import_job

    do_run_import_job(job.pk)
    login(client, operator)
    sheet = load_workbook(io.BytesIO(client.get(f"/import/{job.pk}/report.xlsx").content)).worksheets[0]
    cell = sheet.cell(row=2, column=5)
    assert cell.value == '=HYPERLINK("http://evil")'
    assert cell.data_type == "s"
    text = client.get(f"/import/{job.pk}/report.csv").content.decode("utf-8-sig")
    assert "'=HYPERLINK" in text


def test_the_report_of_an_import_not_yet_run_is_404(client, operator):
    job = make_job(operator)
    login(client, operator)
    assert client.get(f"/import/{job.pk}/report.csv").status_code == 404
    assert client.get(f"/import/{job.pk}/report.pdf").status_code == 404


# --- progress ----------------------------------------------------------------------------------------------


def test_a_queued_import_shows_a_progress_bar_that_polls_every_second(client, operator):
    job = make_job(operator)
    do_start_import_job(job, actor=operator, mapping=job.mapping, channel="pos")  # not run: no commit here
    login(client, operator)
    page = client.get(f"/import/{job.pk}/").content.decode()
    assert f'hx-get="/import/{job.pk}/progress/" hx-trigger="every 1s"' in page
    assert "<progress" in page
    state = client.get(f"/import/{job.pk}/progress/", **HTMX).content.decode()
    assert "<html" not in state
    assert 'hx-trigger="every 1s"' in state
    assert 'value="0" max="4"' in state


def test_a_running_import_shows_how_far_it_got(client, operator):
    job = make_job(operator)
    do_start_import_job(job, actor=operator, mapping=job.mapping, channel="pos")
    ImportJob.objects.filter(pk=job.pk).update(status=ImportStatus.RUNNING, processed_rows=3, imported=2, rejected=1)
    login(client, operator)
    state = client.get(f"/import/{job.pk}/progress/", **HTMX).content.decode()
    assert 'value="3" max="4"' in state
    assert "75%" in state


def test_a_failed_import_says_why(client, operator):
    job = make_job(operator)
    job = do_start_import_job(job, actor=operator, mapping=job.mapping, channel="pos", enqueue=False)
    job.file.storage.delete(job.file.name)
    from otklik.intake.services import do_run_import_job

    job = do_run_import_job(job.pk)
    login(client, operator)
    page = client.get(f"/import/{job.pk}/").content.decode()
    assert job.error in page
    assert "hx-trigger" not in page


# --- errors next to the field ------------------------------------------------------------------------------


def test_a_file_over_the_size_limit_is_refused_with_a_clear_error(client, operator, settings, upload):
    settings.OTKLIK_IMPORT_MAX_BYTES = 1024 * 1024
    big = b"ID;\xd2\xe5\xea\xf1\xf2;Date\n" + b"1;x;29.11.2026 10:00\n" * 60_000
    response = login(client, operator).post("/import/", {"file": upload("big.csv", big), "channel": "im"})
    assert response.status_code == 400
    content = response.content.decode()
    assert "1 MB" in content or "1 МБ" in content
    assert "is-invalid" in content
    assert not ImportJob.objects.exists()


def test_an_unreadable_file_is_refused_next_to_the_file_field(client, operator, upload):
    response = login(client, operator).post("/import/", {"file": upload("not_a_table.pdf"), "channel": "im"})
    assert response.status_code == 400
    assert "invalid-feedback" in response.content.decode()
    assert not ImportJob.objects.exists()


def test_an_upload_without_a_file_asks_for_one(client, operator):
    response = login(client, operator).post("/import/", {"channel": "im"})
    assert response.status_code == 400
    assert not ImportJob.objects.exists()


def test_a_mapping_without_the_text_is_refused_and_the_choices_are_kept(client, operator):
    job = make_job(operator)
    login(client, operator)
    response = client.post(
        f"/import/{job.pk}/run/", {"text": "", "posted_at": "1", "external_id": "0", "url": "", "channel": "pos"}
    )
    assert response.status_code == 400
    content = response.content.decode()
    assert "invalid-feedback" in content
    assert selected(content, "posted_at") == "1"
    assert selected(content, "text") == ""
    job.refresh_from_db()
    assert job.status == ImportStatus.MAPPING


def test_one_column_for_two_fields_is_refused(client, operator):
    job = make_job(operator)
    login(client, operator)
    response = client.post(f"/import/{job.pk}/run/", {"text": "3", "posted_at": "1", "author": "3", "channel": "pos"})
    assert response.status_code == 400
    assert "Текст сообщения" in response.content.decode()
    job.refresh_from_db()
    assert job.status == ImportStatus.MAPPING


def test_the_file_can_be_read_again_with_another_delimiter_and_encoding(client, operator):
    job = make_job(operator)
    login(client, operator)
    response = client.post(f"/import/{job.pk}/reread/", {"encoding": "cp1251", "delimiter": ","})
    assert response.status_code == 302
    job.refresh_from_db()
    assert job.delimiter == "," and len(job.headers) == 2  # «Не убран снег…, машины буксуют» split at the comma
    response = client.post(f"/import/{job.pk}/reread/", {"encoding": "utf-8", "delimiter": "auto"})
    assert response.status_code == 400  # cp1251 bytes are not UTF-8: said next to the form
    client.post(f"/import/{job.pk}/reread/", {"encoding": "auto", "delimiter": "auto"})
    job.refresh_from_db()
    assert (job.encoding, job.delimiter, job.headers[0]) == ("cp1251", ";", "Номер сообщения")
    assert job.mapping["text"] == 3


def test_a_started_import_cannot_be_started_again(client, operator, django_capture_on_commit_callbacks):
    job = make_job(operator)
    login(client, operator)
    data = {"text": "3", "posted_at": "1", "external_id": "0", "channel": "pos"}
    with django_capture_on_commit_callbacks(execute=True):
        client.post(f"/import/{job.pk}/run/", data)
    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        response = client.post(f"/import/{job.pk}/run/", data)
    assert response.status_code == 302
    assert callbacks == []
    assert Post.objects.count() == 2


# --- the upload page ---------------------------------------------------------------------------------------


def test_the_upload_page_lists_the_latest_imports_in_a_bounded_number_of_queries(
    client, operator, head, django_assert_max_num_queries
):
    for _n in range(12):
        make_job(operator if _n % 2 else head)
    login(client, operator)
    with django_assert_max_num_queries(8):
        response = client.get("/import/")
    content = response.content.decode()
    assert content.count("pos_cp1251_semicolon.csv") == 12


def test_the_demo_sample_can_be_downloaded_and_imported(
    client, operator, reference, django_capture_on_commit_callbacks
):
    login(client, operator)
    response = client.get("/import/sample.csv")
    assert response.status_code == 200
    data = response.content
    assert "ID инцидента".encode() in data
    upload = io.BytesIO(data)
    upload.name = "sample.csv"
    response = client.post("/import/", {"file": upload, "channel": "im"})
    job = ImportJob.objects.get()
    assert response.status_code == 302
    assert {"text", "posted_at", "external_id", "url", "author", "topic"} <= set(job.mapping)
    post = {k: str(v) for k, v in job.mapping.items()}
    with django_capture_on_commit_callbacks(execute=True):
        client.post(f"/import/{job.pk}/run/", {**post, "channel": "im"})
    job.refresh_from_db()
    assert job.status == ImportStatus.DONE
    assert job.imported >= 15 and job.rejected >= 1


def test_the_pages_carry_no_inline_scripts_or_styles(client, operator):
    job = make_job(operator)
    login(client, operator)
    for url in ("/import/", f"/import/{job.pk}/"):
        content = client.get(url).content.decode()
        assert "style=" not in content
        assert "<script>" not in content and "onclick" not in content
        assert "otklik/import.js" in content


def test_imports_and_their_rows_are_shown_read_only_in_the_admin(client, admin_user, operator):
    job = make_job(operator)
    job = do_start_import_job(job, actor=operator, mapping=job.mapping, channel="pos", enqueue=False)
    from otklik.intake.services import do_run_import_job

    do_run_import_job(job.pk)
    login(client, admin_user)
    assert client.get("/admin/intake/importjob/").status_code == 200
    detail = client.get(f"/admin/intake/importjob/{job.pk}/change/")
    assert detail.status_code == 200
    assert "32.11.2026" in detail.content.decode()  # the rejected row's reason, inline
    assert client.get("/admin/intake/importrow/").status_code == 200
    assert client.get("/admin/intake/importjob/add/").status_code == 403
