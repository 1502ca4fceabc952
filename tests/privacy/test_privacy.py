"""Personal data (issue 9, 152-ФЗ): removal after the retention period, a person's export and erasure, masking in
exports."""

from __future__ import annotations

import datetime as dt
import io

import pytest
from django.core.exceptions import ValidationError
from django.core.management import call_command
from django.utils import timezone
from openpyxl import load_workbook

from otklik.cases.choices import IncidentStatus
from otklik.cases.models import Incident
from otklik.intake.models import Post
from otklik.privacy.models import PersonalDataRequest, RequestKind
from otklik.privacy.services import Person, do_erase_person, do_remove_expired_personal_data, export_person
from otklik.privacy.tasks import remove_expired_personal_data
from tests.factories import PASSWORD, ingest

pytestmark = pytest.mark.django_db

PERSONAL = "Я, Иванов Иван Иванович, живу на Ленина 5 кв. 12, тел. 8 912 345-67-89, почта ivanov@mail.ru. Нет воды."


def _old_post(days: int, *, status: str = IncidentStatus.CLOSED, author_id: str = "id100", **fields) -> Post:
    incident = ingest(
        PERSONAL,
        posted_at=timezone.now() - dt.timedelta(days=days),
        author_name="Иван Иванов",
        author_id=author_id,
        url=f"https://vk.com/wall-1_{author_id}{days}",
        **fields,
    )
    Incident.objects.filter(pk=incident.pk).update(status=status)
    return Post.objects.get(incident=incident)


def test_retention_removes_authors_data_of_closed_old_posts_only(settings):
    settings.OTKLIK_PERSONAL_DATA_RETENTION_DAYS = 30
    old_closed = _old_post(40)
    old_open = _old_post(40, status=IncidentStatus.ROUTED, author_id="id200")
    recent_closed = _old_post(5, author_id="id300")

    result = do_remove_expired_personal_data()

    assert result.posts == 1
    old_closed.refresh_from_db()
    assert (old_closed.author_name, old_closed.author_id, old_closed.url) == ("", "", "")
    assert old_closed.personal_data_removed_at is not None
    assert "Иванов" not in old_closed.text and "345-67-89" not in old_closed.text and "ivanov@" not in old_closed.text
    assert "Нет воды" in old_closed.text  # the complaint itself stays
    for untouched in (old_open, recent_closed):
        untouched.refresh_from_db()
        assert untouched.author_name == "Иван Иванов" and untouched.personal_data_removed_at is None
    # The incident stays: only what identifies the citizen goes.
    assert Incident.objects.filter(pk=old_closed.incident_id).exists()


def test_retention_is_idempotent_and_claims_each_post_once(settings):
    settings.OTKLIK_PERSONAL_DATA_RETENTION_DAYS = 30
    post = _old_post(40)
    first = do_remove_expired_personal_data()
    post.refresh_from_db()
    removed_at = post.personal_data_removed_at
    second = do_remove_expired_personal_data()
    assert (first.posts, second.posts) == (1, 0)
    post.refresh_from_db()
    assert post.personal_data_removed_at == removed_at


def test_retention_in_batches_covers_every_post(settings):
    settings.OTKLIK_PERSONAL_DATA_RETENTION_DAYS = 30
    posts = [_old_post(40 + i, author_id=f"id{i}") for i in range(5)]
    result = do_remove_expired_personal_data(batch=2)
    assert result.posts == 5
    assert not Post.objects.filter(pk__in=[p.pk for p in posts], personal_data_removed_at=None).exists()


def test_retention_off_changes_nothing(settings):
    settings.OTKLIK_PERSONAL_DATA_RETENTION_DAYS = 0
    post = _old_post(4000)
    assert do_remove_expired_personal_data().total == 0
    post.refresh_from_db()
    assert post.author_name == "Иван Иванов"


def test_the_periodic_task_and_the_command(settings):
    settings.OTKLIK_PERSONAL_DATA_RETENTION_DAYS = 30
    _old_post(40)
    out = io.StringIO()
    call_command("remove_personal_data", "--dry-run", stdout=out)
    assert "1" in out.getvalue()
    assert Post.objects.filter(personal_data_removed_at=None).count() == 1
    assert remove_expired_personal_data.delay().get()["posts"] == 1
    assert settings.CELERY_BEAT_SCHEDULE["remove-expired-personal-data"]["task"] == (
        "otklik.privacy.tasks.remove_expired_personal_data"
    )


