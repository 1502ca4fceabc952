"""The lean parts of the analysis (issue 9): events inserted together, no savepoint of a service on a held incident,
no query for the posts of an incident that has only the analysed one — with the same results as before."""

from __future__ import annotations

from decimal import Decimal

import pytest
from django.db import connection, transaction
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from otklik.cases.choices import EventVerb, IncidentStatus
from otklik.cases.models import Event, Incident
from otklik.cases.services import deferring_events, do_update_incident, holding_incident, record_event
from otklik.core.errors import DomainError
from otklik.intake.choices import AnalysisStatus, PostKind
from otklik.intake.models import Post
from otklik.intake.services import default_source, do_ingest_post
from otklik.nlp import pipeline
from otklik.nlp.base import reset_classifier
from otklik.nlp.kind import KindResult
from otklik.nlp.pipeline import analyze_batch, analyze_posts
from otklik.org.models import RoutingRule, Topic, TopicGroup

pytestmark = pytest.mark.django_db

HOT_WATER = "Отсутствие горячей воды"


@pytest.fixture(autouse=True)
def _fresh_classifier():
    reset_classifier()
    yield
    reset_classifier()


@pytest.fixture
def rules(reference, housing, executor, dept_head):
    RoutingRule.objects.create(name="ГВС", topic=Topic.objects.get(name=HOT_WATER), lead=housing, due_hours=Decimal(4))
    RoutingRule.objects.create(name="ЖКХ", group=TopicGroup.objects.get(name="ЖКХ"), lead=housing)


def _post(text: str, external_id: str, **fields) -> Post:
    return do_ingest_post(
        source=default_source("vk"), external_id=external_id, text=text, posted_at=timezone.now(), **fields
    ).post


def _incident() -> Incident:
    return _post("Нет горячей воды на Ленина 5", "x-1").incident


def test_deferred_events_are_inserted_at_the_end_in_the_order_recorded():
    incident = _incident()
    before = Event.objects.count()
    with deferring_events():
        first = record_event(incident, EventVerb.UPDATED, message="one")
        second = record_event(incident, EventVerb.UPDATED, message="two")
        assert first.pk is None and second.pk is None
        assert Event.objects.count() == before  # not yet
    assert Event.objects.count() == before + 2
    rows = list(Event.objects.filter(incident=incident, verb=EventVerb.UPDATED).order_by("pk"))
    assert [e.message for e in rows] == ["one", "two"]
    assert rows[0].created_at <= rows[1].created_at


def test_deferred_events_of_a_failed_block_are_dropped_and_an_enclosing_block_inserts_the_others():
    incident = _incident()
    before = Event.objects.count()
    with deferring_events():
        record_event(incident, EventVerb.UPDATED, message="kept")
        with pytest.raises(RuntimeError), deferring_events():
            record_event(incident, EventVerb.UPDATED, message="dropped")
            raise RuntimeError("boom")
        with deferring_events():
            record_event(incident, EventVerb.UPDATED, message="kept too")
        assert Event.objects.count() == before  # handed to the outer block
    messages = list(Event.objects.filter(verb=EventVerb.UPDATED).order_by("pk").values_list("message", flat=True))
    assert messages == ["kept", "kept too"]


def test_outside_a_deferring_block_an_event_is_inserted_at_once():
    incident = _incident()
    event = record_event(incident, EventVerb.UPDATED, message="now")
    assert event.pk is not None
    assert Event.objects.get(pk=event.pk).message == "now"


def _savepoints(queries: CaptureQueriesContext) -> int:
    return sum(1 for q in queries.captured_queries if q["sql"].upper().startswith("SAVEPOINT"))


def test_a_service_on_a_held_incident_opens_no_savepoint_of_its_own():
    incident = _incident()
    with transaction.atomic():
        locked = Incident.objects.select_for_update().get(pk=incident.pk)
        with CaptureQueriesContext(connection) as free:
            do_update_incident(locked, actor=None, address="улица Ленина, 5")
        with holding_incident(locked), CaptureQueriesContext(connection) as held:
            do_update_incident(locked, actor=None, address="улица Ленина, 7")
    assert _savepoints(free) == 1
    assert _savepoints(held) == 0
    assert Incident.objects.get(pk=incident.pk).address == "улица Ленина, 7"


def test_an_error_of_a_service_on_a_free_incident_leaves_the_callers_transaction_usable():
    incident = _incident()
    with transaction.atomic():
        with pytest.raises(DomainError):
            do_update_incident(incident, actor=None, status="closed")
        assert Incident.objects.filter(pk=incident.pk).exists()  # no TransactionManagementError


def test_an_error_of_a_service_on_a_held_incident_is_rolled_back_by_the_holders_savepoint():
    incident = _incident()
    with transaction.atomic():
        locked = Incident.objects.select_for_update().get(pk=incident.pk)
        with pytest.raises(DomainError), transaction.atomic(), holding_incident(locked):
            do_update_incident(locked, actor=None, address="улица Мира, 1")  # written, then rolled back
            do_update_incident(locked, actor=None, status="closed")
        assert Incident.objects.get(pk=incident.pk).address == ""
    assert not Event.objects.filter(incident=incident, verb=EventVerb.UPDATED).exists()


