"""The batch analysis and the SLA clocks: the clocks of the assignments a batch's routings create are inserted in one
statement (otklik.sla.clocks.deferring_clocks), and the answer clocks of its incidents are read in one query
(otklik.sla.hooks.answer_clocks_of) — leaving the clocks that one post at a time leaves."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
from django.db import connection, transaction
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from otklik.cases.models import Incident
from otklik.cases.services import create_incident
from otklik.intake.models import Post
from otklik.intake.services import default_source, do_ingest_post
from otklik.nlp import pipeline
from otklik.nlp.base import reset_classifier
from otklik.nlp.corpus import load as corpus_load
from otklik.nlp.pipeline import analyze_batch, analyze_post
from otklik.org.models import RoutingRule, Topic, TopicGroup
from otklik.sla import hooks as sla_hooks
from otklik.sla.choices import ClockKind
from otklik.sla.clocks import deferring_clocks, do_start_clock
from otklik.sla.models import Clock, SlaPolicy

pytestmark = pytest.mark.django_db

HOT_WATER = "Отсутствие горячей воды"
TEXTS = [
    "Третий день нет горячей воды на Ленина 5",
    "В поликлинике очередь к терапевту на три часа",
    "Лифт не работает в доме на улице Мира 10, пожилые не могут выйти",
    "Яма на дороге на Чапаева, машины бьют колёса",
    "Нет горячей воды в доме на улице Мира 10, дети не могут помыться",
    "Мусор не вывозят неделю, контейнеры переполнены",
    "Когда это всё закончится? Сил никаких нет",
]


@pytest.fixture(autouse=True)
def _fresh_classifier():
    reset_classifier()
    yield
    reset_classifier()


@pytest.fixture
def rules(reference, housing, roads, executor, dept_head):
    hot_water = Topic.objects.get(name=HOT_WATER)
    housing_group = TopicGroup.objects.get(name="ЖКХ")
    RoutingRule.objects.create(name="ГВС", topic=hot_water, lead=housing, due_hours=Decimal(4))
    rule = RoutingRule.objects.create(name="ЖКХ", group=housing_group, lead=housing)
    rule.co_executors.add(roads)  # two assignments, two clocks per routing
    # Policies that change the answer clock when the incident is classified (restarted by do_classify's hook),
    # one of them in calendar time.
    SlaPolicy.objects.create(name="ЖКХ", group=housing_group, answer_hours=Decimal(5), assignment_hours=Decimal(3))
    SlaPolicy.objects.create(name="ГВС", topic=hot_water, answer_hours=Decimal(12), calendar_time=True)


def _post(text: str, external_id: str) -> Post:
    return do_ingest_post(
        source=default_source("vk"), external_id=external_id, text=text, posted_at=timezone.now()
    ).post


def _clocks(posts: list[Post]) -> list[list[tuple]]:
    """Each post's incident's clocks, without ids and moments that differ between two runs."""
    out = []
    for post in posts:
        incident = Incident.objects.get(posts__pk=post.pk)
        rows = []
        for clock in Clock.objects.filter(incident=incident).select_related("assignment", "policy"):
            assignment = clock.assignment
            rows.append(
                (
                    clock.kind,
                    clock.state,
                    assignment.department_id if assignment else None,
                    assignment.role if assignment else None,
                    clock.policy.name if clock.policy else None,
                    # An assignment's clock runs to its due time: its hours, measured from its creation, drift
                    # with the time of the run outside working hours.
                    None if assignment else clock.hours,
                    clock.calendar_time,
                    clock.due_at == assignment.due_at if assignment else clock.due_at == incident.due_at,
                    clock.warn_at <= clock.due_at <= clock.long_due_at,
                )
            )
        out.append(sorted(rows, key=repr))
    return out


def test_the_batch_leaves_the_clocks_one_post_at_a_time_leaves(rules):
    texts = [*TEXTS, *(row.text for row in corpus_load()[:16])]
    with transaction.atomic():
        one_by_one = [_post(text, f"a-{i}") for i, text in enumerate(texts)]
        outcomes_single = [analyze_post(post.pk) for post in one_by_one]
        expected = _clocks(one_by_one)
        transaction.set_rollback(True)
    batch = [_post(text, f"b-{i}") for i, text in enumerate(texts)]
    outcomes = analyze_batch(batch[0].pk, limit=len(batch))
    assert [outcomes[post.pk] for post in batch] == outcomes_single
    assert _clocks(batch) == expected
    flat = [row for rows in expected for row in rows]
    assert any(row[0] == ClockKind.ASSIGNMENT for row in flat)  # routings with their clocks
    assert any(row[0] == ClockKind.ANSWER and row[1] == "stopped" for row in flat)  # restarted answer clocks
    assert any(row[4] == "ГВС" for row in flat) and any(row[4] == "ЖКХ" for row in flat)


def test_a_batch_inserts_its_assignments_clocks_at_once_and_reads_its_answer_clocks_at_once(rules):
    texts = [*TEXTS, *(row.text for row in corpus_load()[:16])]
    posts = [_post(text, f"p-{i}") for i, text in enumerate(texts)]
    with CaptureQueriesContext(connection) as queries:
        outcomes = analyze_batch(posts[0].pk, limit=len(posts))
    assert list(outcomes.values()).count("routed") >= 3
    sqls = [q["sql"] for q in queries.captured_queries]
    inserts = [sql for sql in sqls if sql.startswith('INSERT INTO "sla_clock"')]
    assigned = Clock.objects.filter(incident__posts__in=posts, kind=ClockKind.ASSIGNMENT).count()
    restarted = Clock.objects.filter(incident__posts__in=posts, kind=ClockKind.ANSWER, state="stopped").count()
    assert assigned >= 6 and restarted >= 1
    # The assignments' clocks in one statement; the restarted answer clocks one by one (as before).
    assert len(inserts) == 1 + restarted
    answer_reads = [sql for sql in sqls if sql.startswith("SELECT") and 'FROM "sla_clock"' in sql]
    # One read of the batch's answer clocks, plus the locked read of the clocks of each answer clock restarted and
    # of each incident merged (its clocks stop; the same read gives its judgement, `late_from` and `deadline_met`):
    # none for the answer clocks of the others.
    merged = list(outcomes.values()).count("merged")
    assert len(answer_reads) == 1 + restarted + merged


def test_a_clock_read_by_the_batch_is_not_trusted_when_the_incident_changed_since(rules, monkeypatch):
    posts = [_post(text, f"p-{i}") for i, text in enumerate(TEXTS)]
    real = sla_hooks.answer_clocks_of

    def stale(incident_ids):
        # What another transaction's change would leave: a clock that is not the incident's any more, read before
        # the incident was saved (its updated_at then).
        out = {}
        for pk, (updated_at, clock) in real(incident_ids).items():
            clock.policy_id = None
            clock.hours = Decimal("999")
            out[pk] = (updated_at - dt.timedelta(seconds=1), clock)
        return out

    with transaction.atomic():
        expected_outcomes = analyze_batch(posts[0].pk, limit=len(posts))
        expected = _clocks(posts)
        transaction.set_rollback(True)
    monkeypatch.setattr(sla_hooks, "answer_clocks_of", stale)
    assert analyze_batch(posts[0].pk, limit=len(posts)) == expected_outcomes
    assert _clocks(posts) == expected


def test_a_clock_read_by_the_batch_is_used_when_the_incident_is_unchanged(rules, monkeypatch):
    """The other side of the test above: the batch's reading is what the hook compares with (so that test can fail)."""
    posts = [_post(TEXTS[0], "p-0"), _post(TEXTS[4], "p-1")]
    real = sla_hooks.answer_clocks_of

    def same_as_policy(incident_ids):
        out = {}
        for pk, (updated_at, clock) in real(incident_ids).items():
            policy = SlaPolicy.objects.get(name="ГВС")  # what the hot-water incidents get: no restart then
            clock.policy_id, clock.hours, clock.calendar_time = policy.pk, policy.answer_hours, policy.calendar_time
            out[pk] = (updated_at, clock)
        return out

    monkeypatch.setattr(sla_hooks, "answer_clocks_of", same_as_policy)
    outcomes = analyze_batch(posts[0].pk, limit=2)
    assert set(outcomes.values()) == {"routed"}
    incidents = Incident.objects.filter(posts__in=posts)
    assert set(incidents.values_list("topic__name", flat=True)) == {HOT_WATER}
    # The hook believed the clocks already ran under the policy: the answer clocks were not restarted.
    assert not Clock.objects.filter(incident__in=incidents, kind=ClockKind.ANSWER, state="stopped").exists()


