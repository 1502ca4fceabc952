"""Step 6 (otklik.nlp.spikes): a topic or place far above its weekly volume raises one spike, notified once."""

from __future__ import annotations

import datetime as dt

import pytest
import time_machine
from django.utils import timezone, translation

from otklik.cases.services import do_classify
from otklik.nlp.models import Spike, SpikeKind, SpikeWindow
from otklik.nlp.spikes import detect_spikes
from otklik.nlp.tasks import detect_spikes_task
from otklik.notifications.models import Notification
from otklik.org.models import Topic
from tests.factories import ingest

pytestmark = pytest.mark.django_db

NOW = dt.datetime(2026, 11, 18, 12, 0, tzinfo=dt.UTC)
HOT_WATER = "Отсутствие горячей воды"


@pytest.fixture
def topic(reference):
    return Topic.objects.get(name=HOT_WATER)


def _post(topic: Topic | None, at: dt.datetime, text: str = "Нет горячей воды, сколько можно") -> None:
    incident = ingest(text, posted_at=at, received_at=at)
    if topic is not None:
        do_classify(incident, topic=topic, actor=None)


def _quiet_week(topic: Topic) -> None:
    """One post a day over the six days before the last one."""
    for day in range(1, 7):
        _post(topic, NOW - dt.timedelta(days=day, hours=3))


def _burst(topic: Topic | None, n: int, *, every: dt.timedelta = dt.timedelta(minutes=4), **kw: str) -> None:
    for i in range(n):
        _post(topic, NOW - dt.timedelta(minutes=1) - i * every, **kw)


def test_it_raises_one_spike_and_notifies_the_head_once_for_a_burst_over_a_quiet_week(topic, head, operator):
    _quiet_week(topic)
    _burst(topic, 12)

    with translation.override("en"):
        created = detect_spikes(NOW)

    assert len(created) == 1
    spike = Spike.objects.get()
    assert (spike.kind, spike.key, spike.window, spike.count) == (SpikeKind.TOPIC, HOT_WATER, SpikeWindow.HOUR, 12)
    assert spike.baseline == pytest.approx(6 / 168)
    assert len(spike.incident_ids) == 12
    assert spike.notified_at is not None
    notice = Notification.objects.get()
    assert notice.recipient == head
    assert notice.dedup_key == f"spike:{spike.pk}"
    assert HOT_WATER in notice.title and "12" in notice.title
    assert "media department" in notice.body


def test_it_does_not_raise_the_same_spike_twice(topic, head):
    _quiet_week(topic)
    _burst(topic, 12)

    with time_machine.travel(NOW, tick=False):
        detect_spikes_task()
    with time_machine.travel(NOW + dt.timedelta(minutes=10), tick=False):
        detect_spikes_task()
        _post(topic, timezone.now())
        assert detect_spikes() == []

    spike = Spike.objects.get()
    assert spike.count == 13
    assert Notification.objects.filter(recipient=head).count() == 1


def test_it_raises_no_spike_below_the_minimum_count(topic, head):
    _quiet_week(topic)
    _burst(topic, 4)

    assert detect_spikes(NOW) == []
    assert not Spike.objects.exists()
    assert not Notification.objects.exists()


def test_it_raises_a_day_spike_over_a_quiet_week_but_not_over_a_busy_one(topic, head):
    _quiet_week(topic)
    _burst(topic, 12, every=dt.timedelta(hours=1, minutes=50))  # never more than one an hour

    assert [(s.window, s.count) for s in detect_spikes(NOW)] == [(SpikeWindow.DAY, 12)]

    Spike.objects.all().delete()
    for day in range(1, 8):  # five a day all week: 12 is not three times that
        for i in range(4):
            _post(topic, NOW - dt.timedelta(days=day, hours=i + 1))
    assert detect_spikes(NOW) == []


def test_it_raises_a_spike_of_a_place(head):
    _burst(None, 6, text="Прорвало трубу у дома Ленина 5, вода хлещет")

    [spike] = detect_spikes(NOW)

    assert (spike.kind, spike.key, spike.window) == (SpikeKind.PLACE, "улица Ленина, 5", SpikeWindow.HOUR)
