"""The knowledge base of methodological recommendations: the service reads and searches it, the head edits it, a
quality finding links to the article that explains it; the first articles cover every check."""

from __future__ import annotations

import pytest
from django.contrib.admin.models import ADDITION, LogEntry
from django.core.management import call_command

from otklik.answers.checks import CODES, ERROR, run_checks
from otklik.answers.forms_kb import slug_for
from otklik.answers.management.commands.load_kb import ARTICLES
from otklik.answers.models import Article
from tests.factories import PASSWORD

pytestmark = pytest.mark.django_db


def login(client, user):
    assert client.login(username=user.username, password=PASSWORD)
    return client


@pytest.fixture
def articles(db):
    return {
        "plain": Article.objects.create(
            title="Пишите просто",
            slug="pishite-prosto",
            body="Канцелярит мешает понять ответ.",
            good_example="Здравствуйте! Двор уберём до пятницы.",
            bad_example="В рамках осуществления уборки…",
            codes=["bureaucratese"],
        ),
        "overview": Article.objects.create(
            title="Анатомия ответа",
            slug="anatomiya",
            body="Приветствие, суть, срок, доказательство.",
            codes=["greeting_missing", "deadline_missing", "bureaucratese"],
        ),
        "dates": Article.objects.create(
            title="Сроки", slug="sroki", body="Называйте дату: «до 15 декабря».", codes=["deadline_missing"]
        ),
        "draft": Article.objects.create(
            title="Черновик о фото",
            slug="chernovik",
            body="Ещё пишется.",
            codes=["evidence_missing"],
            is_published=False,
        ),
    }


def listed(response) -> set[str]:
    content = response.content.decode()
    return {a.slug for a in Article.objects.all() if f'data-article="{a.slug}"' in content}


# --- reading ------------------------------------------------------------------------------------------------


def test_an_operator_reads_the_published_articles(client, operator, articles):
    response = login(client, operator).get("/kb/")

    assert response.status_code == 200
    assert listed(response) == {"pishite-prosto", "anatomiya", "sroki"}
    assert 'href="/kb/new/"' not in response.content.decode()


def test_the_article_shows_good_and_bad_examples_and_the_checks_it_explains(client, operator, articles):
    response = login(client, operator).get("/kb/pishite-prosto/")

    content = response.content.decode()
    assert response.status_code == 200
    assert "Здравствуйте! Двор уберём до пятницы." in content.split("data-good>")[1]
    assert "В рамках осуществления уборки…" in content.split("data-bad>")[1]
    assert 'href="/kb/?code=bureaucratese"' in content
    assert "/kb/pishite-prosto/edit/" not in content


def test_an_unpublished_article_is_hidden_from_the_operator_and_shown_to_the_head(client, operator, head, articles):
    assert login(client, operator).get("/kb/chernovik/").status_code == 404

    login(client, head)
    assert client.get("/kb/chernovik/").status_code == 200
    assert "chernovik" in listed(client.get("/kb/"))


@pytest.mark.parametrize(("q", "expected"), [("канцелярит", {"pishite-prosto"}), ("СРОК", {"anatomiya", "sroki"})])
def test_the_search_finds_words_of_the_title_and_the_text_in_any_case(client, operator, articles, q, expected):
    assert listed(login(client, operator).get("/kb/", {"q": q})) == expected


def test_the_list_filters_by_a_quality_check(client, operator, articles):
    response = login(client, operator).get("/kb/", {"code": "deadline_missing"})

    assert listed(response) == {"anatomiya", "sroki"}


def test_an_htmx_search_renders_only_the_results(client, operator, articles):
    response = login(client, operator).get("/kb/", {"q": "просто"}, HTTP_HX_REQUEST="true")

    assert response.content.decode().lstrip().startswith('<div id="results">')
    assert listed(response) == {"pishite-prosto"}


def test_a_department_user_cannot_read_or_edit_the_base(client, executor, articles):
    login(client, executor)

    assert client.get("/kb/").status_code == 403
    assert client.get("/kb/pishite-prosto/edit/").status_code == 403
    assert client.get("/kb/new/").status_code == 403


# --- the link from a finding ----------------------------------------------------------------------------------


