"""Routing rules: list with search and filters, create, edit, deactivate; every change in the admin log."""

from __future__ import annotations

import json
from decimal import Decimal

import pytest
from django.contrib.admin.models import ADDITION, CHANGE, LogEntry
from django.utils.html import escape
from django.utils.translation import gettext

from otklik.org.models import RoutingRule, Territory, Topic, TopicGroup

pytestmark = pytest.mark.django_db


@pytest.fixture
def groups(db):
    return {"zhkh": TopicGroup.objects.create(name="ЖКХ"), "roads": TopicGroup.objects.create(name="Дороги")}


@pytest.fixture
def hot_water(groups):
    return Topic.objects.create(name="Отсутствие горячей воды", group=groups["zhkh"], priority=True)


def rule_data(**changes):
    data = {
        "name": "",
        "group": "",
        "topic": "",
        "territory": "",
        "keywords": "",
        "lead": "",
        "due_hours": "8",
        "order": "100",
        "is_active": "on",
    }
    data.update({k: v for k, v in changes.items() if k != "co_executors"})
    if "co_executors" in changes:
        return {**data, "co_executors": changes["co_executors"]}
    return data


def log_of(obj):
    return LogEntry.objects.filter(object_id=str(obj.pk), content_type__model=obj._meta.model_name).order_by("pk")


def test_the_head_creates_a_rule_and_it_is_logged(login, head, groups, housing, roads):
    territory = Territory.objects.create(name="Старый город")
    response = login(head).post(
        "/settings/rules/new/",
        rule_data(
            name="Ямы в Старом городе",
            group=groups["roads"].pk,
            territory=territory.pk,
            keywords="яма, выбоина",
            lead=roads.pk,
            co_executors=[housing.pk],
            due_hours="4.5",
            order="20",
        ),
    )

    assert response.status_code == 302 and response["Location"] == "/settings/rules/"
    rule = RoutingRule.objects.get(name="Ямы в Старом городе")
    assert (rule.group, rule.territory, rule.lead, rule.due_hours, rule.order) == (
        groups["roads"],
        territory,
        roads,
        Decimal("4.5"),
        20,
    )
    assert list(rule.co_executors.all()) == [housing]
    (entry,) = log_of(rule)
    assert entry.action_flag == ADDITION and entry.user == head


def test_editing_a_rule_saves_and_logs_the_changed_fields(login, head, groups, hot_water, housing, roads):
    rule = RoutingRule.objects.create(name="Горячая вода", topic=hot_water, lead=housing)
    client = login(head)
    assert "Горячая вода" in client.get(f"/settings/rules/{rule.pk}/").content.decode()

    response = client.post(
        f"/settings/rules/{rule.pk}/",
        rule_data(name="Горячая вода", topic=hot_water.pk, lead=roads.pk, due_hours="2", order="100"),
    )

    assert response.status_code == 302
    rule.refresh_from_db()
    assert rule.lead == roads and rule.due_hours == Decimal("2")
    (entry,) = log_of(rule)
    assert entry.action_flag == CHANGE
    assert entry.get_change_message()  # names the fields, in the reader's language
    assert json.loads(entry.change_message) == [{"changed": {"fields": ["Lead department", "Due time, working hours"]}}]


def test_saving_an_unchanged_rule_logs_nothing(login, head, hot_water, housing):
    rule = RoutingRule.objects.create(name="Вода", topic=hot_water, lead=housing)
    login(head).post(f"/settings/rules/{rule.pk}/", rule_data(name="Вода", topic=hot_water.pk, lead=housing.pk))
    assert not log_of(rule).exists()


def test_a_rule_needs_a_group_or_a_topic_said_next_to_the_field(login, head, housing):
    response = login(head).post("/settings/rules/new/", rule_data(name="Без группы", lead=housing.pk))

    assert response.status_code == 200
    content = response.content.decode()
    assert escape(gettext("Choose a group or a topic: a rule needs one of them.")) in content
    assert 'value="Без группы"' in content  # what was typed stays
    assert not RoutingRule.objects.exists()
    assert not LogEntry.objects.exists()


