"""Upload validation (otklik.core.uploads): type by extension per use, size, contents (magic bytes, text
encodings), programs and pages disguised by their name, sanitized names — and each upload point through its real
form or API: an assignment's attachments (the desk and the API), the import of exports, the gazetteer."""

from __future__ import annotations

from pathlib import Path

import pytest
from django.core.exceptions import ValidationError
from django.core.files.uploadedfile import SimpleUploadedFile
from knox.models import AuthToken
from rest_framework.test import APIClient

from otklik.cases.models import Assignment, Attachment
from otklik.cases.services import do_route
from otklik.core import uploads
from otklik.core.uploads import ATTACHMENT, GAZETTEER, IMPORT_TABLE, safe_filename, upload_problem, validate_uploads
from otklik.intake.models import ImportJob
from otklik.org.models import Street
from tests.factories import ingest

JPEG = b"\xff\xd8\xff\xe0\x00\x10JFIF\x00\x01" + b"\x00" * 64
PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 32
PDF = b"%PDF-1.7\n" + b"\x00" * 32
ZIP = b"PK\x03\x04" + b"\x00" * 32
EXE = b"MZ\x90\x00" + b"\x00" * 60
ELF = b"\x7fELF\x02\x01\x01" + b"\x00" * 32
HTML = b"<!DOCTYPE html><html><body><script>alert(1)</script></body></html>"
SVG = b'<?xml version="1.0"?><svg xmlns="http://www.w3.org/2000/svg" onload="alert(1)"></svg>'
SHELL = b"#!/bin/sh\nrm -rf /\n"
CSV_UTF8 = "ID;Текст;Дата\n1;Нет воды;29.11.2026 10:00\n".encode()
CSV_CP1251 = "ID;Текст;Дата\n1;Нет воды;29.11.2026 10:00\n".encode("cp1251")
CSV_UTF16 = "ID\tТекст\tДата\n1\tНет воды\t29.11.2026 10:00\n".encode("utf-16")
DATA = Path(__file__).resolve().parents[1] / "intake" / "data"


def upload(name: str, content: bytes, content_type: str = "application/octet-stream") -> SimpleUploadedFile:
    return SimpleUploadedFile(name, content, content_type)


# --- the module --------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("kind", "name", "content", "stored_type"),
    [
        (ATTACHMENT, "фото.jpg", JPEG, "image/jpeg"),
        (ATTACHMENT, "скан.PNG", PNG, "image/png"),
        (ATTACHMENT, "акт.pdf", PDF, "application/pdf"),
        (ATTACHMENT, "акт.docx", ZIP, "application/vnd.openxmlformats-officedocument.wordprocessingml.document"),
        (ATTACHMENT, "смета.xlsx", ZIP, "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"),
        (IMPORT_TABLE, "выгрузка.csv", CSV_UTF8, "text/csv"),
        (IMPORT_TABLE, "выгрузка.csv", CSV_CP1251, "text/csv"),
        (IMPORT_TABLE, "юникод.txt", CSV_UTF16, "text/plain"),
        (IMPORT_TABLE, "выгрузка.xlsx", ZIP, "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"),
        (GAZETTEER, "город.csv", CSV_CP1251, "text/csv"),
    ],
)
def test_it_accepts_the_allowed_types_and_stores_the_type_of_the_extension(kind, name, content, stored_type):
    file = upload(name, content, "text/html")  # the browser's word is not kept
    assert upload_problem(file, kind) is None
    assert file.content_type == stored_type
    assert file.read() == content  # the check leaves the file readable from the start


