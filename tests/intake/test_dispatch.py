"""One analysis message for many posts (otklik.intake.dispatch and the analyze_post task): posts arriving while a
message is queued send none, and every post is analysed all the same — a batch's continuation, a post committed
out of order, a stale or failed ticket, a lost message (the sweep), a redelivered message."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
from django.conf import settings
from django.db import transaction
from django.utils import timezone

from otklik.cases.models import Assignment, Event
from otklik.intake import dispatch
from otklik.intake.choices import AnalysisStatus
from otklik.intake.dispatch import dispatching_together, request_analysis
from otklik.intake.models import AnalysisTicket, Post
from otklik.intake.services import default_source, do_ingest_post
from otklik.intake.tasks import analyze_post as analyze_task
from otklik.nlp import pipeline
from otklik.nlp.base import reset_classifier
from otklik.nlp.pipeline import sweep_unanalyzed
from otklik.ops.models import TaskRun
from otklik.ops.recording import run_key
from otklik.org.models import RoutingRule, Topic, TopicGroup

pytestmark = pytest.mark.django_db

TEXTS = [
    "Третий день нет горячей воды на Ленина 5",
    "Лифт не работает в доме на улице Мира 10, пожилые не могут выйти",
    "Нет горячей воды в доме на улице Мира 10, дети не могут помыться",
    "Мусор не вывозят неделю, контейнеры переполнены",
    "Прорвало трубу в подвале дома на Садовой 3, всё залито",
    "Во дворе на Гагарина 7 не горят фонари",
    "Холодные батареи в квартире на Ленина 12",
    "Течёт крыша в подъезде на Мира 4",
]


@pytest.fixture(autouse=True)
def _fresh_classifier():
    reset_classifier()
    yield
    reset_classifier()


@pytest.fixture
def rules(reference, housing, executor, dept_head):
    hot_water = Topic.objects.get(name="Отсутствие горячей воды")
    RoutingRule.objects.create(name="ГВС", topic=hot_water, lead=housing, due_hours=Decimal(4))
    RoutingRule.objects.create(name="ЖКХ", group=TopicGroup.objects.get(name="ЖКХ"), lead=housing)


class Broker:
    """Stands for the queue: `analyze_post.delay` puts the message here; `deliver` runs the queued ones in order
    (as a worker would, each run may queue more)."""

    def __init__(self) -> None:
        self.queue: list[int] = []
        self.sent: list[int] = []
        self.countdowns: list[float | None] = []

    def delay(self, post_id: int) -> None:
        self.apply_async((post_id,))

    def apply_async(self, args: tuple[int], countdown: float | None = None) -> None:
        self.queue.append(args[0])
        self.sent.append(args[0])
        self.countdowns.append(countdown)

    def deliver(self, limit: int = 100) -> list[str]:
        results = []
        while self.queue and limit:
            limit -= 1
            results.append(analyze_task.apply((self.queue.pop(0),)).get())
        return results


@pytest.fixture
def broker(monkeypatch):
    broker = Broker()
    monkeypatch.setattr(analyze_task, "delay", broker.delay)
    monkeypatch.setattr(analyze_task, "apply_async", broker.apply_async)
    return broker


def ingest(django_capture_on_commit_callbacks, text: str, external_id: str) -> Post:
    with django_capture_on_commit_callbacks(execute=True):
        return do_ingest_post(
            source=default_source("vk"), external_id=external_id, text=text, posted_at=timezone.now()
        ).post


def pending() -> int:
    return Post.objects.filter(analysis_status=AnalysisStatus.PENDING).count()


def test_posts_arriving_while_a_message_is_queued_send_none_and_are_all_analysed(
    rules, broker, django_capture_on_commit_callbacks
):
    posts = [ingest(django_capture_on_commit_callbacks, text, f"p-{i}") for i, text in enumerate(TEXTS[:5])]
    assert broker.sent == [posts[0].pk]  # one message: the others found it queued
    ticket = AnalysisTicket.objects.get()
    assert ticket.from_post_id == posts[0].pk
    assert broker.deliver() == ["routed"]
    assert pending() == 0
    assert AnalysisTicket.objects.get().from_post_id is None  # taken by the worker
    # After the worker took it, the next post sends a message again.
    later = [ingest(django_capture_on_commit_callbacks, text, f"q-{i}") for i, text in enumerate(TEXTS[5:7])]
    assert broker.sent == [posts[0].pk, later[0].pk]
    broker.deliver()
    assert pending() == 0
    # One incident, one assignment, one "created" event per post: nothing analysed twice.
    for post in Post.objects.select_related("incident").filter(pk__in=[p.pk for p in [*posts, *later]]):
        assert Event.objects.filter(incident=post.incident, verb="created").count() == 1
        assert Assignment.objects.filter(incident=post.incident, role="lead").count() <= 1


def test_more_posts_than_a_batch_are_continued_before_the_batch_runs(
    rules, broker, settings, monkeypatch, django_capture_on_commit_callbacks
):
    settings.OTKLIK_ANALYSIS_BATCH = 3
    posts = [ingest(django_capture_on_commit_callbacks, text, f"p-{i}") for i, text in enumerate(TEXTS)]
    assert broker.sent == [posts[0].pk]
    order: list[str] = []
    real_batch = pipeline.analyze_batch

    def batch(post_id: int, limit: int | None = None) -> dict[int, str]:
        order.append(f"batch {post_id} (queued: {list(broker.queue)})")
        return real_batch(post_id, limit)

    monkeypatch.setattr(pipeline, "analyze_batch", batch)
    broker.deliver()
    assert pending() == 0
    # 8 posts in batches of 3: three messages, each continuation queued before the batch that precedes it ran.
    assert broker.sent == [posts[0].pk, posts[3].pk, posts[6].pk]
    assert order == [
        f"batch {posts[0].pk} (queued: [{posts[3].pk}])",
        f"batch {posts[3].pk} (queued: [{posts[6].pk}])",
        f"batch {posts[6].pk} (queued: [])",
    ]


def test_a_post_committed_below_the_armed_ticket_sends_its_own_message(rules, broker):
    AnalysisTicket.objects.create(pk=1, from_post_id=1000, armed_at=timezone.now())
    assert request_analysis([999]) is True  # the queued message starts at 1000: it would not take 999
    assert request_analysis([1000]) is False
    assert request_analysis([1500, 1001]) is False
    assert broker.sent == [999]
    assert AnalysisTicket.objects.get().from_post_id == 1000  # not moved by the one below it


def test_a_stale_ticket_is_armed_again(rules, broker):
    AnalysisTicket.objects.create(
        pk=1, from_post_id=10, armed_at=timezone.now() - dispatch.TICKET_STALE - dt.timedelta(seconds=1)
    )
    assert request_analysis([50]) is True
    ticket = AnalysisTicket.objects.get()
    assert ticket.from_post_id == 50
    assert request_analysis([51]) is False
    assert broker.sent == [50]


def test_a_failed_publish_disarms_the_ticket(rules, monkeypatch, django_capture_on_commit_callbacks):
    def broker_down(*args: object, **kwargs: object) -> None:
        raise ConnectionError("the broker is away")

    monkeypatch.setattr(analyze_task, "apply_async", broker_down)
    with pytest.raises(ConnectionError):
        request_analysis([7])
    assert AnalysisTicket.objects.get().from_post_id is None
    sent: list[tuple[tuple[int], float]] = []
    monkeypatch.setattr(analyze_task, "apply_async", lambda args, countdown: sent.append((args, countdown)))
    assert request_analysis([8]) is True
    assert sent == [((8,), settings.OTKLIK_ANALYSIS_GATHER_SECONDS)]


def test_intakes_message_waits_to_gather_the_posts_and_the_workers_continuation_does_not(
    rules, broker, django_capture_on_commit_callbacks, settings
):
    settings.OTKLIK_ANALYSIS_BATCH = 2
    posts = [ingest(django_capture_on_commit_callbacks, text, f"g-{i}") for i, text in enumerate(TEXTS[:5])]
    assert broker.countdowns == [settings.OTKLIK_ANALYSIS_GATHER_SECONDS]  # one message, waiting to gather
    assert settings.OTKLIK_ANALYSIS_GATHER_SECONDS > 0
    broker.deliver()
    assert broker.sent[0] == posts[0].pk
    # The continuations: at once while a whole batch more waits (5 posts, batches of 2), then gathering.
    assert broker.countdowns[1:] == [None, settings.OTKLIK_ANALYSIS_GATHER_SECONDS]
    assert pending() == 0


def test_no_gathering_sends_at_once(rules, broker, django_capture_on_commit_callbacks, settings):
    settings.OTKLIK_ANALYSIS_GATHER_SECONDS = 0
    ingest(django_capture_on_commit_callbacks, TEXTS[0], "now-1")
    assert broker.countdowns == [None]


def test_a_lost_message_is_recovered_by_the_sweep(rules, broker, django_capture_on_commit_callbacks, monkeypatch):
    posts = [ingest(django_capture_on_commit_callbacks, text, f"p-{i}") for i, text in enumerate(TEXTS[:4])]
    assert len(broker.sent) == 1
    broker.queue.clear()  # the broker lost it
    assert pending() == 4
    Post.objects.filter(pk__in=[p.pk for p in posts]).update(created_at=timezone.now() - dt.timedelta(minutes=10))
    assert sweep_unanalyzed() == 4  # eager: analysed at once by analyze_stale_posts
    assert pending() == 0


def test_a_redelivered_message_runs_again_and_changes_nothing(rules, broker, django_capture_on_commit_callbacks):
    posts = [ingest(django_capture_on_commit_callbacks, text, f"p-{i}") for i, text in enumerate(TEXTS[:3])]
    assert broker.deliver() == ["routed"]
    counts = (Assignment.objects.count(), Event.objects.count())
    assert analyze_task.apply((posts[0].pk,)).get() == "skipped"  # the same message again: nothing left to claim
    assert (Assignment.objects.count(), Event.objects.count()) == counts
    run = TaskRun.objects.get(key=run_key("otklik.intake.tasks.analyze_post", (posts[0].pk,), {}))
    assert run.status == "done"


def test_a_post_the_batch_left_behind_is_handed_to_the_ticket_again(rules, broker, settings, monkeypatch):
    """A post committed late with a lower id than the batch's others can be left out of a full batch: the task
    hands it to the ticket after its batch."""
    settings.OTKLIK_ANALYSIS_BATCH = 2
    source = default_source("vk")
    posts = [
        do_ingest_post(source=source, external_id=f"p-{i}", text=text, posted_at=timezone.now()).post
        for i, text in enumerate(TEXTS[:4])
    ]
    real_batch = pipeline.analyze_batch

    def batch_that_misses_the_first(post_id: int, limit: int | None = None) -> dict[int, str]:
        # As if posts[0] had been committed only after the batch's SELECT: the batch took posts[1] and posts[2].
        outcomes = real_batch(posts[1].pk, limit)
        outcomes.setdefault(post_id, "skipped")
        return outcomes

    monkeypatch.setattr(pipeline, "analyze_batch", batch_that_misses_the_first)
    assert analyze_task.apply((posts[0].pk,)).get() == "skipped"
    # The continuation (posts[2], the third pending at the start) and then posts[0], below the armed ticket.
    assert broker.sent == [posts[2].pk, posts[0].pk]
    monkeypatch.setattr(pipeline, "analyze_batch", real_batch)
    broker.deliver()
    assert pending() == 0


def test_posts_ingested_together_are_handed_over_once_after_commit(rules, broker, django_capture_on_commit_callbacks):
    source = default_source("vk")
    with django_capture_on_commit_callbacks(execute=True) as callbacks, transaction.atomic(), dispatching_together():
        posts = [
            do_ingest_post(source=source, external_id=f"p-{i}", text=text, posted_at=timezone.now()).post
            for i, text in enumerate(TEXTS[:5])
        ]
        assert broker.sent == []  # nothing before the commit
    assert len(callbacks) == 1
    assert broker.sent == [posts[0].pk]
    broker.deliver()
    assert pending() == 0


def test_posts_of_a_rolled_back_block_are_not_handed_over(rules, broker, django_capture_on_commit_callbacks):
    source = default_source("vk")
    with (
        django_capture_on_commit_callbacks(execute=True) as callbacks,
        pytest.raises(RuntimeError),
        transaction.atomic(),
        dispatching_together(),
    ):
        do_ingest_post(source=source, external_id="gone", text=TEXTS[0], posted_at=timezone.now())
        raise RuntimeError("the poll failed")
    assert callbacks == []
    assert broker.sent == []
    assert not Post.objects.exists()
