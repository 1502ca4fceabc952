"""Several departments on one answer (regulation 3.3) and the acting head approving answers."""

from __future__ import annotations

import datetime as dt

import pytest
from django.utils import timezone

from otklik.accounts.choices import Role
from otklik.answers.choices import AnswerKind
from otklik.answers.services import do_approve_answer, do_draft_answer, do_publish_answer, do_submit_for_approval
from otklik.cases.services import (
    create_incident,
    do_accept_information,
    do_cancel_assignment,
    do_route,
    do_submit_information,
)
from otklik.core.errors import DomainError, NotAllowed
from otklik.notifications.models import Notification
from otklik.sla.services import do_delegate
from tests.factories import make_department, make_user

pytestmark = pytest.mark.django_db


def test_a_final_answer_waits_for_every_co_executor(operator, housing, executor):
    roads = make_department("Департамент дорог")
    incident = create_incident()
    lead, co = do_route(incident, actor=operator, lead=housing, co_executors=[roads])
    do_submit_information(lead, actor=executor, text="Трубу заменим 5 декабря")
    do_accept_information(lead, actor=operator)
    answer = do_draft_answer(
        incident, kind=AnswerKind.FINAL, text="Здравствуйте! Трубу заменят 5 декабря.", actor=operator
    )
    with pytest.raises(DomainError, match="Департамент дорог"):
        do_publish_answer(answer, actor=operator, link="https://vk.com/wall-1_1")
    do_cancel_assignment(co, actor=operator, reason="Асфальт не трогали")  # released by the operator
    do_publish_answer(answer, actor=operator, link="https://vk.com/wall-1_1")


def test_the_acting_head_approves_while_the_head_is_away(operator, head, housing):
    deputy = make_user("zam", role=Role.OPERATOR)
    now = timezone.now()
    do_delegate(
        head=head,
        acting=deputy,
        starts_at=now - dt.timedelta(hours=1),
        ends_at=now + dt.timedelta(days=7),
        actor=head,
    )
    incident = create_incident()
    do_route(incident, actor=operator, lead=housing)
    answer = do_draft_answer(
        incident, kind=AnswerKind.REFUSAL, text="Здравствуйте! Это не в ведении города.", actor=operator
    )
    do_submit_for_approval(answer, actor=operator)
    assert Notification.objects.filter(recipient=deputy, kind="answer_approval").count() == 1
    assert Notification.objects.filter(recipient=head, kind="answer_approval").count() == 0
    with pytest.raises(NotAllowed):
        do_approve_answer(answer, actor=operator)
    do_approve_answer(answer, actor=deputy)
