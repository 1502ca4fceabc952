"""When an answer needs the head of the service's approval before it is published (issue 6).

`approval_reasons(answer)` lists, in Russian, why the active `ApprovalRule` rows ask for approval; an empty list
means the answer may be published without it. A rule applies when every condition it sets holds (an empty
condition matches anything):

1. `group`: the incident's group (or the group of its topic when the group is not set);
2. `kind`: the answer's kind;
3. `high_priority_only`: a priority (★) incident — its topic is marked priority or the incident itself is;
4. `new_operator_days`: the author joined less than that many days ago (`User.date_joined`); an answer without an
   author (written by the system) is never a new operator's.
"""

from __future__ import annotations

import datetime as dt
from typing import TYPE_CHECKING

from django.utils import timezone
from django.utils.translation import gettext as _

from otklik.answers.choices import AnswerKind
from otklik.answers.models import ApprovalRule

if TYPE_CHECKING:
    from otklik.answers.models import Answer
    from otklik.cases.models import Incident


def incident_group_id(incident: Incident) -> int | None:
    if incident.group_id is not None:
        return incident.group_id
    topic = incident.topic
    return topic.group_id if topic is not None else None


def is_priority(incident: Incident) -> bool:
    topic = incident.topic
    return bool(incident.priority or (topic is not None and topic.priority))


def rule_applies(rule: ApprovalRule, answer: Answer, *, now: dt.datetime | None = None) -> bool:
    incident = answer.incident
    if rule.group_id is not None and rule.group_id != incident_group_id(incident):
        return False
    if rule.kind and rule.kind != answer.kind:
        return False
    if rule.high_priority_only and not is_priority(incident):
        return False
    if rule.new_operator_days is not None:
        author = answer.author
        if author is None:
            return False
        now = now or timezone.now()
        if author.date_joined <= now - dt.timedelta(days=rule.new_operator_days):
            return False
    return True


def describe_rule(rule: ApprovalRule) -> str:
    """The rule's conditions in words: «группа «ЖКХ», вид «Итоговый», ★-темы, операторы моложе 30 дн.»."""
    parts: list[str] = []
    if rule.group_id is not None:
        parts.append(_("group «%(group)s»") % {"group": rule.group})
    if rule.kind:
        parts.append(_("kind «%(kind)s»") % {"kind": AnswerKind(rule.kind).label})
    if rule.high_priority_only:
        parts.append(_("priority (★) topics"))
    if rule.new_operator_days is not None:
        parts.append(_("operators who joined less than %(days)d days ago") % {"days": rule.new_operator_days})
    if not parts:
        return _("every answer")
    return ", ".join(parts)


def approval_reasons(answer: Answer, *, now: dt.datetime | None = None) -> list[str]:
    """Why `answer` needs the head's approval (one line per applying active rule); empty: it does not."""
    reasons: list[str] = []
    for rule in ApprovalRule.objects.filter(is_active=True).select_related("group").order_by("id"):
        if rule_applies(rule, answer, now=now):
            text = _("approval rule: %(conditions)s") % {"conditions": describe_rule(rule)}
            if rule.note:
                text = f"{text} ({rule.note})"
            reasons.append(text)
    return reasons


def needs_approval(answer: Answer) -> bool:
    return bool(approval_reasons(answer))
