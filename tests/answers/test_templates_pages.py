"""The head of the service's answer-template pages: list with search and filters, create, edit, deactivate, and
the live preview with its quality findings."""

from __future__ import annotations

import pytest
from django.contrib.admin.models import ADDITION, CHANGE, LogEntry

from otklik.answers.choices import AnswerKind
from otklik.answers.models import AnswerTemplate
from otklik.org.models import Topic, TopicGroup
from tests.factories import PASSWORD, ingest

pytestmark = pytest.mark.django_db

LIST = "/settings/answer-templates/"
NEW = "/settings/answer-templates/new/"
PREVIEW = "/settings/answer-templates/preview/"
HX = {"HTTP_HX_REQUEST": "true"}


def login(client, user):
    assert client.login(username=user.username, password=PASSWORD)
    return client


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
def templates(zhkh, roads_group):
    return {
        "general": AnswerTemplate.objects.create(
            name="Окончательный — общий", kind=AnswerKind.FINAL, text="Здравствуйте! {{ information }}"
        ),
        "zhkh": AnswerTemplate.objects.create(
            name="ЖКХ — первичный", kind=AnswerKind.PRIMARY, group=zhkh, text="Здравствуйте! Передали в УК."
        ),
        "roads": AnswerTemplate.objects.create(
            name="Дороги — отказ", kind=AnswerKind.REFUSAL, group=roads_group, text="Здравствуйте! Ямы не наши."
        ),
        "old": AnswerTemplate.objects.create(
            name="Старый шаблон", kind=AnswerKind.FINAL, text="Добрый день!", is_active=False
        ),
    }


def names(response) -> set[str]:
    content = response.content.decode()
    return {t.name for t in AnswerTemplate.objects.all() if f">{t.name}</a>" in content}


def form_data(**changes):
    data = {
        "name": "Тестовый шаблон",
        "kind": AnswerKind.PRIMARY,
        "group": "",
        "topic": "",
        "text": "Здравствуйте, {{ citizen }}! Ответим до {{ deadline }}.",
        "is_active": "on",
    }
    data.update(changes)
    return data


# --- who may --------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("url", [LIST, NEW])
def test_an_operator_cannot_open_the_template_pages(client, operator, url):
    assert login(client, operator).get(url).status_code == 403


def test_an_operator_cannot_create_edit_deactivate_or_preview_a_template(client, operator, templates):
    login(client, operator)
    pk = templates["general"].pk

    assert client.post(NEW, form_data()).status_code == 403
    assert client.post(f"{LIST}{pk}/", form_data(name="Взлом")).status_code == 403
    assert client.post(f"{LIST}{pk}/toggle/").status_code == 403
    assert client.post(PREVIEW, {"text": "Здравствуйте!"}).status_code == 403
    assert AnswerTemplate.objects.count() == 4
    assert AnswerTemplate.objects.get(pk=pk).is_active


def test_an_executor_cannot_open_the_templates(client, executor):
    assert login(client, executor).get(LIST).status_code == 403


def test_an_anonymous_visitor_is_sent_to_log_in(client):
    response = client.get(LIST)
    assert response.status_code == 302
    assert "/login/" in response["Location"]


# --- the list -------------------------------------------------------------------------------------------------


def test_the_head_sees_the_active_templates(client, head, templates):
    response = login(client, head).get(LIST)

    assert response.status_code == 200
    assert names(response) == {"Окончательный — общий", "ЖКХ — первичный", "Дороги — отказ"}
    assert 'href="/settings/answer-templates/"' in response.content.decode()


def test_the_list_searches_names_and_texts(client, head, templates):
    login(client, head)

    assert names(client.get(LIST, {"q": "первичн"})) == {"ЖКХ — первичный"}
    assert names(client.get(LIST, {"q": "ЯМЫ"})) == {"Дороги — отказ"}


def test_the_list_filters_by_kind_group_general_and_activity(client, head, templates, zhkh):
    login(client, head)

    assert names(client.get(LIST, {"kind": "refusal"})) == {"Дороги — отказ"}
    assert names(client.get(LIST, {"group": zhkh.pk})) == {"ЖКХ — первичный"}
    assert names(client.get(LIST, {"group": "general"})) == {"Окончательный — общий"}
    assert names(client.get(LIST, {"active": "inactive"})) == {"Старый шаблон"}


def test_an_htmx_search_renders_only_the_results(client, head, templates):
    response = login(client, head).get(LIST, {"q": "Дороги"}, **HX)

    content = response.content.decode()
    assert content.lstrip().startswith('<div id="results">')
    assert "<nav" not in content
    assert names(response) == {"Дороги — отказ"}


# --- create, edit, deactivate -----------------------------------------------------------------------------------


def test_the_head_creates_a_template_for_a_topic(client, head, zhkh, hot_water):
    response = login(client, head).post(NEW, form_data(group=zhkh.pk, topic=hot_water.pk))

    assert response.status_code == 302
    template = AnswerTemplate.objects.get(name="Тестовый шаблон")
    assert (template.kind, template.group, template.topic, template.updated_by) == (
        AnswerKind.PRIMARY,
        zhkh,
        hot_water,
        head,
    )
    assert LogEntry.objects.filter(object_id=str(template.pk), action_flag=ADDITION, user=head).exists()


