"""Approval by the head where configured: rules by group, kind, priority topic, new operator; the publishing gate."""

from __future__ import annotations

import datetime as dt

import pytest
from django.utils import timezone

from otklik.answers.approval import approval_reasons
from otklik.answers.choices import AnswerStatus, VersionReason
from otklik.answers.models import ApprovalRule
from otklik.answers.services import (
    do_approve_answer,
    do_draft_answer,
    do_publish_answer,
    do_reject_answer,
    do_submit_for_approval,
)
from otklik.cases.choices import EventVerb
from otklik.cases.models import Event
from otklik.cases.services import do_classify, do_route
from otklik.core.errors import DomainError
from otklik.org.models import Topic, TopicGroup
from tests.factories import ingest, make_user

pytestmark = pytest.mark.django_db

GOOD = "Здравствуйте! Горячую воду дадут 12 декабря после замены задвижки на сетях, работы идут по графику."
LINK = "https://vk.com/wall-1_1"


@pytest.fixture
def zhkh(db):
    return TopicGroup.objects.create(name="ЖКХ")


@pytest.fixture
def roads_group(db):
    return TopicGroup.objects.create(name="Дороги")


@pytest.fixture
def hot_water(zhkh):
    return Topic.objects.create(name="Отсутствие горячей воды", group=zhkh, priority=True)


@pytest.fixture
def leak(zhkh):
    return Topic.objects.create(name="Протечка кровли", group=zhkh, priority=False)


@pytest.fixture
def veteran(db):
    return make_user("veteran", role="operator", date_joined=timezone.now() - dt.timedelta(days=400))


def incident_in(topic, operator, housing):
    incident = ingest()
    do_classify(incident, topic=topic, group=topic.group, actor=operator)
    do_route(incident, actor=operator, lead=housing, co_executors=[])
    incident.refresh_from_db()
    return incident


@pytest.fixture
def leak_incident(leak, operator, housing):
    return incident_in(leak, operator, housing)


@pytest.fixture
def hot_water_incident(hot_water, operator, housing):
    return incident_in(hot_water, operator, housing)


def test_no_rules_no_approval(leak_incident, operator):
    answer = do_draft_answer(leak_incident, actor=operator, kind="primary", text=GOOD)
    assert approval_reasons(answer) == []


def test_a_rule_for_a_group_applies_to_that_group_only(leak_incident, veteran, zhkh, roads_group):
    answer = do_draft_answer(leak_incident, actor=veteran, kind="primary", text=GOOD)
    ApprovalRule.objects.create(group=roads_group)
    assert approval_reasons(answer) == []
    ApprovalRule.objects.create(group=zhkh, note="ЖКХ на контроле мэра")
    reasons = approval_reasons(answer)
    assert len(reasons) == 1 and "ЖКХ" in reasons[0] and "ЖКХ на контроле мэра" in reasons[0]


def test_a_rule_for_a_kind_applies_to_that_kind_only(leak_incident, veteran):
    ApprovalRule.objects.create(kind="final")
    primary = do_draft_answer(leak_incident, actor=veteran, kind="primary", text=GOOD)
    final = do_draft_answer(leak_incident, actor=veteran, kind="final", text=GOOD)
    assert approval_reasons(primary) == []
    assert len(approval_reasons(final)) == 1


def test_a_priority_rule_applies_to_priority_topics_only(leak_incident, hot_water_incident, veteran):
    ApprovalRule.objects.create(high_priority_only=True)
    assert approval_reasons(do_draft_answer(leak_incident, actor=veteran, kind="primary", text=GOOD)) == []
    assert len(approval_reasons(do_draft_answer(hot_water_incident, actor=veteran, kind="primary", text=GOOD))) == 1


def test_a_new_operator_rule_applies_to_operators_who_joined_recently(leak_incident, veteran):
    ApprovalRule.objects.create(new_operator_days=30)
    newcomer = make_user("newcomer", role="operator", date_joined=timezone.now() - dt.timedelta(days=29))
    old_hand = make_user("old_hand", role="operator", date_joined=timezone.now() - dt.timedelta(days=31))
    assert len(approval_reasons(do_draft_answer(leak_incident, actor=newcomer, kind="primary", text=GOOD))) == 1
    assert approval_reasons(do_draft_answer(leak_incident, actor=old_hand, kind="primary", text=GOOD)) == []
    assert approval_reasons(do_draft_answer(leak_incident, actor=None, kind="primary", text=GOOD)) == []