def test_deferred_clocks_are_inserted_at_the_end_and_a_failed_blocks_are_dropped():
    first, second = create_incident(), create_incident()
    before = Clock.objects.count()
    with CaptureQueriesContext(connection) as queries, deferring_clocks():
        clock = do_start_clock(ClockKind.FIRST_ANSWER, incident=first, hours=2, new_target=True)
        assert clock.pk is None
        with pytest.raises(RuntimeError), deferring_clocks():
            do_start_clock(ClockKind.FIRST_ANSWER, incident=second, hours=2, new_target=True)
            raise RuntimeError("dropped")
        do_start_clock(ClockKind.FIRST_ANSWER, incident=second, hours=3, new_target=True)
    inserts = [q["sql"].startswith('INSERT INTO "sla_clock"') for q in queries.captured_queries]
    assert inserts.count(True) == 1 and inserts[-1]  # one statement, when the block ends
    assert Clock.objects.count() == before + 2
    created = list(Clock.objects.filter(kind=ClockKind.FIRST_ANSWER).order_by("pk").values_list("incident", "hours"))
    assert created == [(first.pk, Decimal("2.00")), (second.pk, Decimal("3.00"))]


def test_outside_a_deferring_block_and_for_an_existing_target_a_clock_is_inserted_at_once():
    incident = create_incident()
    with deferring_clocks():
        clock = do_start_clock(ClockKind.ANSWER, incident=incident, hours=4)  # not new: stops the open one first
        assert clock.pk is not None
    assert do_start_clock(ClockKind.FIRST_ANSWER, incident=incident, hours=1, new_target=True).pk is not None
    assert Clock.objects.filter(incident=incident, kind=ClockKind.ANSWER, state="running").count() == 1


