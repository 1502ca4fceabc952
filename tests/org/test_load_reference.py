"""`manage.py load_reference`: the IM rubricator as groups and topics, idempotent, ★ as priority."""

from __future__ import annotations

import io
import json

import pytest
from django.core.management import call_command
from django.utils import translation

from otklik.org.models import Topic, TopicGroup
from otklik.org.services import load_rubricator

pytestmark = pytest.mark.django_db


def _load(**options: object) -> str:
    """Run the command; its report in English (the Russian catalogue may or may not be compiled)."""
    out = io.StringIO()
    with translation.override("en"):
        call_command("load_reference", stdout=out, **options)
    return out.getvalue()


def test_it_loads_195_topics_in_26_groups():
    _load()
    assert TopicGroup.objects.count() == 26
    assert Topic.objects.filter(is_active=True).count() == 195


def test_it_stores_the_star_as_priority_and_not_in_the_name():
    _load()
    pits = Topic.objects.get(name="Ямы во дворах")
    assert pits.priority is True
    assert pits.group.name == "Благоустройство"
    assert str(pits) == "★ Ямы во дворах"
    assert not Topic.objects.filter(name__startswith="★").exists()
    assert Topic.objects.get(name="Отсутствие горячей воды").priority is False
    assert Topic.objects.filter(priority=True).count() == 33  # the ★ entries of the file


def test_it_is_idempotent_and_says_what_it_did():
    first = _load()
    ids = sorted(Topic.objects.values_list("pk", flat=True))
    second = _load()
    assert sorted(Topic.objects.values_list("pk", flat=True)) == ids
    assert TopicGroup.objects.count() == 26
    assert "created: 26 groups, 195 topics" in first
    assert "unchanged: 195" in second


def test_it_restores_a_changed_topic_and_keeps_its_keywords():
    _load()
    other = TopicGroup.objects.get(name="Дороги")
    Topic.objects.filter(name="Отсутствие горячей воды").update(
        group=other, priority=True, is_active=False, keywords="гвс"
    )
    report = load_rubricator()
    topic = Topic.objects.get(name="Отсутствие горячей воды")
    assert report.topics_updated == ["Отсутствие горячей воды"]
    assert (topic.group.name, topic.priority, topic.is_active) == ("ЖКХ", False, True)
    assert topic.keywords == "гвс"


def test_it_deactivates_a_topic_that_left_the_rubricator(tmp_path):
    _load()
    path = tmp_path / "rubricator.json"
    path.write_text(json.dumps({"★ Ямы во дворах": "Благоустройство", "Новая тема": "Благоустройство"}))
    output = _load(path=str(path))
    assert Topic.objects.get(name="Новая тема").is_active
    assert Topic.objects.get(name="Ямы во дворах").is_active
    assert not Topic.objects.get(name="Отсутствие горячей воды").is_active
    assert Topic.objects.filter(is_active=True).count() == 2
    assert "deactivated" in output