def test_an_unknown_variable_is_a_form_error_and_nothing_is_saved(client, head):
    response = login(client, head).post(NEW, form_data(text="Здравствуйте, {{ имя }}! Ответим до {{ deadline }}."))

    assert response.status_code == 200
    errors = response.context["form"].errors.as_data()["text"]
    assert [e.code for e in errors] == ["template_syntax"]
    assert "{{ имя }}" in errors[0].messages[0]
    assert "{{ имя }}" in response.content.decode()  # what was typed is kept
    assert not AnswerTemplate.objects.exists()


def test_a_topic_of_another_group_is_refused(client, head, roads_group, hot_water):
    response = login(client, head).post(NEW, form_data(group=roads_group.pk, topic=hot_water.pk))

    assert response.status_code == 200
    assert [e.code for e in response.context["form"].errors.as_data()["topic"]] == ["topic_group"]
    assert not AnswerTemplate.objects.exists()


def test_the_head_edits_a_template_and_the_change_is_logged(client, head, templates):
    template = templates["general"]

    response = login(client, head).post(
        f"{LIST}{template.pk}/",
        form_data(name=template.name, kind=AnswerKind.FINAL, text="Здравствуйте! {{ information }} Фото прилагаем."),
    )

    assert response.status_code == 302
    template.refresh_from_db()
    assert template.text == "Здравствуйте! {{ information }} Фото прилагаем."
    assert template.updated_by == head
    assert LogEntry.objects.filter(object_id=str(template.pk), action_flag=CHANGE).exists()


def test_the_head_deactivates_a_template_and_keeps_the_filters(client, head, templates):
    template = templates["zhkh"]

    response = login(client, head).post(f"{LIST}{template.pk}/toggle/", {"next": f"{LIST}?kind=primary"})

    assert response.status_code == 302
    assert response["Location"] == f"{LIST}?kind=primary"
    template.refresh_from_db()
    assert not template.is_active
    assert template.updated_by == head


def test_the_toggle_does_not_follow_a_foreign_next(client, head, templates):
    response = login(client, head).post(f"{LIST}{templates['old'].pk}/toggle/", {"next": "https://evil.example/"})

    assert response["Location"] == LIST
    assert AnswerTemplate.objects.get(pk=templates["old"].pk).is_active


# --- the live preview ----------------------------------------------------------------------------------------


def test_the_form_asks_for_a_debounced_live_preview(client, head, templates):
    content = login(client, head).get(f"{LIST}{templates['general'].pk}/").content.decode()

    assert f'hx-post="{PREVIEW}"' in content
    assert 'hx-trigger="keyup changed delay:500ms"' in content
    assert "{{ promised_date }}" in content  # the variables' help
    assert 'id="preview"' in content


def test_the_preview_renders_a_sample_incident_and_shows_the_findings(client, head):
    text = "Здравствуйте, {{ citizen }}! В рамках проверки данный вопрос будет решён в ближайшее время."

    response = login(client, head).post(PREVIEW, {"text": text, "kind": "primary"}, **HX)

    content = response.content.decode()
    assert response.status_code == 200
    assert "Здравствуйте, Анна!" in content
    assert 'data-code="bureaucratese"' in content
    assert 'data-code="deadline_missing"' in content
    assert 'href="/kb/check/deadline_missing/"' in content
    assert "<nav" not in content  # a fragment, not a page


def test_a_clean_text_has_no_findings_in_the_preview(client, head):
    text = (
        "Здравствуйте, {{ citizen }}! Управляющая компания заменит трубу до {{ promised_date }}. "
        "Когда работы закончат, напишем вам здесь."
    )

    content = login(client, head).post(PREVIEW, {"text": text, "kind": "intermediate"}).content.decode()

    assert "data-no-findings" in content
    assert "data-code=" not in content


def test_the_preview_uses_a_real_incident_by_its_number(client, head):
    incident = ingest("Нет горячей воды на улице Мира 3", author_name="Пётр Сидоров")

    content = (
        login(client, head)
        .post(PREVIEW, {"text": "Здравствуйте, {{ citizen }}! Обращение №{{ number }}.", "incident": f"№{incident.pk}"})
        .content.decode()
    )

    assert f"Здравствуйте, Пётр! Обращение №{incident.pk}." in content
    assert f'href="/incidents/{incident.pk}/"' in content


def test_an_unknown_incident_number_falls_back_to_the_sample(client, head):
    content = (
        login(client, head)
        .post(PREVIEW, {"text": "Здравствуйте, {{ citizen }}!", "incident": "999999"})
        .content.decode()
    )

    assert "Здравствуйте, Анна!" in content
    assert "999999" in content


def test_the_preview_lists_the_template_errors(client, head):
    content = login(client, head).post(PREVIEW, {"text": "Здравствуйте, {{ имя }}!"}).content.decode()

    assert "data-template-errors" in content
    assert "{{ имя }}" in content


def test_the_preview_answers_only_a_post(client, head):
    assert login(client, head).get(PREVIEW).status_code == 405


def test_the_list_is_ordered_by_kind_as_an_incident_goes_through_them(client, head, templates):
    content = login(client, head).get(LIST).content.decode()

    positions = [
        content.index(f">{name}</a>") for name in ("ЖКХ — первичный", "Окончательный — общий", "Дороги — отказ")
    ]
    assert positions == sorted(positions)
