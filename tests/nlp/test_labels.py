"""Operators' decisions become training labels (otklik.nlp.labels); the pipeline's own decisions do not."""

from __future__ import annotations

import pytest

from otklik.cases.choices import IncidentStatus, NoAnswerReason
from otklik.cases.services import (
    do_classify,
    do_mark_no_answer,
    do_merge,
    do_restore,
    do_set_post_kind,
    do_split,
    do_unmerge,
)
from otklik.core.errors import DomainError
from otklik.intake.choices import PostKind
from otklik.nlp.duplicates import do_merge_duplicate
from otklik.nlp.labels import current_topic_labels
from otklik.nlp.models import LabelWhat, TrainingLabel
from otklik.org.models import Topic
from tests.factories import ingest

pytestmark = pytest.mark.django_db

HOT_WATER = "Третий день нет горячей воды на улице Ленина 5"
PIT = "Во дворе дома Мира 12 огромная яма, машины бьются"


def _topics() -> tuple[Topic, Topic]:
    """Two active topics of different groups from the shipped rubricator."""
    first = Topic.objects.filter(is_active=True).select_related("group").order_by("pk").first()
    assert first is not None
    other = Topic.objects.filter(is_active=True).exclude(group=first.group).select_related("group").first()
    assert other is not None
    return first, other


def test_an_operator_reclassifying_records_a_topic_label_with_what_the_machine_said(reference, operator):
    machine, chosen = _topics()
    incident = ingest(HOT_WATER)
    do_classify(incident, topic=machine, confidence=0.4, actor=None)

    do_classify(incident, topic=chosen, actor=operator)

    label = TrainingLabel.objects.get()
    assert label.what == LabelWhat.TOPIC
    assert label.incident_id == incident.pk
    assert label.text == HOT_WATER
    assert (label.value, label.topic, label.group) == (chosen.name, chosen.name, chosen.group.name)
    assert label.previous == machine.name
    assert label.actor == operator
    assert label.is_current


def test_the_pipeline_classifying_records_no_label(reference):
    machine, _other = _topics()
    incident = ingest(HOT_WATER)

    do_classify(incident, topic=machine, confidence=0.9, actor=None)

    assert not TrainingLabel.objects.exists()


def test_a_group_without_a_topic_is_a_label_with_an_empty_topic(reference, operator):
    machine, chosen = _topics()
    incident = ingest(HOT_WATER)

    do_classify(incident, topic=None, group=chosen.group, actor=operator)

    label = TrainingLabel.objects.get()
    assert (label.value, label.topic, label.group) == (chosen.group.name, "", chosen.group.name)


def test_a_later_decision_supersedes_the_earlier_one_and_history_is_kept(reference, operator, operator2):
    first, second = _topics()
    incident = ingest(HOT_WATER)
    do_classify(incident, topic=first, actor=operator)

    do_classify(incident, topic=second, actor=operator2)

    labels = list(TrainingLabel.objects.order_by("pk"))
    assert [(lbl.value, lbl.is_current) for lbl in labels] == [(first.name, False), (second.name, True)]
    assert list(current_topic_labels().values_list("topic", flat=True)) == [second.name]


def test_labels_of_different_incidents_do_not_supersede_each_other(reference, operator):
    first, second = _topics()
    do_classify(ingest(HOT_WATER), topic=first, actor=operator)
    do_classify(ingest(PIT), topic=second, actor=operator)

    assert current_topic_labels().count() == 2


def test_an_operator_merging_records_a_merge_label_and_the_duplicate_finder_does_not(operator):
    target = ingest(HOT_WATER)
    duplicate = ingest("Ленина 5, опять нет горячей воды, сколько можно")
    automatic = ingest("Ленина 5 горячей воды нет третий день")
    assert do_merge_duplicate(automatic) is not None
    assert not TrainingLabel.objects.exists()

    do_merge(duplicate, into=target, actor=operator)

    label = TrainingLabel.objects.get()
    assert label.what == LabelWhat.MERGE
    assert label.incident_id == duplicate.pk
    assert label.value == str(target.pk)
    assert label.text == "Ленина 5, опять нет горячей воды, сколько можно"