def test_a_finding_opens_the_most_specific_article_for_its_check(client, operator, articles):
    response = login(client, operator).get("/kb/check/deadline_missing/")

    assert response.status_code == 302
    assert response["Location"] == "/kb/sroki/"


def test_a_check_without_a_published_article_opens_the_filtered_list(client, operator, articles):
    response = login(client, operator).get("/kb/check/evidence_missing/")

    assert response.status_code == 302
    assert response["Location"] == "/kb/?code=evidence_missing"


def test_an_unknown_check_is_not_found(client, operator):
    assert login(client, operator).get("/kb/check/nonsense/").status_code == 404


# --- editing --------------------------------------------------------------------------------------------------


def test_an_operator_cannot_edit_or_create_articles(client, operator, articles):
    login(client, operator)

    assert client.get("/kb/pishite-prosto/edit/").status_code == 403
    assert client.post("/kb/pishite-prosto/edit/", {"title": "Взлом", "body": "x"}).status_code == 403
    assert client.post("/kb/new/", {"title": "Новая", "body": "x"}).status_code == 403
    assert Article.objects.get(slug="pishite-prosto").title == "Пишите просто"


def test_the_head_creates_an_article_with_an_address_made_from_the_title(client, head):
    response = login(client, head).post(
        "/kb/new/",
        {
            "title": "Съёмка до и после",
            "slug": "",
            "body": "Фото до и после работ.",
            "good_example": "Фото прилагаем.",
            "bad_example": "Работы выполнены.",
            "codes": ["evidence_missing", "greeting_missing"],
            "is_published": "on",
        },
    )

    article = Article.objects.get()
    assert response.status_code == 302
    assert response["Location"] == f"/kb/{article.slug}/"
    assert article.slug == "semka-do-i-posle"
    assert article.codes == ["greeting_missing", "evidence_missing"]  # in the order of the checks
    assert article.updated_by == head
    assert LogEntry.objects.filter(object_id=str(article.pk), action_flag=ADDITION).exists()


def test_the_head_edits_an_article(client, head, articles):
    response = login(client, head).post(
        "/kb/sroki/edit/",
        {"title": "Сроки в ответе", "slug": "sroki", "body": "Дата или период.", "codes": ["deadline_missing"]},
    )

    assert response.status_code == 302
    article = Article.objects.get(slug="sroki")
    assert (article.title, article.is_published, article.updated_by) == ("Сроки в ответе", False, head)


@pytest.mark.parametrize("slug", ["sroki", "new", "check"])
def test_a_taken_or_reserved_address_is_refused(client, head, articles, slug):
    response = login(client, head).post("/kb/new/", {"title": "Другая", "slug": slug, "body": "Текст."})

    assert response.status_code == 200
    assert "slug" in response.context["form"].errors
    assert Article.objects.count() == 4


def test_an_unknown_check_code_is_refused(client, head):
    response = login(client, head).post("/kb/new/", {"title": "Статья", "body": "Текст.", "codes": ["nonsense"]})

    assert response.status_code == 200
    assert "codes" in response.context["form"].errors


def test_the_transliteration_makes_a_latin_address():
    assert slug_for("Объявление: сроки и «фото»!") == "obyavlenie-sroki-i-foto"


# --- the first articles ------------------------------------------------------------------------------------------


def test_the_first_articles_cover_every_check_and_load_once(db):
    call_command("load_kb", verbosity=0)
    Article.objects.filter(slug="gramotnost").update(body="Изменено руководителем службы.")
    call_command("load_kb", verbosity=0)

    assert Article.objects.count() == len(ARTICLES)
    covered = {code for article in Article.objects.all() for code in article.codes}
    assert covered == set(CODES)
    assert Article.objects.get(slug="gramotnost").body == "Изменено руководителем службы."
    assert all(a.good_example and a.bad_example for a in Article.objects.all())


@pytest.mark.parametrize("seed", ARTICLES, ids=[a.slug for a in ARTICLES])
def test_each_bad_example_shows_what_its_article_explains_and_the_good_one_does_not(seed):
    bad = {f.code for f in run_checks(seed.bad)}
    good = run_checks(seed.good)

    assert bad & set(seed.codes)
    assert not {f.code for f in good} & set(seed.codes)
    assert not [f for f in good if f.severity == ERROR]
