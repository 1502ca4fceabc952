"""Routing: which department answers an incident, by the rules edited in the admin (`RoutingRule`).

The place comes from the pipeline (otklik.nlp.places against the gazetteer): the incident's territory, and the
managing company of the building for rules with `lead_from_building`. Territories are also found by their
keywords in the text (lemmatised phrases, or whole-word lowercase matches).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from decimal import Decimal
from typing import TYPE_CHECKING

from django.db.models.signals import m2m_changed

from otklik.core.rowcache import RowCache
from otklik.nlp.text import LemmaIndex, lemmas, normalize, phrase_lemmas
from otklik.org.models import Department, RoutingRule, Territory

if TYPE_CHECKING:
    from otklik.cases.models import Incident
    from otklik.nlp.places import Place


@dataclass(frozen=True)
class RouteSuggestion:
    rule: RoutingRule
    lead: Department
    co_executors: list[Department] = field(default_factory=list)
    due_hours: Decimal = Decimal("8")
    territory: Territory | None = None


class TextMatcher:
    """Matches comma-separated keywords against one text: as lemmatised phrases or as lowercase whole words."""

    def __init__(self, text: str) -> None:
        self.lower = normalize(text)
        self.index = LemmaIndex(lemmas(text))

    def matches(self, keyword: str) -> bool:
        keyword = normalize(keyword).strip()
        if not keyword:
            return False
        if re.search(rf"(?<!\w){re.escape(keyword)}(?!\w)", self.lower):
            return True
        phrase = phrase_lemmas(keyword)
        return bool(phrase) and self.index.has_phrase(phrase, slack=0)

    def any(self, keywords: str) -> bool:
        return any(self.matches(k) for k in keywords.split(","))


def find_territories(text: str, matcher: TextMatcher | None = None) -> list[Territory]:
    """Territories whose keywords occur in the text (in name order)."""
    matcher = matcher or TextMatcher(text)
    return [t for t in _territories.get() if matcher.any(t.keywords)]


# Territories with keywords, read once a minute per process (and at once after a save in this process).
_territories: RowCache[list[Territory]] = RowCache(
    lambda: list(Territory.objects.exclude(keywords="").order_by("name")), ["org.Territory"]
)


def suggest_route(incident: Incident, text: str, *, place: Place | None = None) -> RouteSuggestion | None:
    """The most specific active rule for the incident's topic or group; None when no rule applies.

    1. Candidates: active rules for the incident's topic, and active group rules (no topic) for its group.
    2. A rule with a territory applies only when that territory is the incident's or is named in the text;
       a rule with keywords applies only when one of them is in the text.
    3. The most specific wins: topic over group; then with a territory over without; then with keywords over
       without; then the lowest `order` (then the oldest rule).
    4. Inactive departments among the co-executors are left out; a rule whose lead is inactive is skipped.
    5. A rule with `lead_from_building`: when the place (`place`, else found in `text` against the gazetteer)
       is a building with an active managing company, that company leads (and is no co-executor); otherwise
       the rule's lead does.
    """
    if incident.topic_id is None and incident.group_id is None:
        return None
    candidates = [rule for rule in _rules.get() if rule.lead.is_active and _in_scope(rule, incident)]
    if not candidates:
        return None
    matcher = TextMatcher(text)
    territory_ids: set[int] = {incident.territory_id} if incident.territory_id else set()
    if any(rule.territory_id for rule in candidates):
        territory_ids |= {t.pk for t in find_territories(text, matcher)}

    applicable = []
    for rule in candidates:
        if rule.territory_id and rule.territory_id not in territory_ids:
            continue
        if rule.keyword_list and not any(matcher.matches(k) for k in rule.keyword_list):
            continue
        applicable.append(rule)
    if not applicable:
        return None
    best = min(
        applicable,
        key=lambda r: (r.topic_id is None, r.territory_id is None, not r.keyword_list, r.order, r.pk),
    )
    lead = best.lead
    if best.lead_from_building:
        lead = _building_company(text, place) or lead
    co = [d for d in best.co_executors.all() if d.is_active and d.pk != lead.pk]
    return RouteSuggestion(
        rule=best,
        lead=lead,
        co_executors=sorted(co, key=lambda d: d.name),
        due_hours=best.due_hours,
        territory=best.territory,
    )


def _building_company(text: str, place: Place | None) -> Department | None:
    """The active managing company of the building the post names, if the gazetteer knows one."""
    if place is None:
        from otklik.nlp.gazetteer import get_gazetteer
        from otklik.nlp.places import find_place

        place = find_place(text, get_gazetteer())
    if place.company_id is None:
        return None
    return Department.objects.filter(pk=place.company_id, is_active=True).first()


def _in_scope(rule: RoutingRule, incident: Incident) -> bool:
    """A rule for the incident's topic, or a group rule (no topic) for its group."""
    if rule.topic_id is not None:
        return rule.topic_id == incident.topic_id
    return incident.group_id is not None and rule.group_id == incident.group_id


def _load_rules() -> list[RoutingRule]:
    return list(
        RoutingRule.objects.filter(is_active=True)
        .select_related("lead", "territory")
        .prefetch_related("co_executors")
        .order_by("pk")
    )


# The active rules with their departments, read once a minute per process (at once after a save in this process,
# the co-executors' changes included).
_rules: RowCache[list[RoutingRule]] = RowCache(_load_rules, ["org.RoutingRule", "org.Department", "org.Territory"])
m2m_changed.connect(_rules.reset, sender=RoutingRule.co_executors.through, weak=False, dispatch_uid="routing-rules-m2m")
