"""The media brief (regulation 3.3): the DOCX holds the facts with personal data masked, and it is e-mailed once."""

from __future__ import annotations

import pytest
from django.core import mail

from otklik.cases.choices import EventVerb
from otklik.core.errors import DomainError, NotAllowed
from otklik.documents import media_brief
from otklik.documents.choices import DispatchStatus
from otklik.documents.masking import mask_personal_data
from otklik.documents.models import MediaDispatch
from otklik.documents.services import do_send_media_brief
from otklik.notifications.models import Notification
from tests.documents.helpers import EMAIL, INFO, NAME, PHONE, docx_text, resonant_incident, spike_over

pytestmark = pytest.mark.django_db

PRESS = "press@city.example.org"


@pytest.fixture
def incident(operator, housing, executor):
    return resonant_incident(operator, housing, executor)


@pytest.fixture
def press(settings):
    settings.OTKLIK_MEDIA_EMAIL = PRESS
    return PRESS


def to_press():
    return [m for m in mail.outbox if PRESS in m.to]


def test_masking_hides_phones_emails_flats_and_a_self_introduced_name():
    text = f"Я, {NAME}, живу на Ленина 5 кв. 12, тел. {PHONE}, почта {EMAIL}. Горячая линия 8-800-100-20-30."
    masked = mask_personal_data(text)
    for secret in (NAME, "912", EMAIL, "кв. 12"):
        assert secret not in masked
    assert "Ленина 5" in masked
    assert "8-800-100-20-30" in masked  # a federal hotline is public


def test_the_incident_brief_holds_the_topic_the_volume_typical_posts_and_the_departments_information(incident):
    brief = media_brief.collect_for_incident(incident)
    assert brief.posts == 5
    assert sum(count for _hour, count in brief.volume) == 5
    text = docx_text(media_brief.render_docx(brief))
    assert "Отсутствие горячей воды" in text
    assert "ЖКХ" in text
    assert INFO in text
    assert "Департамент ЖКХ" in text
    assert "[скрыто]" in text
    assert "горячей воды" in text
    for secret in (PHONE, "251-12-26", EMAIL, "mail.ru", NAME, "Иванов"):
        assert secret not in text
    # The volume table: a row of the hour with its count; the facts table: 5 posts.
    assert "\n5\n" in text


def test_the_brief_embeds_a_bar_chart(incident):
    import io

    from docx import Document

    content = media_brief.render_docx(media_brief.collect_for_incident(incident))
    document = Document(io.BytesIO(content))
    assert len(document.inline_shapes) == 1


def test_the_spike_brief_counts_the_posts_of_its_incidents(incident):
    spike = spike_over(incident)
    brief = media_brief.collect_for_spike(spike)
    assert brief.posts == 5
    assert brief.topic == "Отсутствие горячей воды"
    text = docx_text(media_brief.render_docx(brief, "Заявление для прессы: вода будет."))
    assert "Заявление для прессы: вода будет." in text
    assert "0.2" in text  # the note: the spike against its weekly baseline


def test_the_default_statement_is_filled_with_the_facts(incident):
    statement = media_brief.default_statement(media_brief.collect_for_incident(incident))
    assert "Отсутствие горячей воды" in statement
    assert "5" in statement
    assert "Департамент ЖКХ" in statement
    assert "{" not in statement


