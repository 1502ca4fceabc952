"""The batch analysis (otklik.nlp.pipeline.analyze_batch / analyze_posts, the analyze_post task): the same work as
one post at a time, idempotent, safe against redelivery and dead workers."""

from __future__ import annotations

import datetime as dt
import threading
from decimal import Decimal

import pytest
from django.db import connection, connections, transaction
from django.utils import timezone

from otklik.cases.models import Assignment, Event
from otklik.intake.choices import AnalysisStatus
from otklik.intake.models import Post
from otklik.intake.services import default_source, do_ingest_post
from otklik.intake.tasks import analyze_post as analyze_task
from otklik.nlp import pipeline
from otklik.nlp.base import get_classifier, reset_classifier
from otklik.nlp.corpus import load as corpus_load
from otklik.nlp.kind import analyze_kind, analyze_kinds
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


def test_the_task_records_the_posts_of_its_batch_and_their_messages_do_nothing(rules, monkeypatch):
    posts = [_post(text, f"p-{i}") for i, text in enumerate(TEXTS[:4])]
    # A run of the third post's message was killed before (its row is left "running").
    TaskRun.objects.create(
        name="otklik.intake.tasks.analyze_post",
        key=run_key("otklik.intake.tasks.analyze_post", (posts[2].pk,), {}),
        status=TaskRunStatus.RUNNING,
        attempts=1,
    )
    assert analyze_task.delay(posts[0].pk).get() == "routed"
    runs = {run.key: run for run in TaskRun.objects.filter(name="otklik.intake.tasks.analyze_post")}
    for post in posts:
        run = runs[run_key("otklik.intake.tasks.analyze_post", (post.pk,), {})]
        assert run.status == TaskRunStatus.DONE
        assert run.result in {"routed", "triage"}
    assert runs[run_key("otklik.intake.tasks.analyze_post", (posts[2].pk,), {})].attempts == 2
    counts = (Assignment.objects.count(), Event.objects.count(), Notification.objects.count())

    def must_not_run(*args, **kwargs):
        raise AssertionError("the body ran again")

    monkeypatch.setattr(pipeline, "_run_batch", must_not_run)
    for post in posts[1:]:  # their own messages come later
        assert analyze_task.delay(post.pk).get() in {"routed", "triage"}
    assert (Assignment.objects.count(), Event.objects.count(), Notification.objects.count()) == counts


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
    monkeypatch.setattr(analyze_task, "delay_on_commit", lambda *args, **kwargs: None)  # commits are real here
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