def test_an_error_after_events_were_recorded_fails_that_post_only_and_drops_its_events(rules, monkeypatch):
    streets = ["улица Ленина, 5", "улица Мира, 10", "улица Чапаева, 3"]  # three places: no duplicates
    posts = [_post(f"Третий день нет горячей воды, {street}", f"p-{i}") for i, street in enumerate(streets)]
    original = pipeline.do_route

    def failing(incident, **kwargs):
        if incident.pk == posts[1].incident_id:
            raise RuntimeError("boom")  # after do_classify recorded its event
        return original(incident, **kwargs)

    monkeypatch.setattr(pipeline, "do_route", failing)
    outcomes = analyze_batch(posts[0].pk, limit=10)
    assert [outcomes[post.pk] for post in posts] == ["routed", "failed", "routed"]
    assert Post.objects.get(pk=posts[1].pk).analysis_status == AnalysisStatus.FAILED
    assert list(Event.objects.filter(incident_id=posts[1].incident_id).values_list("verb", flat=True)) == [
        EventVerb.CREATED
    ]
    for post in (posts[0], posts[2]):
        verbs = set(Event.objects.filter(incident_id=post.incident_id).values_list("verb", flat=True))
        assert {EventVerb.CREATED, EventVerb.CLASSIFIED} <= verbs


def test_a_reply_in_the_thread_is_analysed_with_the_texts_and_the_topic_of_the_incidents_posts(rules):
    hot_water = Topic.objects.get(name=HOT_WATER)
    first = _post("Здравствуйте, у нас беда", "t-1", author_id="id1", topic=hot_water)
    reply = _post("Третий день нет горячей воды на Ленина 5", "t-2", author_id="id1", thread_id="t-1")
    assert reply.incident_id == first.incident_id
    outcomes = analyze_posts([reply.pk], limit=10)  # the reply alone: the first post's topic still counts
    assert outcomes == {reply.pk: "routed"}
    incident = Incident.objects.get(pk=first.incident_id)
    assert incident.topic_id == hot_water.pk
    assert incident.confidence == 1.0


def test_only_the_post_that_opens_its_incident_makes_it_no_answer(rules, monkeypatch):
    spam = KindResult(kind=PostKind.SPAM.value, negative=0.0)
    monkeypatch.setattr(pipeline, "analyze_kinds", lambda texts: [spam for _text in texts])
    first = _post("Нет горячей воды на Ленина 5, третий день", "s-1", author_id="id1")
    reply = _post("Купите дёшево www.spam.example", "s-2", author_id="id1", thread_id="s-1")
    assert analyze_posts([reply.pk], limit=10)[reply.pk] != "no_answer"
    assert Incident.objects.get(pk=first.incident_id).status != IncidentStatus.NO_ANSWER
    alone = _post("Купите дёшево www.spam.example", "s-3")
    assert analyze_posts([alone.pk], limit=10) == {alone.pk: "no_answer"}


def _email_batches(callbacks) -> list[list[int]]:
    from otklik.notifications.tasks import send_notification_emails

    return [c.args[0] for c in callbacks if getattr(c, "func", None) == send_notification_emails.delay]


def test_the_emails_of_a_batchs_routings_are_one_task_and_a_failed_posts_are_dropped(
    rules, monkeypatch, django_capture_on_commit_callbacks
):
    from otklik.notifications.models import Notification

    streets = ["улица Ленина, 5", "улица Мира, 10", "улица Чапаева, 3"]  # three places: no duplicates
    posts = [_post(f"Третий день нет горячей воды, {street}", f"m-{i}") for i, street in enumerate(streets)]
    original = pipeline.do_route

    def failing_after_routing(incident, **kwargs):
        result = original(incident, **kwargs)  # the notifications of the routing are made, then the post fails
        if incident.pk == posts[1].incident_id:
            raise RuntimeError("boom")
        return result

    monkeypatch.setattr(pipeline, "do_route", failing_after_routing)
    with django_capture_on_commit_callbacks() as callbacks:
        outcomes = analyze_batch(posts[0].pk, limit=10)
    assert [outcomes[post.pk] for post in posts] == ["routed", "failed", "routed"]
    stored = sorted(
        Notification.objects.filter(incident_id__in=[posts[0].incident_id, posts[2].incident_id]).values_list(
            "pk", flat=True
        )
    )
    assert stored, "the routings notify the department"
    assert not Notification.objects.filter(incident_id=posts[1].incident_id).exists()
    # One task for the batch, with exactly the notifications that exist (the failed post's were rolled back).
    assert [sorted(ids) for ids in _email_batches(callbacks)] == [stored]


def test_outside_a_coalescing_block_each_call_enqueues_its_own_task(django_capture_on_commit_callbacks):
    from otklik.notifications.services import coalescing_emails, enqueue_emails

    with django_capture_on_commit_callbacks() as callbacks, transaction.atomic():
        enqueue_emails([1, 2])
        enqueue_emails([3])
    assert _email_batches(callbacks) == [[1, 2], [3]]
    with django_capture_on_commit_callbacks() as callbacks, transaction.atomic(), coalescing_emails():
        enqueue_emails([1, 2])
        with coalescing_emails():
            enqueue_emails([3])
        with pytest.raises(RuntimeError), coalescing_emails():
            enqueue_emails([4])
            raise RuntimeError("dropped")
    assert _email_batches(callbacks) == [[1, 2, 3]]


def test_a_new_incidents_clocks_are_started_without_looking_for_posts_or_clocks():
    from otklik.cases.services import create_incident
    from otklik.sla.models import Clock

    with CaptureQueriesContext(connection) as queries:
        incident = create_incident()
    sql = " ".join(q["sql"] for q in queries.captured_queries)
    assert "intake_post" not in sql  # no channel to look for: the post is attached afterwards
    assert 'FROM "sla_clock"' not in sql.replace('INSERT INTO "sla_clock"', "")  # no open clock to stop
    assert _savepoints(queries) == 0
    assert Clock.objects.filter(incident=incident, state="running").count() >= 1
