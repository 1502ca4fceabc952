"""The lifecycle through the services: route, information, answer, close, reopen, merge, split, no answer."""

from __future__ import annotations

import datetime as dt

import pytest
import time_machine
from django.utils import timezone

from otklik.answers.services import (
    do_approve_answer,
    do_draft_answer,
    do_publish_answer,
    do_reject_answer,
    do_submit_for_approval,
)
from otklik.cases.choices import AssignmentRole, AssignmentStatus, EventVerb, IncidentStatus
from otklik.cases.models import Event
from otklik.cases.services import (
    do_accept_information,
    do_classify,
    do_close,
    do_decline,
    do_mark_no_answer,
    do_merge,
    do_reopen,
    do_restore,
    do_return_for_rework,
    do_route,
    do_send_to_triage,
    do_split,
    do_submit_information,
    do_take,
    do_unmerge,
    do_update_incident,
)
from otklik.core.errors import DomainError, IllegalTransition, NotAllowed
from otklik.org.models import Topic, TopicGroup
from tests.factories import ingest


@pytest.fixture(autouse=True)
def _wait_for_follow_up(settings):
    """These tests follow the `answered` state; closing right after the final answer is tested in tests/web/card."""
    settings.OTKLIK_CLOSE_AFTER_FINAL_ANSWER = False


S = IncidentStatus
A = AssignmentStatus
pytestmark = pytest.mark.django_db


@pytest.fixture
def hot_water(db):
    group = TopicGroup.objects.create(name="ЖКХ")
    return Topic.objects.create(name="Отсутствие горячей воды", group=group, priority=True)


@pytest.fixture
def routed(operator, housing, roads, executor, executor_other):
    incident = ingest()
    do_route(incident, actor=operator, lead=housing, co_executors=[roads])
    incident.refresh_from_db()
    return incident


def lead_of(incident):
    return incident.assignments.get(role=AssignmentRole.LEAD)


def verbs(incident):
    return list(Event.objects.filter(incident=incident).values_list("verb", flat=True))


def test_a_new_post_opens_a_new_incident_with_an_answer_deadline():
    incident = ingest()
    assert incident.status == S.NEW
    assert incident.due_at is not None and incident.due_at > incident.created_at
    assert verbs(incident) == [EventVerb.CREATED]


def test_a_priority_topic_tightens_the_deadline(operator, hot_water):
    with time_machine.travel(dt.datetime(2026, 12, 1, 10, 0, tzinfo=dt.UTC), tick=False):
        incident = ingest()
        normal_due = incident.due_at
        do_classify(incident, topic=hot_water, confidence=0.9, actor=operator)
    incident.refresh_from_db()
    assert incident.priority is True
    assert incident.group.name == "ЖКХ"
    assert incident.due_at < normal_due


def test_routing_creates_one_assignment_per_department_and_waits_for_them(routed, housing, roads):
    assert routed.status == S.ROUTED
    assert routed.lead_department == housing
    roles = dict(routed.assignments.values_list("department__name", "role"))
    assert roles == {housing.name: AssignmentRole.LEAD, roads.name: AssignmentRole.CO}
    assert all(a.due_at > timezone.now() for a in routed.assignments.all())
    assert EventVerb.ROUTED in verbs(routed)


def test_routing_again_cancels_departments_no_longer_involved(routed, operator, housing, roads):
    do_route(routed, actor=operator, lead=housing)
    statuses = dict(routed.assignments.values_list("department__name", "status"))
    assert statuses == {housing.name: A.SENT, roads.name: A.CANCELLED}


def test_an_executor_cannot_route(routed, executor, housing):
    with pytest.raises(NotAllowed):
        do_route(routed, actor=executor, lead=housing)


