"""The spikes page (/spikes/): who sees it, what a spike row shows, its link to the incidents, the filters."""

from __future__ import annotations

import datetime as dt
import re

import pytest
import time_machine
from django.test import Client

from otklik.cases.services import do_classify
from otklik.nlp.models import Spike, SpikeKind, SpikeWindow
from otklik.nlp.spikes import detect_spikes
from otklik.org.models import Topic
from tests.factories import PASSWORD, ingest

pytestmark = pytest.mark.django_db

NOW = dt.datetime(2026, 11, 18, 12, 0, tzinfo=dt.UTC)
HOT_WATER = "Отсутствие горячей воды"


@pytest.fixture
def login(client: Client):
    def enter(user) -> Client:
        assert client.login(username=user.username, password=PASSWORD)
        return client

    return enter


def _post(topic: Topic, at: dt.datetime, text: str = "Нет горячей воды, сколько можно"):
    incident = ingest(text, posted_at=at, received_at=at)
    do_classify(incident, topic=topic, actor=None)
    return incident


@pytest.fixture
def burst(reference, head):
    """A quiet week on hot water (one post a day), then 12 posts within the last hour: one hour spike."""
    topic = Topic.objects.get(name=HOT_WATER)
    quiet = [_post(topic, NOW - dt.timedelta(days=day, hours=3)) for day in range(1, 7)]
    loud = [_post(topic, NOW - dt.timedelta(minutes=1 + 4 * i)) for i in range(12)]
    detect_spikes(NOW)
    spike = Spike.objects.get(kind=SpikeKind.TOPIC, window=SpikeWindow.HOUR)
    return spike, quiet, loud


def _page(client: Client, query: str = "") -> str:
    with time_machine.travel(NOW, tick=False):
        response = client.get(f"/spikes/{query}")
    assert response.status_code == 200
    return response.content.decode()


def _spike_ids(html: str) -> list[int]:
    return [int(n) for n in re.findall(r'data-spike="(\d+)"', html)]


@pytest.mark.parametrize("persona", ["operator", "head", "director", "admin_user"])
def test_the_service_and_the_director_see_the_spikes_page_and_its_nav_link(request, login, persona):
    client = login(request.getfixturevalue(persona))
    html = _page(client)
    assert 'href="/spikes/"' in html


def test_an_executor_is_refused_and_has_no_link(login, executor):
    client = login(executor)
    assert client.get("/spikes/").status_code == 403
    assert 'href="/spikes/"' not in client.get("/assignments/").content.decode()


def test_an_anonymous_visitor_is_sent_to_log_in(client):
    response = client.get("/spikes/")
    assert response.status_code == 302
    assert "/login/" in response["Location"]


def test_it_says_so_when_there_are_no_spikes(login, operator):
    html = _page(login(operator))
    assert _spike_ids(html) == []
    assert "desk-empty" in html


def test_it_lists_a_spike_with_its_count_ratio_and_an_hourly_sparkline(login, operator, burst):
    spike, _quiet, _loud = burst
    html = _page(login(operator))
    assert _spike_ids(html) == [spike.pk]
    row = html[html.index(f'data-spike="{spike.pk}"') :]
    row = row[: row.index("</tr>")]
    assert HOT_WATER in row
    assert ">12<" in row
    # 12 against a baseline of 6 posts a week (6/168 an hour): ×336
    assert ">×336<" in row.replace("\xa0", "")
    bars = re.findall(r'<rect x="(\d+)" y="(\d+)" width="\d+(?:\.\d+)?" height="(\d+)"', row)
    # the six quiet hours and the last hour or two of the burst, the burst being the tallest
    assert 7 <= len(bars) <= 9
    assert max(int(h) for _x, _y, h in bars) == 32
    assert max(int(x) for x, _y, _h in bars) >= 2 * (168 - 2)


def test_the_link_of_a_spike_lists_exactly_its_incidents_in_the_inbox(login, operator, burst):
    spike, _quiet, loud = burst
    client = login(operator)
    html = _page(client)
    [href] = re.findall(r'<a href="(/inbox/\?[^"]+)" data-incidents', html)
    with time_machine.travel(NOW, tick=False):
        inbox = client.get(href.replace("&amp;", "&")).content.decode()
    listed = re.findall(r'<tr class="inbox-row[^"]*" data-href="/incidents/\d+/" data-id="(\d+)"', inbox)
    assert sorted(int(n) for n in listed) == sorted(i.pk for i in loud) == sorted(spike.incident_ids)
    # the filter stays in the form, so a search within those incidents keeps to them
    assert 'name="ids"' in inbox


def test_the_inbox_ignores_a_malformed_incident_list(login, operator, burst):
    html = login(operator).get("/inbox/?view=all&ids=1,abc").content.decode()
    assert len(re.findall(r'<tr class="inbox-row', html)) == 18


def test_active_spikes_come_first_and_the_filters_narrow_the_list(login, operator, burst):
    spike, _quiet, _loud = burst
    ended = Spike.objects.create(
        kind=SpikeKind.PLACE,
        key="Садовая 7",
        window=SpikeWindow.DAY,
        count=15,
        baseline=1.0,
        incident_ids=[],
        is_active=False,
        detected_at=NOW - dt.timedelta(hours=1),
        last_seen_at=NOW - dt.timedelta(hours=1),
        ended_at=NOW - dt.timedelta(minutes=30),
    )
    client = login(operator)
    assert _spike_ids(_page(client)) == [spike.pk, ended.pk]
    assert _spike_ids(_page(client, "?state=active")) == [spike.pk]
    assert _spike_ids(_page(client, "?kind=place")) == [ended.pk]
    assert _spike_ids(_page(client, "?window=hour")) == [spike.pk]
    assert _spike_ids(_page(client, "?q=садовая")) == [ended.pk]
    assert _spike_ids(_page(client, "?kind=place&window=hour")) == []
    assert "desk-empty" in _page(client, "?q=nothing-like-this")


def test_an_htmx_request_gets_only_the_list(login, operator, burst):
    client = login(operator)
    with time_machine.travel(NOW, tick=False):
        html = client.get("/spikes/?kind=topic", headers={"HX-Request": "true"}).content.decode()
    assert html.lstrip().startswith('<div id="spikes">')
    assert "<nav" not in html
