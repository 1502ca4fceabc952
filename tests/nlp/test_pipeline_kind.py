"""The kind step in the worker's analysis (otklik.nlp.pipeline): stored on the post; abusive and spam → no_answer."""

from __future__ import annotations

from decimal import Decimal

import pytest
from django.utils import timezone

from otklik.cases.choices import IncidentStatus, NoAnswerReason
from otklik.cases.models import Assignment, Incident
from otklik.intake.choices import AnalysisStatus
from otklik.intake.models import Post
from otklik.intake.services import default_source, do_ingest_post
from otklik.nlp.base import reset_classifier
from otklik.nlp.pipeline import analyze_post
from otklik.org.models import RoutingRule, TopicGroup

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _fresh_classifier():
    reset_classifier()
    yield
    reset_classifier()


@pytest.fixture
def rules(reference, housing, executor, dept_head):
    return RoutingRule.objects.create(
        name="ЖКХ", group=TopicGroup.objects.get(name="ЖКХ"), lead=housing, due_hours=Decimal("24")
    )


def _ingest(capture, text: str, *, external_id: str, **fields) -> Post:
    with capture(execute=True):
        post = do_ingest_post(
            source=default_source("vk"), external_id=external_id, text=text, posted_at=timezone.now(), **fields
        ).post
    post.refresh_from_db()
    return post


def test_it_marks_an_abusive_post_no_answer_with_the_reason_abusive(django_capture_on_commit_callbacks, rules):
    post = _ingest(django_capture_on_commit_callbacks, "Уроды, третий день нет горячей воды, твари", external_id="a-1")
    incident = Incident.objects.get(pk=post.incident_id)
    assert post.kind == "abusive"
    assert post.negative is not None and post.negative > 0.8
    assert post.analysis_status == AnalysisStatus.DONE
    assert incident.status == IncidentStatus.NO_ANSWER
    assert incident.no_answer_reason == NoAnswerReason.ABUSIVE
    assert not Assignment.objects.exists()
    assert Post.objects.filter(pk=post.pk).exists()  # kept, never deleted


def test_it_marks_a_spam_post_no_answer_with_the_reason_spam(django_capture_on_commit_callbacks, rules):
    post = _ingest(
        django_capture_on_commit_callbacks, "Заработок от 5000 в день! Подпишись https://t.me/money", external_id="s-1"
    )
    incident = Incident.objects.get(pk=post.incident_id)
    assert post.kind == "spam"
    assert incident.status == IncidentStatus.NO_ANSWER
    assert incident.no_answer_reason == NoAnswerReason.SPAM


def test_it_stores_the_kind_of_a_complaint_and_routes_it_as_before(django_capture_on_commit_callbacks, rules):
    post = _ingest(django_capture_on_commit_callbacks, "Третий день нет горячей воды на Ленина 5", external_id="c-1")
    assert post.kind == "complaint"
    assert post.negative is not None and 0.5 <= post.negative <= 1.0
    assert post.incident.status == IncidentStatus.ROUTED


def test_an_abusive_reply_in_a_routed_incident_does_not_close_it(django_capture_on_commit_callbacks, rules):
    first = _ingest(
        django_capture_on_commit_callbacks,
        "Третий день нет горячей воды на Ленина 5",
        external_id="t-1",
        author_id="42",
    )
    reply = _ingest(
        django_capture_on_commit_callbacks,
        "Дебилы, где вода?",
        external_id="t-2",
        author_id="42",
        thread_id="t-1",
    )
    assert reply.incident_id == first.incident_id
    assert reply.kind == "abusive"
    assert Incident.objects.get(pk=first.incident_id).status == IncidentStatus.ROUTED


def test_a_second_run_does_nothing(django_capture_on_commit_callbacks, rules):
    post = _ingest(django_capture_on_commit_callbacks, "Казино, ставки на спорт, промокод", external_id="s-2")
    Post.objects.filter(pk=post.pk).update(kind="", negative=None)
    assert analyze_post(post.pk) == "skipped"
    post.refresh_from_db()
    assert (post.kind, post.negative) == ("", None)