def test_a_topic_of_another_group_and_the_lead_among_co_executors_are_refused(login, head, groups, hot_water, housing):
    response = login(head).post(
        "/settings/rules/new/",
        rule_data(
            name="Путаница",
            group=groups["roads"].pk,
            topic=hot_water.pk,
            lead=housing.pk,
            co_executors=[housing.pk],
            due_hours="0",
        ),
    )
    content = response.content.decode()
    assert escape(gettext("The lead department cannot also be its own co-executor.")) in content
    assert escape(gettext("The due time must be more than zero working hours.")) in content
    assert "Отсутствие горячей воды" in content and "invalid-feedback" in content
    assert not RoutingRule.objects.exists()


def test_a_rule_is_deactivated_and_activated_again_each_time_logged(login, head, groups, housing):
    rule = RoutingRule.objects.create(name="ЖКХ", group=groups["zhkh"], lead=housing)
    client = login(head)

    response = client.post(f"/settings/rules/{rule.pk}/toggle/", {"next": "/settings/rules/?active=all"})
    assert response.status_code == 302 and response["Location"] == "/settings/rules/?active=all"
    rule.refresh_from_db()
    assert rule.is_active is False
    client.post(f"/settings/rules/{rule.pk}/toggle/", {"next": "https://evil.example/"})
    rule.refresh_from_db()
    assert rule.is_active is True
    assert [e.action_flag for e in log_of(rule)] == [CHANGE, CHANGE]
    assert json.loads(log_of(rule).first().change_message) == [{"changed": {"fields": ["Active"]}}]
    assert client.get(f"/settings/rules/{rule.pk}/toggle/").status_code == 405


def test_the_list_searches_and_filters_by_group_and_department(login, head, groups, hot_water, housing, roads):
    RoutingRule.objects.create(name="Горячая вода", topic=hot_water, lead=housing)
    RoutingRule.objects.create(name="Дороги целиком", group=groups["roads"], lead=roads)
    co = RoutingRule.objects.create(name="Дворы", group=groups["zhkh"], lead=housing, keywords="двор, детская площадка")
    co.co_executors.add(roads)
    RoutingRule.objects.create(name="Старое правило", group=groups["zhkh"], lead=housing, is_active=False)
    client = login(head)

    def names(query: str) -> list[str]:
        return [r.name for r in client.get(f"/settings/rules/{query}").context["page"]]

    assert sorted(names("")) == ["Горячая вода", "Дворы", "Дороги целиком"]
    assert names("?q=площадка") == ["Дворы"]
    assert names("?q=горячей") == ["Горячая вода"]
    assert sorted(names(f"?group={groups['zhkh'].pk}")) == ["Горячая вода", "Дворы"]
    assert sorted(names(f"?department={roads.pk}")) == ["Дворы", "Дороги целиком"]
    assert names("?active=inactive") == ["Старое правило"]
    assert len(names("?active=all")) == 4


def test_the_list_answers_an_htmx_search_with_the_results_only(login, head, groups, housing):
    RoutingRule.objects.create(name="Дворы", group=groups["zhkh"], lead=housing)
    response = login(head).get("/settings/rules/?q=Дворы", HTTP_HX_REQUEST="true")
    content = response.content.decode()
    assert content.lstrip().startswith('<div id="results"')
    assert "Дворы" in content and "<html" not in content


def test_the_list_pages_and_its_queries_do_not_grow_with_rows(
    login, head, groups, housing, roads, django_assert_max_num_queries
):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    RoutingRule.objects.create(name="Первое", group=groups["zhkh"], lead=housing).co_executors.add(roads)
    client = login(head)
    client.get("/settings/rules/")
    with CaptureQueriesContext(connection) as one:
        client.get("/settings/rules/")
    for n in range(60):
        RoutingRule.objects.create(name=f"Правило {n}", group=groups["roads"], lead=roads).co_executors.add(housing)
    with django_assert_max_num_queries(len(one)):
        page = client.get("/settings/rules/").context["page"]
    assert len(page.object_list) == 50 and page.paginator.count == 61
    assert len(client.get("/settings/rules/?page=2").context["page"].object_list) == 11
