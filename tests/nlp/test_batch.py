"""The batch analysis (otklik.nlp.pipeline.analyze_batch / analyze_posts, the analyze_post task): the same work as
one post at a time, idempotent, safe against redelivery and dead workers."""

from __future__ import annotations

import datetime as dt
import threading
from decimal import Decimal

import pytest
from django.db import connection, connections, transaction
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from otklik.cases.choices import EventVerb, IncidentStatus
from otklik.cases.models import Assignment, Event, Incident
from otklik.cases.services import deferring_events, do_update_incident, holding_incident, record_event
from otklik.core.errors import DomainError
from otklik.intake.choices import AnalysisStatus, PostKind
from otklik.intake.models import Post
from otklik.intake.services import default_source, do_ingest_post
from otklik.intake.tasks import analyze_post as analyze_task
from otklik.nlp import pipeline
from otklik.nlp.base import get_classifier, reset_classifier
from otklik.nlp.corpus import load as corpus_load
from otklik.nlp.kind import KindResult, analyze_kind, analyze_kinds
from otklik.nlp.pipeline import analyze_batch, analyze_post, analyze_posts, sweep_unanalyzed
from otklik.notifications.models import Notification
from otklik.ops.models import TaskRun, TaskRunStatus
from otklik.ops.recording import run_key
from otklik.org.models import RoutingRule, Topic, TopicGroup

pytestmark = pytest.mark.django_db

HOT_WATER = "Отсутствие горячей воды"
TEXTS = [
    "Третий день нет горячей воды на Ленина 5",
    "В поликлинике очередь к терапевту на три часа",
    "Когда это всё закончится? Сил никаких нет",
    "Лифт не работает в доме на улице Мира 10, пожилые не могут выйти",
    "Яма на дороге на Чапаева, машины бьют колёса",
    "Спасибо коммунальщикам, быстро починили трубу!",
    "Нет горячей воды в доме на улице Мира 10, дети не могут помыться",
    "Мусор не вывозят неделю, контейнеры переполнены",
]


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


def _state(posts: list[Post]) -> list[tuple]:
    """What the analysis left, per post in order, without ids that differ between two databases' histories."""
    out = []
    for post in posts:
        post = Post.objects.select_related("incident").get(pk=post.pk)
        incident = post.incident
        out.append(
            (
                post.analysis_status,
                post.kind,
                post.negative,
                incident.status,
                incident.topic_id,
                incident.group_id,
                round(incident.confidence or 0, 6),  # the encoder batched: equal to ~1e-8
                incident.lead_department_id,
                incident.territory_id,
                incident.address,
                incident.status_note,
                sorted(Event.objects.filter(incident=incident).values_list("verb", flat=True)),
                Notification.objects.filter(incident=incident).count(),
                posts.index(next(p for p in posts if p.incident_id == post.incident_id)),  # merged into whom
            )
        )
    return out


def test_the_batch_leaves_what_one_post_at_a_time_leaves(rules):
    texts = [*TEXTS, *(row.text for row in corpus_load()[:24])]
    with transaction.atomic():
        one_by_one = [_post(text, f"a-{i}") for i, text in enumerate(texts)]
        outcomes_single = [analyze_post(post.pk) for post in one_by_one]
        expected = _state(one_by_one)
        transaction.set_rollback(True)
    batch = [_post(text, f"b-{i}") for i, text in enumerate(texts)]
    outcomes = analyze_batch(batch[0].pk, limit=len(batch))
    assert [outcomes[post.pk] for post in batch] == outcomes_single
    assert _state(batch) == expected
    assert {"routed", "triage"} <= set(outcomes_single)  # the texts take the main paths


def test_batched_models_answer_as_one_by_one():
    texts = [row.text for row in corpus_load()[:40]] + ["", "!!!", "бла бла бла купить дёшево www.spam.example"]
    assert analyze_kinds(texts) == [analyze_kind(text) for text in texts]
    classifier = get_classifier()
    many = classifier.classify_many(texts)
    for text, got in zip(texts, many, strict=True):
        one = classifier.classify(text)
        assert (got.topic_name, got.group_name) == (one.topic_name, one.group_name)
        assert got.confidence == pytest.approx(one.confidence, abs=1e-6)  # the sentence encoder, batched