def test_the_answer_is_prepared_once_every_department_information_is_accepted(
    routed, operator, executor, executor_other
):
    lead = lead_of(routed)
    co = routed.assignments.get(role=AssignmentRole.CO)
    do_submit_information(lead, actor=executor, text="Подача горячей воды восстановлена 12.12.")
    do_accept_information(lead, actor=operator)
    routed.refresh_from_db()
    assert routed.status == S.ROUTED  # the co-executor has not answered yet
    do_submit_information(co, actor=executor_other, text="Дорога после раскопки восстановлена.")
    do_accept_information(co, actor=operator)
    routed.refresh_from_db()
    assert routed.status == S.ANSWERING


def test_an_executor_of_another_department_cannot_answer_an_assignment(routed, executor_other):
    with pytest.raises(NotAllowed):
        do_submit_information(lead_of(routed), actor=executor_other, text="Не наше")


def test_information_cannot_be_empty(routed, executor):
    with pytest.raises(DomainError) as err:
        do_submit_information(lead_of(routed), actor=executor, text="   ")
    assert err.value.field == "information"


def test_information_returned_for_rework_goes_back_to_the_department(routed, operator, executor):
    lead = lead_of(routed)
    do_submit_information(lead, actor=executor, text="Работы проведены.")
    do_return_for_rework(lead, actor=operator, comment="Укажите срок и приложите фото.")
    lead.refresh_from_db()
    assert lead.status == A.REWORK
    assert lead.rework_comments.get().text == "Укажите срок и приложите фото."
    do_submit_information(lead, actor=executor, text="Работы проведены 10.12, фото приложено.")
    lead.refresh_from_db()
    assert lead.status == A.SUBMITTED


def test_rework_needs_a_comment(routed, operator, executor):
    lead = lead_of(routed)
    do_submit_information(lead, actor=executor, text="Работы проведены.")
    with pytest.raises(DomainError):
        do_return_for_rework(lead, actor=operator, comment="")


def test_accepting_information_that_was_not_sent_is_an_illegal_step(routed, operator):
    with pytest.raises(IllegalTransition):
        do_accept_information(lead_of(routed), actor=operator)


def test_a_lead_that_declines_sends_the_incident_back_to_triage(routed, executor):
    do_decline(lead_of(routed), actor=executor, reason="Вопрос в ведении управляющей компании.")
    routed.refresh_from_db()
    assert routed.status == S.TRIAGE
    assert routed.lead_department is None
    assert EventVerb.DECLINED in verbs(routed)


def test_declining_needs_a_reason(routed, executor):
    with pytest.raises(DomainError):
        do_decline(lead_of(routed), actor=executor, reason=" ")


def test_a_final_answer_needs_accepted_information_or_a_recorded_reason(routed, operator):
    answer = do_draft_answer(routed, actor=operator, kind="final", text="Здравствуйте! Вода будет 12.12.")
    with pytest.raises(DomainError) as err:
        do_publish_answer(answer, actor=operator, link="https://vk.com/wall-1_1")
    assert err.value.field == "override_reason"
    do_publish_answer(answer, actor=operator, link="https://vk.com/wall-1_1", override_reason="Срочный ответ.")
    routed.refresh_from_db()
    assert routed.status == S.ANSWERED
    assert routed.answered_at is not None and routed.first_answered_at is not None


def test_a_primary_answer_needs_nothing_and_keeps_the_incident_in_work(routed, operator):
    answer = do_draft_answer(routed, actor=operator, kind="primary", text="Здравствуйте! Передали в ЖКХ.")
    do_publish_answer(answer, actor=operator, link="https://vk.com/wall-1_2")
    routed.refresh_from_db()
    assert routed.status == S.ROUTED
    assert routed.first_answered_at is not None
    assert routed.answered_at is None


def test_a_refusal_needs_nothing_and_answers_the_incident(routed, operator):
    answer = do_draft_answer(routed, actor=operator, kind="refusal", text="Вопрос не относится к городу.")
    do_publish_answer(answer, actor=operator)
    routed.refresh_from_db()
    assert routed.status == S.ANSWERED


