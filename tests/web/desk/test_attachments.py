"""Photos and documents sent with the information: allowed types, size and number, checked by name and contents."""

from __future__ import annotations

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.utils.html import escape

from otklik.cases.choices import AssignmentStatus
from otklik.cases.forms_assignments import MAX_FILE_SIZE, check_upload
from otklik.cases.models import Attachment, Event

pytestmark = pytest.mark.django_db

JPEG = b"\xff\xd8\xff\xe0\x00\x10JFIF\x00\x01" + b"\x00" * 64
PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 32
WEBP = b"RIFF\x24\x00\x00\x00WEBPVP8 " + b"\x00" * 32
HEIC = b"\x00\x00\x00\x18ftypheic\x00\x00\x00\x00" + b"\x00" * 32
PDF = b"%PDF-1.7\n" + b"\x00" * 32
ZIP = b"PK\x03\x04" + b"\x00" * 32
OLE = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\x00" * 32
EXE = b"MZ\x90\x00" + b"\x00" * 32


def upload(name: str, content: bytes, content_type: str = "application/octet-stream") -> SimpleUploadedFile:
    return SimpleUploadedFile(name, content, content_type)


@pytest.mark.parametrize(
    ("name", "content", "stored_type"),
    [
        ("фото.jpg", JPEG, "image/jpeg"),
        ("ФОТО.JPEG", JPEG, "image/jpeg"),
        ("scan.png", PNG, "image/png"),
        ("pic.webp", WEBP, "image/webp"),
        ("iphone.heic", HEIC, "image/heic"),
        ("акт.pdf", PDF, "application/pdf"),
        ("акт.docx", ZIP, "application/vnd.openxmlformats-officedocument.wordprocessingml.document"),
        ("смета.xlsx", ZIP, "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"),
        ("письмо.odt", ZIP, "application/vnd.oasis.opendocument.text"),
        ("старый.doc", OLE, "application/msword"),
        ("rtf.doc", b"{\\rtf1\\ansi hello}", "application/msword"),
        ("старая.xls", OLE, "application/vnd.ms-excel"),
    ],
)
def test_it_accepts_each_allowed_type_and_stores_the_type_of_its_extension(name, content, stored_type):
    file = upload(name, content, "text/html")  # the browser's word is not trusted
    assert check_upload(file) is None
    assert file.content_type == stored_type
    assert file.read() == content  # the check does not consume the file


@pytest.mark.parametrize(
    ("name", "content"),
    [
        ("virus.exe", EXE),
        ("script.js", b"alert(1)"),
        ("noext", JPEG),
        ("fake.jpg", b"this is not an image at all"),
        ("fake.png", JPEG),
        ("fake.pdf", EXE),
        ("fake.docx", EXE),
        ("fake.xls", b"<html><table></table></html>"),
        ("empty.jpg", b""),
    ],
)
def test_it_refuses_a_wrong_or_disguised_file_naming_it(name, content):
    reason = check_upload(upload(name, content))
    assert reason is not None
    assert f"«{name}»" in reason


def test_it_refuses_a_file_over_ten_megabytes():
    reason = check_upload(upload("big.jpg", JPEG + b"\x00" * (MAX_FILE_SIZE - len(JPEG) + 1)))
    assert reason is not None and "«big.jpg»" in reason
    assert check_upload(upload("limit.jpg", JPEG + b"\x00" * (MAX_FILE_SIZE - len(JPEG)))) is None


def test_information_with_a_photo_stores_the_attachment(login, assign, executor, housing):
    assignment = assign(housing)

    response = login(executor).post(
        f"/assignments/{assignment.pk}/",
        {
            "choice": "information",
            "information": "Яму засыпали",
            "attachments": [upload("яма.jpg", JPEG, "image/jpeg")],
        },
    )

    assert response.status_code == 302
    attachment = Attachment.objects.get(assignment=assignment)
    assert attachment.name == "яма.jpg"
    assert attachment.content_type == "image/jpeg"
    assert attachment.uploaded_by == executor
    with attachment.file.open("rb") as f:
        assert f.read() == JPEG
    client = login(executor)
    page = client.get(f"/assignments/{assignment.pk}/").content.decode()
    assert "яма.jpg" in page
    assert f'href="/api/v1/attachments/{attachment.pk}' in page
    download = client.get(f"/api/v1/attachments/{attachment.pk}/")
    assert download.status_code == 200 and b"".join(download.streaming_content) == JPEG


@pytest.mark.parametrize(("name", "content"), [("virus.exe", EXE), ("fake.jpg", b"<?php system($_GET['c']); ?>")])
def test_a_refused_file_saves_nothing_names_the_file_and_keeps_the_text(
    login, assign, executor, housing, name, content
):
    assignment = assign(housing)
    events_before = Event.objects.count()

    response = login(executor).post(
        f"/assignments/{assignment.pk}/",
        {
            "choice": "information",
            "information": "Текст, который нельзя потерять",
            "attachments": [upload("ok.jpg", JPEG, "image/jpeg"), upload(name, content, "image/jpeg")],
        },
    )

    assert response.status_code == 200
    page = response.content.decode()
    assert escape(f"«{name}»") in page
    assert ">Текст, который нельзя потерять</textarea>" in page
    assignment.refresh_from_db()
    assert assignment.status == AssignmentStatus.SENT
    assert assignment.information == ""
    assert not Attachment.objects.exists()
    assert Event.objects.count() == events_before


def test_at_most_ten_files_are_accepted_at_once(login, assign, executor, housing):
    assignment = assign(housing)
    files = [upload(f"{n}.jpg", JPEG, "image/jpeg") for n in range(11)]

    response = login(executor).post(
        f"/assignments/{assignment.pk}/", {"choice": "information", "information": "Фото", "attachments": files}
    )

    assert response.status_code == 200
    assert not Attachment.objects.exists()
    assignment.refresh_from_db()
    assert assignment.status == AssignmentStatus.SENT


def test_files_are_neither_checked_nor_kept_when_declining(login, assign, executor, housing):
    assignment = assign(housing)
    login(executor).post(
        f"/assignments/{assignment.pk}/",
        {
            "choice": "decline",
            "reason": "Не наше",
            "attachments": [upload("ok.jpg", JPEG, "image/jpeg"), upload("virus.exe", EXE)],
        },
    )
    assignment.refresh_from_db()
    assert assignment.status == AssignmentStatus.DECLINED
    assert not Attachment.objects.exists()