@pytest.mark.parametrize(
    ("kind", "name", "content"),
    [
        (ATTACHMENT, "программа.exe", EXE),  # a type not allowed
        (ATTACHMENT, "страница.html", HTML),
        (ATTACHMENT, "картинка.svg", SVG),
        (ATTACHMENT, "таблица.csv", CSV_UTF8),  # allowed for the import, not as an attachment
        (ATTACHMENT, "без_расширения", JPEG),
        (ATTACHMENT, "акт.pdf", EXE),  # a program renamed
        (ATTACHMENT, "фото.jpg", HTML),  # a page renamed
        (ATTACHMENT, "фото.jpg", PNG),  # another type renamed
        (ATTACHMENT, "акт.docx", ELF),
        (ATTACHMENT, "пусто.jpg", b""),
        (IMPORT_TABLE, "выгрузка.csv", HTML),
        (IMPORT_TABLE, "выгрузка.csv", SVG),
        (IMPORT_TABLE, "выгрузка.csv", SHELL),
        (IMPORT_TABLE, "выгрузка.csv", EXE),
        (IMPORT_TABLE, "выгрузка.csv", PNG),  # binary, not text
        (IMPORT_TABLE, "выгрузка.xlsx", EXE),
        (IMPORT_TABLE, "выгрузка.pdf", PDF),
        (GAZETTEER, "город.csv", b"\x00\x01\x02\x03binary"),
        (GAZETTEER, "город.xlsx", ZIP),
        (GAZETTEER, "город.csv", b"<html><body>\xd0\xb3\xd0\xbe\xd1\x80\xd0\xbe\xd0\xb4</body></html>"),
    ],
)
def test_it_refuses_a_wrong_or_disguised_file_naming_it(kind, name, content):
    problem = upload_problem(upload(name, content), kind)
    assert problem is not None
    assert f"«{name}»" in problem


def test_a_csv_quoting_markup_in_a_citizens_message_is_still_a_csv():
    content = 'ID;Текст\n1;"Пишу <script>alert(1)</script> и жду ответа"\n'.encode()
    assert upload_problem(upload("выгрузка.csv", content), IMPORT_TABLE) is None


def test_text_that_is_neither_utf8_nor_cp1251_is_refused():
    # 0x98 is the one byte cp1251 leaves undefined, and it is not valid UTF-8 here.
    assert upload_problem(upload("город.csv", b"street;\x98\x98\n"), GAZETTEER) is not None


def test_the_size_limit_is_a_setting(settings):
    settings.OTKLIK_UPLOAD_MAX_MB = 1
    limit = 1024 * 1024
    assert upload_problem(upload("ok.jpg", JPEG + b"\x00" * (limit - len(JPEG))), ATTACHMENT) is None
    problem = upload_problem(upload("big.jpg", JPEG + b"\x00" * (limit - len(JPEG) + 1)), ATTACHMENT)
    assert problem is not None and "«big.jpg»" in problem and "1" in problem


def test_a_use_may_pass_its_own_limit():
    assert upload_problem(upload("t.csv", CSV_UTF8), IMPORT_TABLE, max_bytes=10) is not None


@pytest.mark.parametrize(
    ("name", "safe"),
    [
        ("../../etc/passwd.jpg", "passwd.jpg"),
        ("C:\\Users\\x\\фото.jpg", "фото.jpg"),
        (".htaccess", "htaccess"),
        ("a\x00b<c>d:e|f?.jpg", "a_b_c_d_e_f_.jpg"),
        ("", "file"),
        ("///", "file"),
        ("акт приёмки.pdf", "акт приёмки.pdf"),
        ("x" * 300 + ".pdf", "x" * 146 + ".pdf"),
    ],
)
def test_names_are_sanitized(name, safe):
    assert safe_filename(name) == safe


def test_an_accepted_upload_gets_the_sanitized_name():
    file = upload("../../../tmp/фото.jpg", JPEG)
    assert upload_problem(file, ATTACHMENT) is None
    assert file.name == "фото.jpg"


def test_several_files_report_every_problem_and_a_count_limit():
    with pytest.raises(ValidationError) as error:
        validate_uploads([upload("a.jpg", JPEG), upload("b.jpg", EXE), upload("c.pdf", HTML)], ATTACHMENT)
    assert len(error.value.messages) == 2
    with pytest.raises(ValidationError):
        validate_uploads([upload(f"{i}.jpg", JPEG) for i in range(3)], ATTACHMENT, max_files=2)


def test_dangerous_content_is_recognised_only_at_the_start():
    assert uploads.is_dangerous(b"  \n<html>")
    assert uploads.is_dangerous(b"\xef\xbb\xbf<!doctype html>")
    assert not uploads.is_dangerous(b"ID;Text\n1;<html>")


# --- each upload point through its real form or API -----------------------------------------------------------


