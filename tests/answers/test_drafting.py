"""Drafting answers from templates: the most specific template wins, variables are rendered safely, the seed
templates pass the quality checks."""

from __future__ import annotations

import datetime as dt

import pytest
from django.core.management import call_command
from django.utils import timezone

from otklik.answers.checks import ERROR, run_checks
from otklik.answers.choices import AnswerKind
from otklik.answers.drafting import (
    SAMPLE_COMPLAINT,
    VARIABLES,
    choose_templates,
    draft_texts,
    first_name,
    incident_context,
    missing_markers,
    render_template,
    sample_context,
    template_errors,
    template_variables,
    unknown_variables,
)
from otklik.answers.management.commands.load_answer_templates import DEFAULT_TEMPLATES
from otklik.answers.models import Answer, AnswerTemplate
from otklik.answers.services import do_draft_answer
from otklik.cases.services import do_classify
from otklik.org.models import Topic, TopicGroup
from tests.factories import PASSWORD, ingest


@pytest.fixture
def zhkh(db):
    return TopicGroup.objects.create(name="ЖКХ")


@pytest.fixture
def roads_group(db):
    return TopicGroup.objects.create(name="Дороги")


@pytest.fixture
def hot_water(zhkh):
    return Topic.objects.create(name="Отсутствие горячей воды", group=zhkh)


@pytest.fixture
def heating(zhkh):
    return Topic.objects.create(name="Отопление", group=zhkh)


@pytest.fixture
def incident(hot_water):
    incident = ingest("Третий день нет горячей воды на улице Ленина 5", author_name="Иван Петров")
    return do_classify(incident, topic=hot_water, actor=None)


def make(name: str, kind: str = AnswerKind.FINAL, *, group=None, topic=None, text: str = "", active: bool = True):
    return AnswerTemplate.objects.create(
        name=name, kind=kind, group=group, topic=topic, text=text or f"Здравствуйте! {name}", is_active=active
    )


def drafts(incident, *, lead_info: str = "", lead_name: str = "") -> dict[str, str]:
    posts = list(incident.posts.all())
    return draft_texts(incident, posts=posts, lead_info=lead_info, lead_name=lead_name)


# --- choosing a template ----------------------------------------------------------------------------------


def test_the_topic_template_wins_over_the_group_and_the_general_one(incident, zhkh, hot_water):
    make("Общий")
    make("Группа ЖКХ", group=zhkh)
    make("Тема горячей воды", topic=hot_water)

    assert choose_templates(incident)[AnswerKind.FINAL].name == "Тема горячей воды"


def test_the_group_template_wins_over_the_general_one_when_no_topic_template_fits(incident, zhkh, heating):
    make("Общий")
    make("Группа ЖКХ", group=zhkh)
    make("Тема отопления", topic=heating)

    assert choose_templates(incident)[AnswerKind.FINAL].name == "Группа ЖКХ"


def test_the_general_template_is_used_when_only_another_group_has_one(incident, roads_group):
    make("Общий")
    make("Дороги", group=roads_group)

    assert choose_templates(incident)[AnswerKind.FINAL].name == "Общий"


def test_an_inactive_template_is_never_chosen(incident, hot_water):
    make("Общий")
    make("Тема горячей воды", topic=hot_water, active=False)

    assert choose_templates(incident)[AnswerKind.FINAL].name == "Общий"


def test_each_kind_gets_its_own_template_and_equal_ones_are_taken_by_name(incident, zhkh):
    make("Б первичный", AnswerKind.PRIMARY)
    make("А первичный", AnswerKind.PRIMARY)
    make("ЖКХ отказ", AnswerKind.REFUSAL, group=zhkh)

    chosen = choose_templates(incident)

    assert {kind: t.name for kind, t in chosen.items()} == {
        AnswerKind.PRIMARY: "А первичный",
        AnswerKind.REFUSAL: "ЖКХ отказ",
    }


