"""`manage.py load_demo`: the demo administration, users and posts; idempotent; every group routed."""

from __future__ import annotations

import io

import pytest
from django.conf import settings
from django.core.management import call_command
from django.utils import translation

from otklik.accounts.models import User
from otklik.answers.models import Answer
from otklik.cases.choices import AssignmentRole, IncidentStatus
from otklik.cases.models import Assignment, Event, Incident
from otklik.intake.choices import AnalysisStatus
from otklik.intake.models import Post
from otklik.notifications.models import Notification
from otklik.org.choices import DepartmentKind
from otklik.org.models import Department, RoutingRule, Territory, Topic, TopicGroup

pytestmark = pytest.mark.django_db

PERSONAS = {
    "operator": ("operator", None),
    "head": ("head", None),
    "executor": ("executor", "Департамент ЖКХ"),
    "executor_roads": ("executor", "Дороги и благоустройство"),
    "dept_head": ("dept_head", "Департамент ЖКХ"),
    "director": ("director", None),
    "admin": ("admin", None),
}


def _load_demo() -> str:
    out = io.StringIO()
    with translation.override("en"):
        call_command("load_demo", stdout=out)
    return out.getvalue()


def _counts() -> dict[str, int]:
    models = [Department, Territory, RoutingRule, User, Topic, Post, Incident, Assignment, Answer, Event, Notification]
    return {m.__name__: m.objects.count() for m in models}


@pytest.fixture
def demo() -> str:
    return _load_demo()


def test_it_is_idempotent(demo):
    before = _counts()
    second = _load_demo()
    assert _counts() == before
    assert "0 created" in second
    assert "0 ingested, 32 already there" in second


def test_it_creates_every_persona_with_the_demo_password(demo):
    for username, (role, department) in PERSONAS.items():
        user = User.objects.get(username=username)
        assert user.role == role
        assert (user.department.short_name if user.department else None) == department
        assert user.check_password(settings.OTKLIK_DEMO_PASSWORD)
        assert user.first_name and user.last_name
        assert user.email.endswith("@example.org")
    admin = User.objects.get(username="admin")
    assert admin.is_superuser and admin.is_staff


def test_it_prints_the_logins_table(demo):
    assert f"password: {settings.OTKLIK_DEMO_PASSWORD}" in demo
    for username in PERSONAS:
        assert f"  {username} " in demo


def test_it_builds_the_administration_of_every_kind(demo):
    kinds = set(Department.objects.values_list("kind", flat=True))
    assert kinds == set(DepartmentKind.values)
    assert Department.objects.filter(kind=DepartmentKind.COMPANY).count() >= 3
    media = Department.objects.get(short_name="Пресс-служба")
    assert media.parent.name == "Департамент общественных коммуникаций и молодежной политики"
    assert Territory.objects.exclude(keywords="").count() >= 3


def test_every_group_of_the_rubricator_has_an_active_catch_all_rule(demo):
    for group in TopicGroup.objects.all():
        assert RoutingRule.objects.filter(
            group=group, topic=None, territory=None, keywords="", is_active=True
        ).exists(), group.name


def test_urgent_rules_are_due_in_4_hours_and_the_others_in_8(demo):
    hot = RoutingRule.objects.get(topic__name="Отсутствие горячей воды", territory=None)
    assert hot.due_hours == 4
    assert hot.lead.short_name == "Теплоснабжение"
    assert [d.short_name for d in hot.co_executors.all()] == ["Департамент ЖКХ"]
    assert RoutingRule.objects.get(topic__name="Ямы во дворах", territory=None).lead.kind == DepartmentKind.INSTITUTION
    assert RoutingRule.objects.get(group__name="Культура").due_hours == 8


def test_demo_posts_are_analysed_and_routed_at_once(demo):
    assert Post.objects.count() == 32
    assert not Post.objects.exclude(analysis_status=AnalysisStatus.DONE).exists()
    hot = Post.objects.get(external_id="demo-vk-wall-1001").incident
    assert hot.status == IncidentStatus.ROUTED
    assert hot.lead_department.short_name == "Теплоснабжение"
    assert hot.assignments.filter(role=AssignmentRole.CO, department__short_name="Департамент ЖКХ").exists()
    assert hot.posts.count() == 3  # the author's follow-up in the thread and a merged duplicate
    pits = Post.objects.get(external_id="demo-vk-wall-1010").incident
    assert (pits.topic.name, pits.lead_department.short_name) == ("Ямы во дворах", "МБУ «УДХБ»")
    # The executors of the housing department were told of their new assignments.
    assert Notification.objects.filter(recipient__username="executor").exists()


def test_every_status_but_new_shows_up(demo):
    statuses = set(Incident.objects.values_list("status", flat=True))
    assert statuses == set(IncidentStatus.values) - {IncidentStatus.NEW}


def test_the_demo_triage_shows_why_each_incident_waits_for_a_person(demo):
    notes = list(Incident.objects.filter(status=IncidentStatus.TRIAGE).values_list("status_note", flat=True))
    assert any("Low classification confidence" in note for note in notes)
    assert any("no topic" in note for note in notes)