def test_every_condition_of_a_rule_must_hold_and_inactive_rules_are_ignored(hot_water_incident, veteran, zhkh):
    ApprovalRule.objects.create(group=zhkh, kind="final", high_priority_only=True)
    ApprovalRule.objects.create(is_active=False)  # would match everything
    primary = do_draft_answer(hot_water_incident, actor=veteran, kind="primary", text=GOOD)
    final = do_draft_answer(hot_water_incident, actor=veteran, kind="final", text=GOOD)
    assert approval_reasons(primary) == []
    assert len(approval_reasons(final)) == 1


def test_publishing_is_refused_without_approval(leak_incident, operator):
    ApprovalRule.objects.create(kind="primary")
    answer = do_draft_answer(leak_incident, actor=operator, kind="primary", text=GOOD)
    with pytest.raises(DomainError) as err:
        do_publish_answer(answer, actor=operator, link=LINK)
    assert err.value.field is None
    answer.refresh_from_db()
    assert answer.status == AnswerStatus.DRAFT
    assert not Event.objects.filter(incident=leak_incident, verb=EventVerb.ANSWER_PUBLISHED).exists()


def test_approve_then_publish_works(leak_incident, operator, head):
    ApprovalRule.objects.create(kind="primary")
    answer = do_draft_answer(leak_incident, actor=operator, kind="primary", text=GOOD)
    do_submit_for_approval(answer, actor=operator)
    do_approve_answer(answer, actor=head)
    do_publish_answer(answer, actor=operator, link=LINK)
    answer.refresh_from_db()
    assert (answer.status, answer.approved_by) == (AnswerStatus.PUBLISHED, head)
    event = Event.objects.get(incident=leak_incident, verb=EventVerb.ANSWER_PUBLISHED)
    assert "approved_by_publishing" not in event.after


def test_the_heads_own_publishing_counts_as_approval(leak_incident, operator, head):
    ApprovalRule.objects.create(kind="primary")
    answer = do_draft_answer(leak_incident, actor=operator, kind="primary", text=GOOD)
    do_publish_answer(answer, actor=head, link=LINK)
    answer.refresh_from_db()
    assert (answer.status, answer.approved_by, answer.published_by) == (AnswerStatus.PUBLISHED, head, head)
    event = Event.objects.get(incident=leak_incident, verb=EventVerb.ANSWER_PUBLISHED)
    assert event.after["approved_by_publishing"] is True


def test_an_approved_answer_still_passes_the_quality_gate(leak_incident, operator, head):
    ApprovalRule.objects.create(kind="primary")
    vague = "Здравствуйте! Трубу заменят в ближайшее время, спасибо, что сообщили о протечке."
    answer = do_draft_answer(leak_incident, actor=operator, kind="primary", text=vague)
    do_submit_for_approval(answer, actor=operator)
    do_approve_answer(answer, actor=head)
    with pytest.raises(DomainError) as err:
        do_publish_answer(answer, actor=operator, link=LINK)
    assert err.value.field == "quality_override_reason"


def test_return_with_comments_keeps_the_version_and_the_comment(leak_incident, operator, head):
    ApprovalRule.objects.create(kind="primary")
    answer = do_draft_answer(leak_incident, actor=operator, kind="primary", text=GOOD)
    do_submit_for_approval(answer, actor=operator)
    do_reject_answer(answer, actor=head, comment="Поблагодарите жителя за сигнал.")
    answer.refresh_from_db()
    assert answer.status == AnswerStatus.DRAFT
    returned = answer.versions.get(reason=VersionReason.RETURNED)
    assert (returned.text, returned.comment, returned.author) == (GOOD, "Поблагодарите жителя за сигнал.", head)
    with pytest.raises(DomainError):
        do_publish_answer(answer, actor=operator, link=LINK)  # returned is not approved
