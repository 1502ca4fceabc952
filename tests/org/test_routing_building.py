"""Routing by place: the managing company of the building leads when the rule says so; the pipeline sets the place."""

from __future__ import annotations

import pytest
from django.utils import timezone

from otklik.cases.choices import AssignmentRole, IncidentStatus
from otklik.cases.models import Assignment
from otklik.cases.services import do_classify
from otklik.intake.services import default_source, do_ingest_post
from otklik.nlp.base import reset_classifier
from otklik.nlp.gazetteer import reset_cache
from otklik.org.choices import DepartmentKind
from otklik.org.gazetteer import do_import_gazetteer
from otklik.org.models import Department, RoutingRule, Territory, Topic, TopicGroup
from otklik.org.routing import suggest_route
from tests.factories import ingest, make_department

pytestmark = pytest.mark.django_db

GAZETTEER = """kind;street_type;street;house;name;district;company
street;улица;Ленина;;;Центр;УК «Приобье»
building;улица;Ленина;15;;Центр;УК «Приобье»
building;улица;Омская;12;;Восток;УК «Восток»
landmark;улица;Омская;12;школа №9;;
"""


@pytest.fixture
def city(reference, housing):
    reset_cache()
    reset_classifier()
    Territory.objects.create(name="Центр")
    Territory.objects.create(name="Восток")
    companies = {
        key: make_department(name, short_name=short, kind=DepartmentKind.COMPANY)
        for key, name, short in [
            ("priobye", "ООО «УК «Приобье»", "УК «Приобье»"),
            ("vostok", "ООО «УК «Восток»", "УК «Восток»"),
        ]
    }
    report = do_import_gazetteer(GAZETTEER.encode())
    assert report.errors == []
    yield companies
    reset_cache()
    reset_classifier()


def _rule(lead: Department, *, by_building: bool, co: tuple[Department, ...] = ()) -> RoutingRule:
    rule = RoutingRule.objects.create(
        name="ЖКХ", group=TopicGroup.objects.get(name="ЖКХ"), lead=lead, lead_from_building=by_building
    )
    rule.co_executors.set(co)
    return rule


def _classified(text: str):
    incident = ingest(text)
    return do_classify(incident, topic=None, group=TopicGroup.objects.get(name="ЖКХ"), confidence=0.9, actor=None)


def test_the_managing_company_of_a_known_building_leads(city, housing):
    _rule(housing, by_building=True)
    text = "в подъезде на ленина 15 течёт крыша"
    suggestion = suggest_route(_classified(text), text)
    assert suggestion is not None and suggestion.lead == city["priobye"]


def test_the_company_is_no_co_executor_of_itself(city, housing):
    _rule(housing, by_building=True, co=(city["vostok"],))
    text = "Омская 12, лифт не работает"
    suggestion = suggest_route(_classified(text), text)
    assert suggestion is not None
    assert suggestion.lead == city["vostok"] and suggestion.co_executors == []


def test_an_unknown_building_leaves_the_rules_lead(city, housing):
    _rule(housing, by_building=True)
    for text in ("на ленина 99 течёт крыша", "течёт крыша, адреса не скажу"):
        suggestion = suggest_route(_classified(text), text)
        assert suggestion is not None and suggestion.lead == housing, text


def test_a_rule_without_the_option_keeps_its_lead(city, housing):
    _rule(housing, by_building=False)
    text = "на ленина 15 течёт крыша"
    suggestion = suggest_route(_classified(text), text)
    assert suggestion is not None and suggestion.lead == housing


def test_an_inactive_company_does_not_lead(city, housing):
    _rule(housing, by_building=True)
    city["priobye"].is_active = False
    city["priobye"].save(update_fields=["is_active"])
    text = "на ленина 15 течёт крыша"
    suggestion = suggest_route(_classified(text), text)
    assert suggestion is not None and suggestion.lead == housing


def test_the_pipeline_sets_the_place_and_routes_to_the_company(city, housing, django_capture_on_commit_callbacks):
    topic = Topic.objects.filter(group__name="ЖКХ", is_active=True).first()
    _rule(housing, by_building=True)
    with django_capture_on_commit_callbacks(execute=True):
        post = do_ingest_post(
            source=default_source("vk"),
            external_id="b-1",
            text="Третий день течёт крыша, омская 12, никто не приходит",
            posted_at=timezone.now(),
            topic=topic,
        ).post
    incident = post.incident
    incident.refresh_from_db()
    assert incident.address == "улица Омская, 12"
    assert incident.territory.name == "Восток"
    assert incident.status == IncidentStatus.ROUTED
    lead = Assignment.objects.get(incident=incident, role=AssignmentRole.LEAD)
    assert lead.department == city["vostok"]


def test_the_pipeline_names_a_landmark_with_its_building(city, housing, django_capture_on_commit_callbacks):
    topic = Topic.objects.filter(group__name="ЖКХ", is_active=True).first()
    _rule(housing, by_building=True)
    with django_capture_on_commit_callbacks(execute=True):
        post = do_ingest_post(
            source=default_source("vk"),
            external_id="b-2",
            text="Возле школы №9 прорвало трубу",
            posted_at=timezone.now(),
            topic=topic,
        ).post
    incident = post.incident
    incident.refresh_from_db()
    assert incident.address == "школа №9 (улица Омская, 12)"
    assert incident.territory.name == "Восток"