def test_a_single_post_batch_reads_no_answer_clocks_ahead(rules, monkeypatch):
    post = _post(TEXTS[0], "one")
    called = []
    monkeypatch.setattr(sla_hooks, "answer_clocks_of", lambda ids: called.append(ids) or {})
    assert pipeline.analyze_batch(post.pk, limit=5) == {post.pk: "routed"}
    assert called == []


def test_the_batch_is_claimed_in_one_statement_and_a_failed_post_is_left_as_one_by_one_leaves_it(rules, monkeypatch):
    texts = TEXTS[:5]
    real = pipeline._analyze_incident

    def failing(post, result, incident):
        if "Лифт" in post.text:
            raise RuntimeError("boom")
        return real(post, result, incident)

    monkeypatch.setattr(pipeline, "_analyze_incident", failing)

    def state(posts):
        return [Post.objects.filter(pk=p.pk).values_list("analysis_status", "kind", "negative").get() for p in posts]

    with transaction.atomic():
        one_by_one = [_post(text, f"a-{i}") for i, text in enumerate(texts)]
        outcomes_single = [analyze_post(post.pk) for post in one_by_one]
        expected = state(one_by_one)
        transaction.set_rollback(True)
    assert outcomes_single.count("failed") == 1
    batch = [_post(text, f"b-{i}") for i, text in enumerate(texts)]
    with CaptureQueriesContext(connection) as queries:
        outcomes = analyze_batch(batch[0].pk, limit=len(batch))
    assert [outcomes[post.pk] for post in batch] == outcomes_single
    got = state(batch)
    assert [row[0] for row in got] == [row[0] for row in expected]
    assert [row[1] for row in got] == [row[1] for row in expected]
    assert [row[2] is None for row in got] == [row[2] is None for row in expected]
    claims = [
        q["sql"]
        for q in queries.captured_queries
        if q["sql"].startswith('UPDATE "intake_post"') and "analysis_status" in q["sql"]
    ]
    # The first pass's claim (rolled back with that pass when the post failed), the second pass's with a savepoint
    # per post, and the failed post's mark.
    assert len(claims) == 3


def test_a_batch_without_errors_is_claimed_once_and_opens_no_savepoint(rules):
    batch = [_post(text, f"c-{i}") for i, text in enumerate(TEXTS[:5])]
    with CaptureQueriesContext(connection) as queries:
        outcomes = analyze_batch(batch[0].pk, limit=len(batch))
    assert "failed" not in outcomes.values()
    sqls = [q["sql"] for q in queries.captured_queries]
    assert sum(1 for sql in sqls if sql.startswith('UPDATE "intake_post"') and "analysis_status" in sql) == 1
    # One: the batch's own transaction, a savepoint inside the test's (none per post).
    assert len([sql for sql in sqls if sql.upper().startswith("SAVEPOINT")]) == 1