def test_person_needs_an_identifier():
    with pytest.raises(ValidationError):
        Person()
    with pytest.raises(ValidationError):
        Person(author_name="Ив")


def test_export_person_has_posts_and_is_recorded(head):
    _old_post(3, author_id="id777")
    _old_post(3, author_id="id888")
    content = export_person(Person(channel="vk", author_id="id777"), by=head)
    book = load_workbook(io.BytesIO(content))
    rows = list(book.worksheets[0].iter_rows(values_only=True))
    assert len(rows) == 2  # header + the one post of this person
    assert rows[1][3] == "id777" and "Нет воды" in rows[1][5]
    request = PersonalDataRequest.objects.get()
    assert request.kind == RequestKind.EXPORT and request.posts == 1 and request.done_by == head
    assert "id777" not in request.person_hint  # the identifier is not kept in clear


def test_erase_person_now_whatever_the_age(head):
    mine = _old_post(1, status=IncidentStatus.ROUTED, author_id="id555")
    other = _old_post(1, author_id="id556")
    with pytest.raises(ValidationError):
        do_erase_person(Person(channel="vk", author_id="id555"), by=head, reason=" ")
    done = do_erase_person(Person(channel="vk", author_id="id555"), by=head, reason="заявление № 12 от 01.11.2026")
    assert done.kind == RequestKind.ERASURE and done.posts == 1
    mine.refresh_from_db()
    other.refresh_from_db()
    assert mine.author_id == "" and mine.personal_data_removed_at is not None
    assert other.author_id == "id556"
    # Asked again: the digest finds the earlier request; nothing left to erase.
    again = do_erase_person(Person(channel="vk", author_id="id555"), by=head, reason="повторно")
    assert again.posts == 0
    assert PersonalDataRequest.objects.filter(person_digest=done.person_digest).count() == 2


def test_pages_are_for_the_head_only(client, operator, head):
    _old_post(2, author_id="id321")
    client.login(username=operator.username, password=PASSWORD)
    assert client.get("/settings/personal-data/").status_code == 403
    assert client.post("/settings/personal-data/erase/", {"author_id": "id321"}).status_code == 403
    client.login(username=head.username, password=PASSWORD)
    page = client.get("/settings/personal-data/", {"channel": "vk", "author_id": "id321"})
    assert page.status_code == 200
    assert "Иван Иванов" in page.content.decode()
    export = client.get("/settings/personal-data/export/", {"channel": "vk", "author_id": "id321"})
    assert export.status_code == 200 and export["Content-Type"].startswith("application/vnd.openxmlformats")
    refused = client.post(
        "/settings/personal-data/erase/", {"channel": "vk", "author_id": "id321", "reason": "заявление"}
    )
    assert refused.status_code == 302  # no confirmation: nothing erased
    assert Post.objects.get(author_id="id321").personal_data_removed_at is None
    erased = client.post(
        "/settings/personal-data/erase/",
        {"channel": "vk", "author_id": "id321", "reason": "заявление № 5", "confirm": "on"},
        follow=True,
    )
    assert erased.status_code == 200
    assert not Post.objects.filter(author_id="id321").exists()
    assert PersonalDataRequest.objects.filter(kind=RequestKind.ERASURE).count() == 1


def test_inbox_export_masks_personal_data(client, operator):
    _old_post(1, status=IncidentStatus.ROUTED)
    client.login(username=operator.username, password=PASSWORD)
    response = client.get("/inbox/", {"format": "xlsx"})
    assert response.status_code == 200
    book = load_workbook(io.BytesIO(response.content))
    cells = " ".join(str(c) for row in book.worksheets[0].iter_rows(values_only=True) for c in row if c)
    assert "Нет воды" in cells
    assert "345-67-89" not in cells and "ivanov@mail.ru" not in cells and "Иванов Иван Иванович" not in cells


def test_export_and_erasure_are_in_the_audit_log(head):
    from otklik.audit.models import AuditRecord

    _old_post(1, author_id="id900")
    export_person(Person(channel="vk", author_id="id900"), by=head)
    do_erase_person(Person(channel="vk", author_id="id900"), by=head, reason="заявление № 7")
    actions = set(AuditRecord.objects.filter(user=head).values_list("action", flat=True))
    assert {"personal_data_export", "personal_data_erase"} <= actions
