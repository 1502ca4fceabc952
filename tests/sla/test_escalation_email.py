"""An escalation e-mail has a text and an HTML part; the HTML names what is late, its due time, and links to it."""

from __future__ import annotations

import datetime as dt
import html

import pytest
import time_machine
from django.utils import timezone, translation
from django.utils.formats import date_format

from otklik.cases.services import create_incident, do_route
from otklik.sla.escalation import sweep

pytestmark = pytest.mark.django_db

SITE = "https://otklik.example.org"


def html_part(message) -> str:
    [(content, mimetype)] = message.alternatives
    assert mimetype == "text/html"
    return content


def due_text(moment: dt.datetime) -> str:
    with translation.override("ru"):
        return date_format(timezone.localtime(moment), "DATETIME_FORMAT")


@pytest.fixture
def routed(operator, housing, executor, head, settings):
    settings.SITE_URL = SITE
    # 14:00 in the city; 2 working hours for the department: due 16:00.
    with time_machine.travel(dt.datetime(2026, 12, 1, 9, 0, tzinfo=dt.UTC), tick=False):
        incident = create_incident()
        [assignment] = do_route(incident, actor=operator, lead=housing, due_hours=2)
    return incident, assignment


def test_an_overdue_assignment_mail_has_a_text_and_an_html_part(routed, mailoutbox, django_capture_on_commit_callbacks):
    incident, assignment = routed
    with django_capture_on_commit_callbacks(execute=True):
        sweep(dt.datetime(2026, 12, 1, 11, 30, tzinfo=dt.UTC))  # 16:30 in the city: the assignment is overdue

    [message] = [m for m in mailoutbox if m.to == ["executor@example.org"]]
    link = f"{SITE}/assignments/{assignment.pk}/"
    # The text part: what the notice says and the link.
    assert f"№{incident.pk}" in message.subject
    assert due_text(assignment.due_at) in message.body
    assert message.body.endswith(link)
    # The HTML part names the incident and the assignment's department, gives the due time, and links to it.
    page = html.unescape(html_part(message))
    assert f"№{incident.pk}" in page
    assert "Департамент ЖКХ" in page
    assert due_text(assignment.due_at) in page
    assert timezone.localtime(assignment.due_at).strftime("%d.%m.%Y %H:%M") == "01.12.2026 16:00"
    assert "01.12.2026 16:00" in page
    assert f'<a href="{link}">' in html_part(message)


def test_the_html_part_of_an_incident_clock_links_to_the_card(routed, mailoutbox, django_capture_on_commit_callbacks):
    incident, _assignment = routed
    with django_capture_on_commit_callbacks(execute=True):
        # The answer clock (9 working hours from 14:00 on 1 December) is overdue on 2 December after 14:00.
        sweep(dt.datetime(2026, 12, 2, 12, 0, tzinfo=dt.UTC))

    messages = [m for m in mailoutbox if m.to == ["operator@example.org"]]
    assert messages, [m.subject for m in mailoutbox]
    incident_mails = [m for m in messages if f"/incidents/{incident.pk}/" in m.body]
    assert incident_mails
    page = html_part(incident_mails[0])
    assert f'<a href="{SITE}/incidents/{incident.pk}/">' in page
    assert f"№{incident.pk}" in html.unescape(page)
    assert "<script" not in page


def test_the_html_part_escapes_what_people_wrote(operator, mailoutbox):
    from otklik.notifications.email import deliver
    from otklik.notifications.models import Notification

    note = Notification.objects.create(
        recipient=operator, kind="generic", title="Проверка", body='<img src=x onerror="alert(1)">', dedup_key="x"
    )
    deliver(note.pk)
    page = html_part(mailoutbox[0])
    assert "<img" not in page
    assert "&lt;img" in page