@pytest.fixture
def assignment(operator, housing):
    incident = ingest("Прорвало трубу в подъезде дома 5")
    do_route(incident, actor=operator, lead=housing)
    return Assignment.objects.get(incident=incident)


@pytest.mark.django_db
def test_the_desk_refuses_a_page_disguised_as_a_pdf_and_keeps_nothing(client, executor, assignment):
    client.force_login(executor)
    response = client.post(
        f"/assignments/{assignment.pk}/",
        {"choice": "information", "information": "Трубу заменили", "attachments": [upload("акт.pdf", HTML)]},
    )
    assert response.status_code in (200, 400)
    assert "«акт.pdf»" in response.content.decode()
    assert not Attachment.objects.exists()


@pytest.mark.django_db
def test_the_desk_stores_a_sanitized_name(client, executor, assignment):
    client.force_login(executor)
    response = client.post(
        f"/assignments/{assignment.pk}/",
        {"choice": "information", "information": "Трубу заменили", "attachments": [upload("../../фото.jpg", JPEG)]},
    )
    assert response.status_code == 302
    attachment = Attachment.objects.get()
    assert attachment.name == "фото.jpg"
    assert ".." not in attachment.file.name


@pytest.fixture
def api_executor(executor) -> APIClient:
    _token, key = AuthToken.objects.create(user=executor)
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {key}")
    return client


@pytest.mark.django_db
@pytest.mark.parametrize(("name", "content"), [("фото.jpg", EXE), ("страница.html", HTML), ("акт.pdf", b"")])
def test_the_api_refuses_a_bad_attachment_with_a_400_naming_it(api_executor, assignment, name, content):
    response = api_executor.post(
        f"/api/v1/assignments/{assignment.pk}/information",
        {"text": "Трубу заменили", "files": [upload(name, content)]},
        format="multipart",
    )
    assert response.status_code == 400
    assert f"«{name}»" in str(response.json()["files"])
    assert not Attachment.objects.exists()
    assignment.refresh_from_db()
    assert assignment.status == "sent"


@pytest.mark.django_db
def test_the_api_accepts_a_real_photo_and_stores_its_type(api_executor, assignment):
    response = api_executor.post(
        f"/api/v1/assignments/{assignment.pk}/information",
        {"text": "Трубу заменили", "files": [upload("фото.jpg", JPEG, "text/html")]},
        format="multipart",
    )
    assert response.status_code == 200
    assert Attachment.objects.get().content_type == "image/jpeg"


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("name", "content"),
    [("выгрузка.csv", HTML), ("выгрузка.xlsx", EXE), ("выгрузка.exe", EXE), ("выгрузка.csv", SHELL)],
)
def test_the_import_refuses_a_disguised_file_next_to_the_field(client, operator, name, content):
    client.force_login(operator)
    response = client.post("/import/", {"file": upload(name, content), "channel": "im"})
    assert response.status_code == 400
    page = response.content.decode()
    assert "invalid-feedback" in page and f"«{name}»" in page
    assert not ImportJob.objects.exists()


@pytest.mark.django_db
def test_the_import_still_takes_a_real_export(client, operator):
    client.force_login(operator)
    response = client.post(
        "/import/", {"file": upload("im_utf8_comma.csv", (DATA / "im_utf8_comma.csv").read_bytes()), "channel": "im"}
    )
    assert response.status_code == 302
    assert ImportJob.objects.count() == 1


@pytest.mark.django_db
@pytest.mark.parametrize(("name", "content"), [("город.csv", HTML), ("город.csv", EXE), ("город.exe", CSV_UTF8)])
def test_the_gazetteer_refuses_a_disguised_file(client, head, name, content):
    client.force_login(head)
    response = client.post("/settings/gazetteer/import/", {"file": upload(name, content)})
    assert response.status_code == 400
    assert f"«{name}»" in response.content.decode()
    assert not Street.objects.exists()


@pytest.mark.django_db
def test_the_gazetteer_still_takes_a_cp1251_csv(client, head):
    client.force_login(head)
    content = "kind;street_type;street;house;name;aliases;district;company\nstreet;улица;Ленина;;;;;\n"
    response = client.post("/settings/gazetteer/import/", {"file": upload("город.csv", content.encode("cp1251"))})
    assert response.status_code == 302