def test_an_intermediate_answer_promises_a_date(routed, operator):
    with pytest.raises(DomainError) as err:
        do_draft_answer(routed, actor=operator, kind="intermediate", text="Работы запланированы.")
    assert err.value.field == "promised_date"
    with pytest.raises(DomainError):
        do_draft_answer(
            routed,
            actor=operator,
            kind="intermediate",
            text="Работы запланированы.",
            promised_date=timezone.localdate() - dt.timedelta(days=1),
        )
    promised = timezone.localdate() + dt.timedelta(days=7)
    answer = do_draft_answer(
        routed,
        actor=operator,
        kind="intermediate",
        text="Здравствуйте! Работы запланированы, итоговый ответ дадим через неделю.",
        promised_date=promised,
    )
    do_publish_answer(answer, actor=operator)
    routed.refresh_from_db()
    assert routed.status == S.ROUTED


def test_approval_by_the_head(routed, operator, head, executor, executor_other):
    lead = lead_of(routed)
    do_submit_information(lead, actor=executor, text="Вода будет 12.12.")
    co = routed.assignments.get(role=AssignmentRole.CO)
    do_submit_information(co, actor=executor_other, text="Благоустройство восстановим после работ.")
    do_accept_information(lead, actor=operator)
    answer = do_draft_answer(routed, actor=operator, kind="final", text="Здравствуйте! Вода будет 12.12.")
    do_submit_for_approval(answer, actor=operator)
    routed.refresh_from_db()
    assert routed.status == S.APPROVAL
    with pytest.raises(NotAllowed):
        do_approve_answer(answer, actor=operator)
    do_reject_answer(answer, actor=head, comment="Добавьте благодарность.")
    routed.refresh_from_db()
    assert routed.status == S.ANSWERING
    do_submit_for_approval(answer, actor=operator)
    do_approve_answer(answer, actor=head)
    do_publish_answer(answer, actor=operator, link="https://vk.com/wall-1_3")
    routed.refresh_from_db()
    assert routed.status == S.ANSWERED


def test_closing_and_reopening(routed, operator, executor):
    lead = lead_of(routed)
    do_submit_information(lead, actor=executor, text="Вода будет 12.12.")
    do_accept_information(lead, actor=operator)
    answer = do_draft_answer(routed, actor=operator, kind="final", text="Вода будет 12.12.")
    do_publish_answer(answer, actor=operator, override_reason="Соисполнитель не нужен.")
    do_close(routed, actor=operator)
    routed.refresh_from_db()
    assert routed.status == S.CLOSED and routed.closed_at is not None
    with pytest.raises(DomainError):
        do_reopen(routed, actor=operator, reason="")
    do_reopen(routed, actor=operator, reason="Житель пишет: воды всё ещё нет.")
    routed.refresh_from_db()
    lead.refresh_from_db()
    assert routed.status == S.ROUTED and routed.closed_at is None
    assert lead.status == A.REWORK  # the department is asked again
    assert EventVerb.REOPENED in verbs(routed)


def test_an_open_incident_cannot_be_reopened_or_closed(routed, operator):
    with pytest.raises(IllegalTransition):
        do_reopen(routed, actor=operator, reason="Нет")
    with pytest.raises(IllegalTransition):
        do_close(routed, actor=operator)


def test_no_answer_needs_a_known_reason_and_cancels_the_assignments(routed, operator):
    with pytest.raises(DomainError):
        do_mark_no_answer(routed, actor=operator, reason="boring")
    with pytest.raises(DomainError):
        do_mark_no_answer(routed, actor=operator, reason="other")
    do_mark_no_answer(routed, actor=operator, reason="abusive")
    routed.refresh_from_db()
    assert routed.status == S.NO_ANSWER and routed.no_answer_reason == "abusive"
    assert set(routed.assignments.values_list("status", flat=True)) == {A.CANCELLED}
    do_restore(routed, actor=operator, note="Ошибочно отмечено.")
    routed.refresh_from_db()
    assert routed.status == S.TRIAGE and routed.no_answer_reason == ""


