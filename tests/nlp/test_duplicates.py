"""Step 5 (otklik.nlp.duplicates): a new incident about the same open problem is merged into it."""

from __future__ import annotations

import datetime as dt

import pytest
from django.utils import timezone

from otklik.cases.choices import IncidentStatus, NoAnswerReason
from otklik.cases.services import do_classify, do_mark_no_answer
from otklik.nlp.duplicates import do_merge_duplicate, find_duplicate
from otklik.org.models import Topic
from tests.factories import ingest

pytestmark = pytest.mark.django_db

FIRST = "Третий день нет горячей воды на улице Ленина 5"
SAME = "Ленина 5, опять нет горячей воды, сколько можно"
OTHER_PROBLEM = "На Ленина 5 во дворе огромная яма, машины бьются"


def _ago(hours: float) -> dt.datetime:
    return timezone.now() - dt.timedelta(hours=hours)


def test_it_merges_a_second_post_about_no_hot_water_at_the_same_house_into_the_first():
    first = ingest(FIRST, received_at=_ago(5))
    second = ingest(SAME)

    target = do_merge_duplicate(second)

    assert target == first
    second.refresh_from_db()
    assert second.status == IncidentStatus.MERGED
    assert second.merged_into == first
    assert str(first.pk) in second.status_note
    assert first.posts.count() == 2


def test_it_does_not_take_another_problem_at_the_same_house_for_a_duplicate():
    ingest(FIRST, received_at=_ago(5))
    second = ingest(OTHER_PROBLEM)

    assert do_merge_duplicate(second) is None
    second.refresh_from_db()
    assert second.status == IncidentStatus.NEW


def test_it_ignores_an_incident_older_than_the_window():
    ingest(FIRST, received_at=_ago(80))
    second = ingest(SAME)

    assert find_duplicate(second, window_hours=72) is None


def test_it_ignores_an_incident_that_is_no_longer_open():
    first = ingest(FIRST, received_at=_ago(5))
    do_mark_no_answer(first, actor=None, reason=NoAnswerReason.NOT_MUNICIPAL)
    second = ingest(SAME)

    assert find_duplicate(second) is None


def test_it_never_merges_an_incident_into_a_newer_one():
    first = ingest(FIRST, received_at=_ago(5))
    ingest(SAME)

    assert find_duplicate(first) is None


def test_it_finds_the_same_problem_by_topic_when_no_house_is_named(reference):
    topic = Topic.objects.get(name="Отсутствие горячей воды")
    first = ingest("Во всём районе нет горячей воды третий день", received_at=_ago(2))
    second = ingest("Когда дадут горячую воду? Нет горячей воды уже три дня")
    unrelated = ingest("Нет горячей воды третий день, безобразие")
    first = do_classify(first, topic=topic, actor=None)
    second = do_classify(second, topic=topic, actor=None)

    assert find_duplicate(second) == first
    # The same text without a shared place or topic is not enough.
    assert find_duplicate(unrelated) is None


def test_the_same_topic_at_another_known_address_is_another_problem(operator):
    from otklik.nlp.duplicates import find_duplicate
    from tests.factories import ingest

    first = ingest("Третий день нет горячей воды на улице Чапаева, 27. Когда дадут?")
    first.address = "улица Чапаева, 27"
    first.save(update_fields=["address"])
    second = ingest("Третий день нет горячей воды на Интернациональной, 20! Когда дадут?")
    second.address = "улица Интернациональная, 20"
    second.save(update_fields=["address"])
    assert find_duplicate(second) is None