def test_an_operator_splitting_records_a_split_label_for_the_posts_split_off(operator):
    incident = ingest(HOT_WATER)
    pit = ingest(PIT)
    do_merge(pit, into=incident, actor=None)
    pit_post = incident.posts.get(text=PIT)

    new = do_split(incident, post_ids=[pit_post.pk], actor=operator)

    label = TrainingLabel.objects.get()
    assert label.what == LabelWhat.SPLIT
    assert (label.incident_id, label.post_id, label.text) == (new.pk, pit_post.pk, PIT)
    assert (label.value, label.previous) == (str(new.pk), str(incident.pk))


def test_an_unmerge_by_an_operator_supersedes_the_merge_label(operator):
    target = ingest(HOT_WATER)
    duplicate = ingest(PIT)
    do_merge(duplicate, into=target, actor=operator)

    do_unmerge(duplicate, actor=operator, note="другая проблема")

    merge, split = TrainingLabel.objects.order_by("pk")
    assert (merge.what, merge.is_current) == (LabelWhat.MERGE, False)
    assert (split.what, split.is_current, split.incident_id) == (LabelWhat.SPLIT, True, duplicate.pk)
    assert (split.text, split.previous) == (PIT, str(target.pk))


def test_a_split_by_the_system_records_no_label():
    incident = ingest(HOT_WATER)
    pit = ingest(PIT)
    do_merge(pit, into=incident, actor=None)

    do_split(incident, post_ids=[incident.posts.get(text=PIT).pk], actor=None)

    assert not TrainingLabel.objects.exists()


def test_marking_insults_as_no_answer_records_the_kind_of_the_first_post(operator):
    incident = ingest("Вы там все идиоты в администрации")
    post = incident.posts.get()

    do_mark_no_answer(incident, actor=operator, reason=NoAnswerReason.ABUSIVE)

    label = TrainingLabel.objects.get()
    assert (label.what, label.post_id, label.value) == (LabelWhat.KIND, post.pk, PostKind.ABUSIVE)


def test_no_answer_for_another_reason_or_by_the_pipeline_records_no_kind(operator):
    do_mark_no_answer(ingest("Реклама: окна недорого"), actor=None, reason=NoAnswerReason.SPAM)
    do_mark_no_answer(ingest("Закрытый профиль"), actor=operator, reason=NoAnswerReason.CLOSED_PROFILE)

    assert not TrainingLabel.objects.exists()


def test_restoring_a_post_marked_spam_says_it_is_not_spam(operator):
    incident = ingest("Когда починят лифт на Ленина 5?")
    do_mark_no_answer(incident, actor=None, reason=NoAnswerReason.SPAM)

    do_restore(incident, actor=operator, note="это вопрос, не спам")

    label = TrainingLabel.objects.get()
    assert (label.what, label.value) == (LabelWhat.KIND, "")
    incident.refresh_from_db()
    assert incident.status == IncidentStatus.TRIAGE


def test_an_operator_setting_the_kind_of_a_post_records_a_kind_label(operator):
    incident = ingest("Когда починят лифт на Ленина 5?")
    post = incident.posts.get()
    post.kind = PostKind.COMPLAINT
    post.save(update_fields=["kind"])

    do_set_post_kind(post, kind=PostKind.QUESTION, actor=operator)

    post.refresh_from_db()
    assert post.kind == PostKind.QUESTION
    label = TrainingLabel.objects.get()
    assert (label.what, label.value, label.previous) == (LabelWhat.KIND, PostKind.QUESTION, PostKind.COMPLAINT)
    assert incident.events.filter(after__kind=PostKind.QUESTION).exists()


def test_the_kind_must_be_one_of_the_post_kinds(operator):
    post = ingest("Когда починят лифт?").posts.get()

    with pytest.raises(DomainError):
        do_set_post_kind(post, kind="nonsense", actor=operator)
    assert not TrainingLabel.objects.exists()