def test_an_incident_without_a_topic_uses_its_group_or_the_general_template(db, zhkh):
    incident = do_classify(ingest("Во дворе лужа"), topic=None, group=zhkh, actor=None)
    make("Общий")
    make("Группа ЖКХ", group=zhkh)

    assert choose_templates(incident)[AnswerKind.FINAL].name == "Группа ЖКХ"


def test_a_kind_without_a_template_keeps_the_built_in_text(incident, hot_water):
    make("Тема: окончательный", topic=hot_water, text="Здравствуйте, {{ citizen }}! {{ information }}")

    texts = drafts(incident, lead_info="Воду дали 3 декабря.", lead_name="Департамент ЖКХ")

    assert texts[AnswerKind.FINAL] == "Здравствуйте, Иван! Воду дали 3 декабря."
    # The others are the card's built-in texts: they name the department and never contain a placeholder.
    assert "Департамент ЖКХ" in texts[AnswerKind.PRIMARY]
    assert all("{{" not in text for text in texts.values())
    assert set(texts) == set(AnswerKind.values)


# --- rendering --------------------------------------------------------------------------------------------


def test_it_renders_every_variable_from_the_incident(incident, housing):
    incident.address = "ул. Ленина, 5"
    incident.due_at = dt.datetime(2026, 12, 15, 10, 0, tzinfo=dt.UTC)
    incident.save(update_fields=["address", "due_at"])
    text = "\n".join(f"{{{{ {name} }}}}" for name in VARIABLES)

    values = incident_context(
        incident, posts=list(incident.posts.all()), lead_info="Воду дали.", lead_name=housing.name
    )
    rendered = render_template(text, values)

    parts = rendered.split("\n")
    assert dict(zip(VARIABLES, parts, strict=True)) == {
        "citizen": "Иван",
        "address": "ул. Ленина, 5",
        "department": "Департамент ЖКХ",
        "deadline": "15.12.2026",
        "promised_date": missing_markers()["promised_date"],
        "information": "Воду дали.",
        "topic": "Отсутствие горячей воды",
        "number": str(incident.pk),
        "contacts": "",
        "today": timezone.localdate().strftime("%d.%m.%Y"),
    }


def test_the_promised_date_comes_from_the_intermediate_answer(incident, operator, settings):
    settings.OTKLIK_SERVICE_CONTACTS = "Телефон приёмной: 41-20-30"
    promised = timezone.localdate() + dt.timedelta(days=10)
    do_draft_answer(
        incident,
        actor=operator,
        kind=AnswerKind.INTERMEDIATE,
        text="Здравствуйте! Трубу заменят до указанной даты, напишем вам.",
        promised_date=promised,
    )
    incident = type(incident).objects.get(pk=incident.pk)

    values = incident_context(incident, posts=list(incident.posts.all()), lead_info="", lead_name="")

    assert values["promised_date"] == promised.strftime("%d.%m.%Y")
    assert values["contacts"] == "Телефон приёмной: 41-20-30"
    assert values["information"] == missing_markers()["information"]
    assert Answer.objects.filter(incident=incident).count() == 1


@pytest.mark.parametrize(
    ("author", "expected"),
    [
        ("Иван Петров", "Иван"),
        ("ivan_1985", "ivan_1985"),
        ("Анна", "Анна"),
        ("Мария Ивановна Кузнецова", "Мария Ивановна Кузнецова"),
    ],
)
def test_the_citizen_is_named_as_he_wrote_his_name(author, expected):
    assert first_name(author) == expected


def test_an_empty_name_takes_its_comma_away():
    assert render_template("Здравствуйте, {{ citizen }}! Спасибо.", {"citizen": ""}) == "Здравствуйте! Спасибо."
    assert render_template("Адрес: {{ address }} , дом", {"address": "  "}) == "Адрес: , дом"
    assert render_template("Срок {{ deadline }} указан", {}) == "Срок указан"


