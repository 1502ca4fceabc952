"""Every legal and illegal step of the incident and assignment transition tables."""

from __future__ import annotations

import pytest

from otklik.answers.choices import ANSWER_TRANSITIONS, AnswerStatus
from otklik.cases.choices import (
    ASSIGNMENT_TRANSITIONS,
    INCIDENT_TRANSITIONS,
    AssignmentStatus,
    IncidentStatus,
)
from otklik.cases.models import Assignment, Incident
from otklik.cases.services import check_assignment_transition, check_incident_transition
from otklik.core.errors import IllegalTransition

S = IncidentStatus
A = AssignmentStatus

INCIDENT_PAIRS = [(a, b) for a in S.values for b in S.values]
ASSIGNMENT_PAIRS = [(a, b) for a in A.values for b in A.values]


def test_the_tables_cover_every_status():
    assert set(INCIDENT_TRANSITIONS) == set(S.values)
    assert set(ASSIGNMENT_TRANSITIONS) == set(A.values)
    assert set(ANSWER_TRANSITIONS) == set(AnswerStatus.values)
    for targets in INCIDENT_TRANSITIONS.values():
        assert targets <= set(S.values)


def test_closed_and_answered_incidents_reopen_only_to_work_statuses():
    assert INCIDENT_TRANSITIONS[S.CLOSED] == {S.ROUTED, S.ANSWERING}
    assert {S.ROUTED, S.ANSWERING} <= INCIDENT_TRANSITIONS[S.ANSWERED]


def test_overdue_is_not_a_status():
    assert "overdue" not in S.values


@pytest.mark.parametrize(("source", "target"), INCIDENT_PAIRS)
def test_each_incident_step_is_allowed_exactly_when_the_table_says(source, target):
    incident = Incident(status=source)
    if target in INCIDENT_TRANSITIONS[source]:
        check_incident_transition(incident, target)
    else:
        with pytest.raises(IllegalTransition) as err:
            check_incident_transition(incident, target)
        # The message names both statuses by their Russian labels.
        assert str(S(source).label) in err.value.message
        assert str(S(target).label) in err.value.message


@pytest.mark.parametrize(("source", "target"), ASSIGNMENT_PAIRS)
def test_each_assignment_step_is_allowed_exactly_when_the_table_says(source, target):
    assignment = Assignment(status=source)
    if target in ASSIGNMENT_TRANSITIONS[source]:
        check_assignment_transition(assignment, target)
    else:
        with pytest.raises(IllegalTransition):
            check_assignment_transition(assignment, target)
