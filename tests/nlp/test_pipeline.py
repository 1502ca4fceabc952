"""The analysis of a post (otklik.nlp.pipeline), run by the worker after ingestion: classify, route or triage."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
from django.utils import timezone

from otklik.cases.choices import AssignmentRole, EventVerb, IncidentStatus
from otklik.cases.models import Assignment, Event
from otklik.intake.choices import AnalysisStatus
from otklik.intake.models import Post
from otklik.intake.services import default_source, do_ingest_post
from otklik.nlp import pipeline
from otklik.nlp.base import reset_classifier
from otklik.nlp.pipeline import analyze_post, sweep_unanalyzed
from otklik.notifications.models import Notification
from otklik.org.models import RoutingRule, Territory, Topic, TopicGroup
from tests.factories import make_department

pytestmark = pytest.mark.django_db

HOT_WATER = "Отсутствие горячей воды"


@pytest.fixture(autouse=True)
def _fresh_classifier():
    reset_classifier()
    yield
    reset_classifier()


@pytest.fixture
def heat(db):
    return make_department("МУП «Теплоснабжение»", short_name="Теплоснабжение")


@pytest.fixture
def rules(reference, housing, heat, executor, dept_head):
    """Hot water → the heating enterprise, housing as co-executor, 4 h; the rest of ЖКХ → housing."""
    hot = RoutingRule.objects.create(
        name="ГВС", topic=Topic.objects.get(name=HOT_WATER), lead=heat, due_hours=Decimal("4")
    )
    hot.co_executors.set([housing])
    group = RoutingRule.objects.create(name="ЖКХ", group=TopicGroup.objects.get(name="ЖКХ"), lead=housing)
    return {"hot": hot, "group": group}


def _post(text: str, *, external_id: str, **fields) -> Post:
    return do_ingest_post(
        source=default_source("vk"), external_id=external_id, text=text, posted_at=timezone.now(), **fields
    ).post


def _ingest(django_capture_on_commit_callbacks, text: str, *, external_id: str = "p-1", **fields) -> Post:
    """Ingest as the API does; the after-commit analysis task runs (Celery is eager in tests)."""
    with django_capture_on_commit_callbacks(execute=True):
        post = _post(text, external_id=external_id, **fields)
    post.refresh_from_db()
    return post


def test_a_post_with_the_senders_topic_is_routed_to_the_rules_lead(
    django_capture_on_commit_callbacks, rules, housing, heat, executor, dept_head
):
    post = _ingest(django_capture_on_commit_callbacks, "Просим разобраться", topic=Topic.objects.get(name=HOT_WATER))
    incident = post.incident
    assert post.analysis_status == AnalysisStatus.DONE
    assert incident.status == IncidentStatus.ROUTED
    assert (incident.topic.name, incident.group.name, incident.confidence) == (HOT_WATER, "ЖКХ", 1.0)
    assert incident.lead_department == heat
    assert incident.routing_rule == rules["hot"]
    lead = incident.assignments.get(role=AssignmentRole.LEAD)
    assert lead.department == heat
    co = incident.assignments.get(role=AssignmentRole.CO)
    assert co.department == housing
    assert lead.due_at > timezone.now()
    # The housing department's people are told of their assignment.
    assert set(Notification.objects.filter(assignment=co).values_list("recipient__username", flat=True)) == {
        "executor",
        "dept_head",
    }


def test_a_confident_classification_routes_without_a_topic_from_the_sender(
    django_capture_on_commit_callbacks, rules, heat
):
    post = _ingest(django_capture_on_commit_callbacks, "Третий день нет горячей воды на Ленина 5")
    incident = post.incident
    assert incident.status == IncidentStatus.ROUTED
    assert incident.topic.name == HOT_WATER
    assert 0.35 <= incident.confidence < 1.0
    assert incident.lead_department == heat
    assert Event.objects.filter(incident=incident, verb=EventVerb.CLASSIFIED).count() == 1


def test_a_low_confidence_post_goes_to_triage_with_the_reason(django_capture_on_commit_callbacks, rules, settings):
    settings.OTKLIK_CLASSIFIER_THRESHOLD = 0.99
    post = _ingest(django_capture_on_commit_callbacks, "Лифт не работает")
    incident = post.incident
    assert incident.status == IncidentStatus.TRIAGE
    assert incident.group.name == "ЖКХ"  # the classifier's guess is kept for the operator
    assert "confidence" in incident.status_note.lower() or "уверенност" in incident.status_note.lower()
    assert not Assignment.objects.exists()


def test_a_post_without_evidence_goes_to_triage(django_capture_on_commit_callbacks, rules, settings):
    post = _ingest(django_capture_on_commit_callbacks, "Когда это всё закончится? Сил никаких нет")
    assert post.incident.status == IncidentStatus.TRIAGE
    # No topic, or (the learned classifier always has a guess) one below the threshold, kept for the operator.
    assert post.incident.topic is None or post.incident.confidence < settings.OTKLIK_CLASSIFIER_THRESHOLD
    assert not Assignment.objects.exists()


def test_a_confident_post_without_a_rule_goes_to_triage(django_capture_on_commit_callbacks, rules):
    post = _ingest(django_capture_on_commit_callbacks, "В поликлинике очередь к терапевту на три часа")
    incident = post.incident
    assert incident.status == IncidentStatus.TRIAGE
    assert incident.topic.name == "Очередь"
    assert "Очередь" in incident.status_note


def test_running_the_analysis_twice_does_not_act_twice(django_capture_on_commit_callbacks, rules):
    post = _ingest(django_capture_on_commit_callbacks, "Нет горячей воды", topic=Topic.objects.get(name=HOT_WATER))
    counts = (Assignment.objects.count(), Event.objects.count(), Notification.objects.count())
    assert analyze_post(post.pk) == "skipped"
    assert (Assignment.objects.count(), Event.objects.count(), Notification.objects.count()) == counts


def test_a_post_added_to_an_existing_incident_is_only_analysed(django_capture_on_commit_callbacks, rules):
    first = _ingest(django_capture_on_commit_callbacks, "Нет горячей воды", external_id="p-1", author_id="id1")
    assignments = Assignment.objects.count()
    second = _ingest(
        django_capture_on_commit_callbacks, "В поликлинике очередь", external_id="p-2", author_id="id1", thread_id="p-1"
    )
    assert second.incident_id == first.incident_id
    assert second.analysis_status == AnalysisStatus.DONE
    incident = second.incident
    assert (incident.status, incident.topic.name) == (IncidentStatus.ROUTED, HOT_WATER)
    assert Assignment.objects.count() == assignments


def test_the_analysis_names_the_territory_found_in_the_text(django_capture_on_commit_callbacks, rules):
    old_town = Territory.objects.create(name="Старый Вартовск", keywords="старый вартовск")
    post = _ingest(django_capture_on_commit_callbacks, "В Старом Вартовске нет горячей воды")
    assert post.incident.territory == old_town


def test_an_error_marks_the_post_failed_and_changes_nothing(django_capture_on_commit_callbacks, rules, monkeypatch):
    def broken(*args, **kwargs):
        raise ValueError("boom")

    monkeypatch.setattr(pipeline, "suggest_route", broken)
    post = _ingest(django_capture_on_commit_callbacks, "Нет горячей воды")
    assert post.analysis_status == AnalysisStatus.FAILED
    assert post.incident.status == IncidentStatus.NEW
    assert post.incident.topic is None  # the classification was rolled back with the rest
    assert analyze_post(post.pk) == "skipped"  # no loop: a failed post is not picked up again


def test_the_sweep_enqueues_posts_left_pending(rules):
    stale = _post("Нет горячей воды", external_id="p-old")  # no commit callbacks: the task never ran
    fresh = _post("Нет горячей воды", external_id="p-new")
    Post.objects.filter(pk=stale.pk).update(created_at=timezone.now() - dt.timedelta(minutes=5))
    assert sweep_unanalyzed() == 1  # Celery is eager: the task runs at once
    stale.refresh_from_db()
    fresh.refresh_from_db()
    assert stale.analysis_status == AnalysisStatus.DONE
    assert stale.incident.status == IncidentStatus.ROUTED
    assert fresh.analysis_status == AnalysisStatus.PENDING
    assert sweep_unanalyzed() == 0


def test_the_sweep_takes_a_limited_batch_oldest_first(rules):
    posts = [_post("Нет горячей воды", external_id=f"p-{i}") for i in range(3)]
    for age, post in zip((30, 20, 10), posts, strict=True):
        Post.objects.filter(pk=post.pk).update(created_at=timezone.now() - dt.timedelta(minutes=age))
    assert sweep_unanalyzed(batch=2) == 2
    statuses = [Post.objects.get(pk=p.pk).analysis_status for p in posts]
    assert statuses == [AnalysisStatus.DONE, AnalysisStatus.DONE, AnalysisStatus.PENDING]
