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


def _orm_candidates(incident, start, street):
    """The candidate query as the ORM writes it (the reference `duplicates._candidates` must equal)."""
    from django.db.models import Q

    from otklik.cases.choices import OPEN_STATUSES
    from otklik.cases.models import Incident
    from otklik.intake.models import Post
    from otklik.nlp.duplicates import MAX_CANDIDATES

    relevant = Q(address=incident.address) if incident.address else Q(pk__in=[])
    if incident.topic_id is not None:
        relevant |= Q(topic_id=incident.topic_id) | Q(topic__isnull=True, group_id=incident.group_id)
    elif incident.group_id is not None:
        relevant |= Q(group_id=incident.group_id)
    if street is not None:
        relevant |= Q(address__icontains=street) | Q(address="")
    rows = list(
        Incident.objects.filter(status__in=OPEN_STATUSES, merged_into__isnull=True, created_at__gte=start)
        .filter(Q(created_at__lt=incident.created_at) | Q(created_at=incident.created_at, pk__lt=incident.pk))
        .filter(relevant)
        .order_by("-created_at", "-pk")
        .values_list("pk", "address", "topic_id", "group_id")[:MAX_CANDIDATES]
    )
    texts: dict[int, list[str]] = {}
    for incident_id, text in (
        Post.objects.filter(incident_id__in=[row[0] for row in rows])
        .order_by("posted_at", "pk")
        .values_list("incident_id", "text")
    ):
        texts.setdefault(incident_id, []).append(text)
    return [(*row, text) for row in rows for text in (texts.get(row[0]) or [None])]


def test_the_candidate_query_reads_what_the_orm_query_reads(reference):
    """`_candidates` is hand-written SQL (built once per shape): for every shape of the question (address or not;
    topic with or without group, group only, neither; a street or not, with LIKE's wildcards in it) it returns the
    rows of the ORM's query, in its order, with each candidate's texts in posting order."""
    from otklik.cases.models import Incident
    from otklik.intake.models import Post
    from otklik.nlp import duplicates
    from otklik.org.models import TopicGroup

    water = Topic.objects.get(name="Отсутствие горячей воды")
    other_topic = Topic.objects.exclude(group=water.group).first()
    other_group = TopicGroup.objects.exclude(pk=water.group_id).first()
    now = timezone.now()
    shapes = [
        ("улица Ленина, 5", water, water.group),
        ("улица Ленина, 7", None, water.group),
        ("", None, None),
        ("", water, water.group),
        ("улица 50%_Лет, 1", other_topic, other_topic.group),
        ("улица 50xxЛет, 2", None, other_group),
        ("улица Ленина, 5", None, None),
        ("проспект Мира, 1", water, None),
    ]
    made = []
    for n, (address, topic, group) in enumerate(shapes * 3):
        incident = ingest(f"Текст номер {n} про воду", received_at=now - dt.timedelta(hours=n))
        Incident.objects.filter(pk=incident.pk).update(
            address=address, topic=topic, group=group, created_at=now - dt.timedelta(hours=n % 9)
        )
        made.append(incident)
    # A second post on some, a closed one, one merged and one outside the window.
    Post.objects.filter(incident=made[1]).update(posted_at=now - dt.timedelta(hours=3))
    ingest("Ещё одно сообщение", received_at=now)
    Post.objects.filter(incident__isnull=False).exclude(incident__in=made).update(incident=made[1])
    do_mark_no_answer(made[2], actor=None, reason=NoAnswerReason.NOT_MUNICIPAL)
    Incident.objects.filter(pk=made[3].pk).update(merged_into=made[4], status=IncidentStatus.MERGED)
    Incident.objects.filter(pk=made[5].pk).update(created_at=now - dt.timedelta(hours=100))

    checked = 0
    for incident in Incident.objects.filter(pk__in=[i.pk for i in made]):
        for street in (None, "Ленина", "50%_Лет", "ленина"):
            start = incident.created_at - dt.timedelta(hours=72)
            expected = _orm_candidates(incident, start, street)
            assert duplicates._candidates(incident, start, street=street) == expected, (incident.pk, street)
            checked += bool(expected)
    assert checked > 40  # most questions have candidates: the comparison is not of empty lists


def test_the_analysis_merges_a_duplicate_with_the_posts_it_read_and_no_look_for_assignments(reference):
    """The worker's merge: the target is read once and held, the merged incident's posts are the ones the analysis
    read under its lock, and a `new` incident has no assignments to look for."""
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    from otklik.intake.models import Post
    from otklik.nlp.pipeline import analyze_batch

    first = ingest(FIRST, received_at=_ago(5))
    do_classify(first, topic=Topic.objects.get(name="Отсутствие горячей воды"), actor=None)
    second = ingest(SAME)
    post = Post.objects.get(incident=second)
    with CaptureQueriesContext(connection) as queries:
        assert analyze_batch(post.pk, limit=5) == {post.pk: "merged"}
    second.refresh_from_db()
    assert (second.status, second.merged_into_id, second.channels) == (IncidentStatus.MERGED, first.pk, "")
    assert set(Post.objects.filter(incident=first).values_list("pk", flat=True)) == {
        post.pk,
        *first.posts.values_list("pk", flat=True),
    }
    sqls = [q["sql"] for q in queries.captured_queries]
    assert not [sql for sql in sqls if 'FROM "cases_assignment"' in sql]
    assert not [sql for sql in sqls if sql.startswith('SELECT "intake_post"."id" AS "pk" FROM "intake_post"')]