def test_running_the_same_batch_twice_changes_nothing(rules):
    posts = [_post(text, f"p-{i}") for i, text in enumerate(TEXTS)]
    first = analyze_batch(posts[0].pk, limit=50)
    assert set(first) == {post.pk for post in posts}
    assert "skipped" not in first.values()
    counts = (Assignment.objects.count(), Event.objects.count(), Notification.objects.count())
    state = _state(posts)
    assert set(analyze_batch(posts[0].pk, limit=50).values()) == {"skipped"}
    assert analyze_posts([post.pk for post in posts]) == dict.fromkeys((post.pk for post in posts), "skipped")
    assert (Assignment.objects.count(), Event.objects.count(), Notification.objects.count()) == counts
    assert _state(posts) == state


def test_a_batch_takes_the_post_and_the_ones_after_it_up_to_the_limit(rules):
    older = _post(TEXTS[0], "older")  # its own message is elsewhere (or lost: the sweep's)
    posts = [_post(text, f"p-{i}") for i, text in enumerate(TEXTS[1:6])]
    outcomes = analyze_batch(posts[0].pk, limit=3)
    assert list(outcomes) == [post.pk for post in posts[:3]]
    statuses = {p.pk: p.analysis_status for p in Post.objects.all()}
    assert statuses[older.pk] == AnalysisStatus.PENDING
    assert [statuses[p.pk] for p in posts] == ["done", "done", "done", "pending", "pending"]


def test_an_error_in_one_post_fails_that_post_only(rules, monkeypatch):
    posts = [_post(text, f"p-{i}") for i, text in enumerate(TEXTS[:3])]
    original = pipeline._analyze

    def broken_for_the_second(post, result):
        outcome = original(post, result)
        if post.pk == posts[1].pk:
            raise ValueError("boom")
        return outcome

    monkeypatch.setattr(pipeline, "_analyze", broken_for_the_second)
    outcomes = analyze_batch(posts[0].pk, limit=10)
    assert [outcomes[p.pk] for p in posts] == ["routed", "failed", "triage"]
    second = Post.objects.select_related("incident").get(pk=posts[1].pk)
    assert second.analysis_status == AnalysisStatus.FAILED
    assert second.incident.status == "new" and second.incident.topic is None  # its work rolled back
    assert not Event.objects.filter(incident=second.incident).exclude(verb="created").exists()
    assert analyze_batch(posts[1].pk, limit=10) == {posts[1].pk: "skipped"}  # no loop


def test_the_sweep_takes_a_post_whose_message_was_recorded_without_analysing_it(rules):
    post = _post(TEXTS[0], "lost")
    # Its message found it locked by a batch whose worker then died: recorded as done ("skipped"), still pending.
    TaskRun.objects.create(
        name="otklik.intake.tasks.analyze_post",
        key=run_key("otklik.intake.tasks.analyze_post", (post.pk,), {}),
        status=TaskRunStatus.DONE,
        attempts=1,
        result="skipped",
    )
    Post.objects.filter(pk=post.pk).update(created_at=timezone.now() - dt.timedelta(minutes=10))
    assert sweep_unanalyzed() == 1  # eager: analysed at once
    post.refresh_from_db()
    assert post.analysis_status == AnalysisStatus.DONE
    assert post.incident.status == "routed"


def test_batch_size_one_is_the_post_alone(rules, settings):
    settings.OTKLIK_ANALYSIS_BATCH = 1
    posts = [_post(text, f"p-{i}") for i, text in enumerate(TEXTS[:3])]
    assert analyze_batch(posts[0].pk) == {posts[0].pk: "routed"}
    assert Post.objects.filter(analysis_status=AnalysisStatus.PENDING).count() == 2