def test_the_renderer_interprets_nothing():
    values = {"citizen": "{{ address }} <b>{% now %}</b>", "address": "SECRET"}

    rendered = render_template("Здравствуйте, {{citizen}}! {{ unknown }} {% if x %}{{ address|upper }}", values)

    assert rendered == "Здравствуйте, {{ address }} <b>{% now %}</b>! {{ unknown }} {% if x %}{{ address|upper }}"


def test_unknown_variables_and_broken_braces_are_errors():
    assert unknown_variables("{{ citizen }} {{ имя }} {{ address|upper }} {{ citizen }}") == ["имя", "address|upper"]
    assert len(template_errors("Здравствуйте, {{ имя }}!")) == 1
    assert "{{ имя }}" in template_errors("Здравствуйте, {{ имя }}!")[0]
    assert template_errors("Здравствуйте, {{ citizen }!")
    assert template_errors("{% if citizen %}Здравствуйте{% endif %}")
    assert template_errors("Здравствуйте, {{ citizen }}! Срок: {{deadline}}.") == []


def test_every_variable_has_a_description():
    described = template_variables()
    assert set(described) == set(VARIABLES)
    assert all(description.strip() for description in described.values())


# --- the card drafts from the templates ---------------------------------------------------------------------


def test_the_card_shows_the_draft_from_the_template(client, operator, incident, hot_water):
    make(
        "Тема: первичный",
        AnswerKind.PRIMARY,
        topic=hot_water,
        text="Здравствуйте, {{ citizen }}! Шаблон темы №{{ number }}.",
    )
    assert client.login(username=operator.username, password=PASSWORD)

    response = client.get(f"/incidents/{incident.pk}/")

    assert response.status_code == 200
    assert f"Здравствуйте, Иван! Шаблон темы №{incident.pk}." in response.content.decode()


# --- the default templates ----------------------------------------------------------------------------------


@pytest.mark.parametrize(("name", "kind", "group", "text"), DEFAULT_TEMPLATES, ids=[t[0] for t in DEFAULT_TEMPLATES])
def test_every_default_template_passes_the_quality_checks_with_sample_values(name, kind, group, text):
    assert template_errors(text) == []
    rendered = render_template(text, sample_context(kind))

    findings = run_checks(rendered, SAMPLE_COMPLAINT)

    assert "{{" not in rendered
    assert [(f.code, rendered[f.start : f.end]) for f in findings if f.severity == ERROR] == []
    # Written by the recommendations: a greeting and plain words, not just "no errors".
    assert not {f.code for f in findings} & {"greeting_missing", "bureaucratese", "too_short", "too_long"}


def test_the_sample_check_can_fail_a_template_without_evidence():
    final = next(text for _name, kind, group, text in DEFAULT_TEMPLATES if kind == AnswerKind.FINAL and group is None)
    without_photo = final.replace("Фото после работ прилагаем. ", "")

    codes = {f.code for f in run_checks(render_template(without_photo, sample_context(AnswerKind.FINAL)))}

    assert "evidence_missing" in codes


def test_the_default_templates_cover_every_kind_and_load_once(db, zhkh, roads_group):
    call_command("load_answer_templates", verbosity=0)
    AnswerTemplate.objects.filter(name="Отказ — общий").update(text="Здравствуйте! Изменено руководителем службы.")
    call_command("load_answer_templates", verbosity=0)

    assert AnswerTemplate.objects.count() == len(DEFAULT_TEMPLATES)
    general = AnswerTemplate.objects.filter(group__isnull=True, topic__isnull=True)
    assert set(general.values_list("kind", flat=True)) == set(AnswerKind.values)
    assert AnswerTemplate.objects.get(name="Отказ — общий").text == "Здравствуйте! Изменено руководителем службы."
    assert AnswerTemplate.objects.filter(group=zhkh).count() == 2
    assert AnswerTemplate.objects.filter(group=roads_group).count() == 2


def test_templates_of_a_missing_group_are_skipped(db):
    call_command("load_answer_templates", verbosity=0)

    assert AnswerTemplate.objects.count() == sum(1 for t in DEFAULT_TEMPLATES if t[2] is None)