def test_merge_moves_the_posts_and_split_brings_them_back(operator):
    first = ingest("Нет горячей воды на Ленина 5")
    second = ingest("На Ленина 5 опять без горячей воды")
    do_merge(second, into=first, actor=operator)
    second.refresh_from_db()
    assert second.status == S.MERGED and second.merged_into == first
    assert first.posts.count() == 2
    with pytest.raises(IllegalTransition):
        do_merge(second, into=first, actor=operator)
    do_unmerge(second, actor=operator)
    second.refresh_from_db()
    assert second.status == S.TRIAGE and second.merged_into is None
    assert first.posts.count() == 1 and second.posts.count() == 1


def test_an_incident_cannot_be_merged_into_itself_or_into_a_merged_one(operator):
    a, b, c = ingest("a"), ingest("b"), ingest("c")
    with pytest.raises(DomainError):
        do_merge(a, into=a, actor=operator)
    do_merge(b, into=c, actor=operator)
    with pytest.raises(DomainError):
        do_merge(a, into=b, actor=operator)


def test_split_moves_chosen_posts_to_a_new_incident_in_triage(operator):
    first = ingest("Нет горячей воды")
    second = ingest("Яма во дворе")
    do_merge(second, into=first, actor=operator)
    post = first.posts.get(text="Яма во дворе")
    with pytest.raises(DomainError):
        do_split(first, post_ids=list(first.posts.values_list("pk", flat=True)), actor=operator)
    new = do_split(first, post_ids=[post.pk], actor=operator)
    assert new.status == S.TRIAGE
    assert list(new.posts.all()) == [post]


def test_taking_and_editing_are_recorded_with_before_and_after(operator, operator2):
    incident = ingest()
    do_take(incident, actor=operator)
    do_take(incident, actor=operator2)
    do_update_incident(incident, actor=operator2, address="ул. Ленина, 5")
    taken = Event.objects.filter(incident=incident, verb=EventVerb.TAKEN).last()
    assert taken.before == {"owner": "operator"} and taken.after == {"owner": "operator2"}
    updated = Event.objects.get(incident=incident, verb=EventVerb.UPDATED)
    assert updated.after == {"address": "ул. Ленина, 5"}
    with pytest.raises(DomainError):
        do_update_incident(incident, actor=operator, status="closed")


def test_the_director_only_reads(director):
    incident = ingest()
    with pytest.raises(NotAllowed):
        do_take(incident, actor=director)
    with pytest.raises(NotAllowed):
        do_send_to_triage(incident, actor=director)


def test_a_department_head_gives_an_assignment_to_one_executor(routed, dept_head, executor, executor_other):
    from otklik.cases.services import do_assign_executor
    from tests.factories import make_user

    colleague = make_user("colleague", role="executor", department=executor.department)
    lead = lead_of(routed)
    with pytest.raises(NotAllowed):
        do_assign_executor(lead, actor=executor, assignee=colleague)
    with pytest.raises(DomainError):
        do_assign_executor(lead, actor=dept_head, assignee=executor_other)
    do_assign_executor(lead, actor=dept_head, assignee=colleague)
    lead.refresh_from_db()
    assert lead.assignee == colleague
    # Now only the chosen executor (and the head) may answer it.
    with pytest.raises(NotAllowed):
        do_submit_information(lead, actor=executor, text="Ответ")
    do_submit_information(lead, actor=colleague, text="Ответ")
    assert colleague.notifications.filter(assignment=lead).exists()


def test_incidents_merged_earlier_follow_their_target_when_it_is_merged(operator):
    first, second, third = ingest("Нет воды"), ingest("Нет воды опять"), ingest("Воды нет третий день")
    do_merge(third, into=second, actor=operator)
    do_merge(second, into=first, actor=operator)
    third.refresh_from_db()
    assert third.merged_into == first
    assert first.posts.count() == 3