@pytest.mark.django_db(transaction=True)
def test_a_post_locked_by_a_dead_worker_is_taken_when_its_session_ends(rules, monkeypatch):
    """PostgreSQL: a post locked by another worker's open batch is skipped (SKIP LOCKED), never waited for and never
    analysed twice; when that worker dies (its session ends, the transaction rolls back) the redelivered message
    takes it."""
    if not connection.features.has_select_for_update_skip_locked:
        pytest.skip("SKIP LOCKED is PostgreSQL's; SQLite serialises the batches with its write lock")
    # Commits are real here: no message is sent.
    monkeypatch.setattr(analyze_task, "delay", lambda *args, **kwargs: None)
    monkeypatch.setattr(analyze_task, "apply_async", lambda *args, **kwargs: None)
    posts = [_post(text, f"p-{i}") for i, text in enumerate(TEXTS[:4])]
    assert Post.objects.filter(analysis_status=AnalysisStatus.PENDING).count() == 4
    locked, release = threading.Event(), threading.Event()

    def dead_worker() -> None:
        try:
            with transaction.atomic():
                list(Post.objects.filter(pk__in=[posts[0].pk, posts[1].pk]).select_for_update())
                locked.set()
                release.wait(30)
                transaction.set_rollback(True)  # the worker dies: nothing of its batch is committed
        finally:
            connections.close_all()

    thread = threading.Thread(target=dead_worker)
    thread.start()
    try:
        assert locked.wait(30)
        # Another worker gets the second post's message: its post is locked, the posts after it are taken.
        outcomes = analyze_batch(posts[1].pk, limit=10)
        assert outcomes[posts[1].pk] == "skipped"
        assert set(outcomes) == {posts[1].pk, posts[2].pk, posts[3].pk}
        assert Post.objects.get(pk=posts[0].pk).analysis_status == AnalysisStatus.PENDING
    finally:
        release.set()
        thread.join(30)
    # The dead worker's message is delivered again: its post and the one it had locked are analysed now.
    assert analyze_batch(posts[0].pk, limit=10) == {posts[0].pk: "routed", posts[1].pk: "triage"}
    assert Post.objects.filter(analysis_status=AnalysisStatus.PENDING).count() == 0
    for post in Post.objects.filter(pk__in=[p.pk for p in posts]).select_related("incident"):
        assert Event.objects.filter(incident=post.incident, verb="classified").count() <= 1
        assert Assignment.objects.filter(incident=post.incident, role="lead").count() == (
            1 if post.incident.status == "routed" else 0
        )


# --- the lean parts (issue 9): events and e-mails written together, no savepoint of a service on a held incident,
# no query for the posts of an incident that has only the analysed one — with the same results as before.


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


def _incident_updates(queries: CaptureQueriesContext) -> list[str]:
    return [q["sql"] for q in queries.captured_queries if q["sql"].startswith('UPDATE "cases_incident"')]


def test_the_analysis_writes_the_incidents_row_once_with_everything_its_services_changed(rules):
    post = _post("Третий день нет горячей воды, улица Ленина, 5", "one-update")
    with CaptureQueriesContext(connection) as queries:
        assert analyze_post(post.pk) == "routed"
    updates = [sql for sql in _incident_updates(queries) if '"due_at" = %s WHERE' not in sql]  # the SLA hook's own
    assert len(updates) == 1
    incident = Incident.objects.get(pk=post.incident_id)
    assert incident.status == IncidentStatus.ROUTED
    assert incident.topic is not None and incident.lead_department is not None
    assert incident.address == "улица Ленина, 5"
    assert incident.updated_at > incident.created_at


def test_holding_with_one_update_writes_the_gathered_fields_at_the_end_and_nothing_after_an_error():
    incident = _incident()
    with transaction.atomic():
        locked = Incident.objects.select_for_update().get(pk=incident.pk)
        with CaptureQueriesContext(connection) as queries, holding_incident(locked, one_update=True):
            do_update_incident(locked, actor=None, address="улица Мира, 1")
            do_update_incident(locked, actor=None, territory=None, address="улица Мира, 2")
            assert Incident.objects.get(pk=incident.pk).address == ""  # not written yet
        assert len(_incident_updates(queries)) == 1
    assert Incident.objects.get(pk=incident.pk).address == "улица Мира, 2"

    with transaction.atomic():
        locked = Incident.objects.select_for_update().get(pk=incident.pk)
        with pytest.raises(DomainError), transaction.atomic(), holding_incident(locked, one_update=True):
            do_update_incident(locked, actor=None, address="улица Мира, 3")
            do_update_incident(locked, actor=None, status="closed")
    assert Incident.objects.get(pk=incident.pk).address == "улица Мира, 2"
