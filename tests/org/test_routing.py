"""`suggest_route`: the most specific active rule wins (topic > territory > keywords > order)."""

from __future__ import annotations

from decimal import Decimal

import pytest

from otklik.cases.services import do_classify, do_update_incident
from otklik.org.models import Department, RoutingRule, Territory, Topic, TopicGroup
from otklik.org.routing import find_territories, suggest_route
from tests.factories import ingest, make_department

pytestmark = pytest.mark.django_db

HOT_WATER = "Отсутствие горячей воды"


@pytest.fixture
def depts(db) -> dict[str, Department]:
    return {
        key: make_department(name, short_name=key)
        for key, name in [
            ("zhkh", "Департамент ЖКХ"),
            ("heat", "МУП «Теплоснабжение»"),
            ("uk", "УК «Приобье»"),
            ("udhb", "МБУ «УДХБ»"),
            ("roads", "Департамент дорог"),
        ]
    }


@pytest.fixture
def old_town(db) -> Territory:
    return Territory.objects.create(name="Старый Вартовск", keywords="старый вартовск, 5 мкр")


def _rule(lead: Department, *, co: tuple[Department, ...] = (), **fields: object) -> RoutingRule:
    rule = RoutingRule.objects.create(name=f"rule {RoutingRule.objects.count() + 1}", lead=lead, **fields)
    rule.co_executors.set(co)
    return rule


def _incident(topic_name: str | None = None, *, group_name: str | None = None, text: str = "текст"):
    incident = ingest(text)
    topic = Topic.objects.get(name=topic_name) if topic_name else None
    group = TopicGroup.objects.get(name=group_name) if group_name else None
    return do_classify(incident, topic=topic, group=group, confidence=0.9, actor=None)


def test_it_prefers_a_topic_rule_over_a_group_rule(reference, depts):
    zhkh = TopicGroup.objects.get(name="ЖКХ")
    _rule(depts["zhkh"], group=zhkh, order=1)
    topic_rule = _rule(
        depts["heat"], topic=Topic.objects.get(name=HOT_WATER), co=(depts["zhkh"],), due_hours=Decimal("4"), order=50
    )
    suggestion = suggest_route(_incident(HOT_WATER), "нет горячей воды")
    assert suggestion is not None
    assert suggestion.rule == topic_rule
    assert suggestion.lead == depts["heat"]
    assert suggestion.co_executors == [depts["zhkh"]]
    assert suggestion.due_hours == Decimal("4")


def test_it_falls_back_to_the_group_rule_for_another_topic_of_the_group(reference, depts):
    group_rule = _rule(depts["zhkh"], group=TopicGroup.objects.get(name="ЖКХ"))
    _rule(depts["heat"], topic=Topic.objects.get(name=HOT_WATER))
    suggestion = suggest_route(_incident("Лифт неисправен или отключен"), "лифт стоит")
    assert suggestion is not None and suggestion.rule == group_rule


def test_it_routes_an_incident_with_a_group_and_no_topic_by_the_group_rule(reference, depts):
    group_rule = _rule(depts["zhkh"], group=TopicGroup.objects.get(name="ЖКХ"))
    _rule(depts["heat"], topic=Topic.objects.get(name=HOT_WATER))
    suggestion = suggest_route(_incident(group_name="ЖКХ"), "что-то с домом")
    assert suggestion is not None and suggestion.rule == group_rule


def test_a_territory_rule_wins_when_the_text_names_the_territory(reference, depts, old_town):
    zhkh = TopicGroup.objects.get(name="ЖКХ")
    _rule(depts["zhkh"], group=zhkh)
    local = _rule(depts["uk"], group=zhkh, territory=old_town, co=(depts["zhkh"],))
    incident = _incident("Лифт неисправен или отключен")
    assert suggest_route(incident, "В Старом Вартовске лифт не работает").rule == local
    assert suggest_route(incident, "На Ленина лифт не работает").rule != local


def test_a_territory_rule_applies_to_the_incidents_own_territory(reference, depts, old_town):
    zhkh = TopicGroup.objects.get(name="ЖКХ")
    _rule(depts["zhkh"], group=zhkh)
    local = _rule(depts["uk"], group=zhkh, territory=old_town)
    incident = do_update_incident(_incident("Лифт неисправен или отключен"), actor=None, territory=old_town)
    assert suggest_route(incident, "лифт не работает").rule == local


def test_a_topic_rule_beats_a_group_rule_with_a_territory(reference, depts, old_town):
    zhkh = TopicGroup.objects.get(name="ЖКХ")
    _rule(depts["uk"], group=zhkh, territory=old_town)
    topic_rule = _rule(depts["heat"], topic=Topic.objects.get(name=HOT_WATER))
    suggestion = suggest_route(_incident(HOT_WATER), "В Старом Вартовске нет горячей воды")
    assert suggestion.rule == topic_rule


def test_a_keyword_rule_wins_only_when_a_keyword_is_in_the_text(reference, depts):
    group = TopicGroup.objects.get(name="Благоустройство")
    default = _rule(depts["roads"], group=group)
    snow = _rule(depts["udhb"], group=group, keywords="сугроб, наледь", due_hours=Decimal("4"))
    incident = _incident("Уборка территорий")
    # Lemmatised: «сугробы» matches the keyword «сугроб».
    assert suggest_route(incident, "Во дворе сугробы по пояс").rule == snow
    assert suggest_route(incident, "Во дворе грязно").rule == default


def test_territory_counts_before_keywords(reference, depts, old_town):
    group = TopicGroup.objects.get(name="Благоустройство")
    _rule(depts["udhb"], group=group, keywords="сугроб")
    local = _rule(depts["uk"], group=group, territory=old_town)
    incident = _incident("Уборка территорий")
    assert suggest_route(incident, "Старый Вартовск весь в сугробах").rule == local


def test_the_lowest_order_breaks_a_tie(reference, depts):
    group = TopicGroup.objects.get(name="Дороги")
    _rule(depts["roads"], group=group, order=20)
    first = _rule(depts["udhb"], group=group, order=10)
    assert suggest_route(_incident(group_name="Дороги"), "дорога").rule == first


def test_inactive_rules_and_inactive_lead_departments_are_ignored(reference, depts):
    group = TopicGroup.objects.get(name="Дороги")
    _rule(depts["udhb"], group=group, order=1, is_active=False)
    depts["heat"].is_active = False
    depts["heat"].save(update_fields=["is_active"])
    _rule(depts["heat"], group=group, order=2)
    live = _rule(depts["roads"], group=group, order=3, co=(depts["heat"], depts["udhb"]))
    suggestion = suggest_route(_incident(group_name="Дороги"), "дорога")
    assert suggestion.rule == live
    assert suggestion.co_executors == [depts["udhb"]]  # the inactive co-executor is left out


def test_there_is_no_suggestion_without_a_matching_rule_or_a_classification(reference, depts):
    _rule(depts["roads"], group=TopicGroup.objects.get(name="Дороги"))
    assert suggest_route(_incident(group_name="Культура"), "концерт") is None
    assert suggest_route(ingest("текст"), "текст") is None


def test_territory_keywords_match_whole_words_only(db, old_town):
    assert find_territories("Дом в 5 мкр, подъезд 2") == [old_town]
    assert find_territories("Дом в 15 мкр, подъезд 2") == []
    assert find_territories("Живу в старом Вартовске") == [old_town]
