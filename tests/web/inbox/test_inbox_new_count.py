"""New items are announced by a counter polled every 30 s, never by reordering the list under the cursor."""

from __future__ import annotations

import datetime as dt
import re
from urllib.parse import quote

import pytest
from django.utils import timezone

from tests.factories import ingest

pytestmark = pytest.mark.django_db


def poll(client, since: dt.datetime, extra: str = ""):
    return client.get(f"/inbox/new-count/?since={quote(since.isoformat())}{extra}")


def test_it_counts_incidents_that_arrived_after_the_page_was_rendered(login, operator, world):
    client = login(operator)
    html = client.get("/inbox/").content.decode()
    poll_url = re.search(r'hx-get="(/inbox/new-count/\?[^"]+)"', html).group(1).replace("&amp;", "&")
    assert client.get(poll_url).content.decode().strip() == ""

    ingest("Снова нет воды", channel="vk")
    ingest("И света тоже нет", channel="vk")
    ingest("Во дворе яма", channel="vk")
    response = client.get(poll_url)
    assert response.status_code == 200
    html = response.content.decode()
    assert 'data-new-count="3"' in html
    assert "<html" not in html


def test_the_counter_respects_the_view_and_filters_and_links_to_the_same_list(login, operator, world):
    client = login(operator)
    since = timezone.now()
    ingest("Через телеграм", channel="telegram")
    ingest("Через ВК", channel="vk")
    html = poll(client, since, "&view=new&channel=telegram").content.decode()
    assert 'data-new-count="1"' in html
    assert 'href="/inbox/?view=new&amp;channel=telegram"' in html
    assert 'data-new-count="2"' in poll(client, since, "&view=new").content.decode()
    assert poll(client, since, "&view=triage").content.decode().strip() == ""


def test_a_time_without_a_zone_is_taken_as_local_and_a_broken_time_is_a_400(login, operator, world):
    client = login(operator)
    local = timezone.localtime()  # read as UTC it would be hours away and count nothing
    ingest("Новое", channel="vk")
    response = client.get(f"/inbox/new-count/?since={local.replace(tzinfo=None).isoformat()}")
    assert 'data-new-count="1"' in response.content.decode()
    assert client.get("/inbox/new-count/?since=yesterday").status_code == 400