def test_sending_e_mails_the_docx_once_and_records_the_event(
    incident, operator, head, press, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        dispatch = do_send_media_brief(actor=operator, incident=incident, statement="Проверка заявления.")
    dispatch.refresh_from_db()
    assert dispatch.status == DispatchStatus.SENT
    (message,) = to_press()
    ((filename, content, mimetype),) = message.attachments
    assert filename == f"media-brief-incident-{incident.pk}.docx"
    assert "wordprocessingml" in mimetype
    text = docx_text(content)
    assert "Проверка заявления." in text and INFO in text and PHONE not in text
    event = incident.events.filter(verb=EventVerb.UPDATED, after__media_dispatch=dispatch.pk).get()
    assert event.actor == operator
    assert Notification.objects.filter(recipient=head, dedup_key=f"media-brief:{dispatch.pk}").count() == 1

    with pytest.raises(DomainError), django_capture_on_commit_callbacks(execute=True):
        do_send_media_brief(actor=operator, incident=incident)
    assert len(to_press()) == 1
    assert MediaDispatch.objects.count() == 1


def test_the_task_sends_a_dispatch_only_once(incident, operator, press, django_capture_on_commit_callbacks):
    from otklik.documents.services import send_media_brief

    with django_capture_on_commit_callbacks(execute=True):
        dispatch = do_send_media_brief(actor=operator, incident=incident)
    assert send_media_brief(dispatch.pk) == DispatchStatus.SENT  # a redelivered task does nothing
    assert len(to_press()) == 1


def test_a_failed_dispatch_can_be_sent_again(
    incident, operator, press, django_capture_on_commit_callbacks, monkeypatch
):
    from django.core.mail import EmailMessage

    def broken(self, fail_silently=False):
        raise ConnectionRefusedError("smtp down")

    with monkeypatch.context() as patch:
        patch.setattr(EmailMessage, "send", broken)
        with django_capture_on_commit_callbacks(execute=True):
            dispatch = do_send_media_brief(actor=operator, incident=incident)
    dispatch.refresh_from_db()
    assert dispatch.status == DispatchStatus.FAILED
    assert "smtp down" in dispatch.error
    assert not to_press()
    with django_capture_on_commit_callbacks(execute=True):
        do_send_media_brief(actor=operator, incident=incident)
    dispatch.refresh_from_db()
    assert dispatch.status == DispatchStatus.SENT
    assert len(to_press()) == 1


def test_sending_needs_a_configured_media_address(incident, operator, settings):
    settings.OTKLIK_MEDIA_EMAIL = ""
    with pytest.raises(DomainError):
        do_send_media_brief(actor=operator, incident=incident)
    assert not MediaDispatch.objects.exists()


def test_an_executor_cannot_send_a_media_brief(incident, executor, press):
    with pytest.raises(NotAllowed):
        do_send_media_brief(actor=executor, incident=incident)


def test_the_spike_is_sent_from_the_brief_page(client, incident, operator, press, django_capture_on_commit_callbacks):
    spike = spike_over(incident)
    client.force_login(operator)
    page = client.get(f"/documents/media/spike/{spike.pk}/")
    assert page.status_code == 200
    assert b"data-send" in page.content
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(f"/documents/media/spike/{spike.pk}/send/", {"statement": "Текст для СМИ."})
    assert response.status_code == 302
    (message,) = to_press()
    assert "Текст для СМИ." in docx_text(message.attachments[0][1])
    assert MediaDispatch.objects.get(spike=spike).status == DispatchStatus.SENT
    page = client.get("/spikes/")
    assert f'href="/documents/media/spike/{spike.pk}/"'.encode() in page.content
    assert b"data-media-dispatch" in page.content


def test_the_edited_statement_is_downloaded(client, incident, director):
    client.force_login(director)
    response = client.post(f"/documents/media/incident/{incident.pk}/docx/", {"statement": "Правка директора."})
    assert response.status_code == 200
    assert response["Content-Disposition"].endswith(f'media-brief-incident-{incident.pk}.docx"')
    assert "Правка директора." in docx_text(response.content)


def test_the_director_cannot_send_and_an_executor_cannot_open_a_brief(client, incident, director, executor, press):
    client.force_login(director)
    assert client.post(f"/documents/media/incident/{incident.pk}/send/").status_code == 403
    client.force_login(executor)
    assert client.get(f"/documents/media/incident/{incident.pk}/").status_code == 403
    assert client.get(f"/documents/media/incident/{incident.pk}/docx/").status_code == 403
    assert not MediaDispatch.objects.exists()


def test_the_card_of_a_resonant_incident_offers_the_brief(client, incident, operator):
    client.force_login(operator)
    page = client.get(f"/incidents/{incident.pk}/")
    assert page.status_code == 200
    assert f'href="/documents/media/incident/{incident.pk}/"'.encode() in page.content


def test_the_card_of_a_small_incident_does_not(client, operator, housing, executor):
    small = resonant_incident(operator, housing, executor, posts=2)
    client.force_login(operator)
    page = client.get(f"/incidents/{small.pk}/")
    assert page.status_code == 200
    assert b"/documents/media/incident/" not in page.content


def test_the_spikes_page_loads_the_dispatches_in_one_query(client, operator, incident):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    from otklik.nlp.models import Spike, SpikeKind, SpikeWindow

    for n in range(4):
        Spike.objects.create(
            kind=SpikeKind.PLACE, key=f"Ленина {n}", window=SpikeWindow.DAY, count=10, baseline=1, incident_ids=[]
        )
    client.force_login(operator)
    with CaptureQueriesContext(connection) as queries:
        page = client.get("/spikes/")
    assert page.content.count(b"data-media-brief") == 4
    assert sum("documents_mediadispatch" in q["sql"] for q in queries.captured_queries) == 1
