"""POST /api/v1/posts: a post in, the ids out; idempotent; every invalid field named."""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

import pytest
from django.utils import timezone

from otklik.cases.models import Event, Incident
from otklik.intake.models import Post, Source

pytestmark = pytest.mark.django_db

URL = "/api/v1/posts"


def valid(**overrides: object) -> dict[str, object]:
    body: dict[str, object] = {
        "source": "vk",
        "external_id": "wall-1_100",
        "text": "Третий день нет горячей воды на улице Ленина 5",
        "posted_at": "2025-03-01T14:30:00+05:00",
        "author": "Иван Петров",
        "author_id": "id12345",
        "url": "https://vk.com/wall-1_100",
        "thread_id": "",
    }
    body.update(overrides)
    return {k: v for k, v in body.items() if v is not ...}


def test_it_creates_a_post_and_an_incident_and_answers_201(client_for, operator):
    response = client_for(operator).post(URL, valid(), format="json")

    assert response.status_code == 201
    post = Post.objects.get()
    assert response.json() == {"post_id": post.pk, "incident_id": post.incident_id}
    assert post.source == Source.objects.get(channel="vk", account="")
    assert post.author_name == "Иван Петров"
    assert post.author_id == "id12345"
    assert post.url == "https://vk.com/wall-1_100"
    assert post.posted_at == dt.datetime(2025, 3, 1, 9, 30, tzinfo=dt.UTC)
    assert Event.objects.get(incident_id=post.incident_id, verb="created").actor == operator


def test_it_answers_200_with_the_same_ids_and_no_new_rows_for_a_repeat(client_for, operator):
    client = client_for(operator)
    first = client.post(URL, valid(), format="json")
    counts = (Post.objects.count(), Incident.objects.count(), Event.objects.count(), Source.objects.count())

    again = client.post(URL, valid(text="Текст изменился, но это тот же пост"), format="json")

    assert first.status_code == 201
    assert again.status_code == 200
    assert again.json() == first.json()
    assert (Post.objects.count(), Incident.objects.count(), Event.objects.count(), Source.objects.count()) == counts


def test_it_treats_the_same_external_id_from_another_source_as_another_post(client_for, operator):
    client = client_for(operator)
    first = client.post(URL, valid(source="vk"), format="json")
    other = client.post(URL, valid(source="telegram"), format="json")

    assert (first.status_code, other.status_code) == (201, 201)
    assert first.json()["post_id"] != other.json()["post_id"]


def test_it_takes_a_time_without_an_offset_as_the_citys_time(client_for, operator, settings):
    settings.TIME_ZONE = "Asia/Yekaterinburg"
    response = client_for(operator).post(URL, valid(posted_at="2025-03-01T14:30:00"), format="json")

    assert response.status_code == 201
    posted_at = Post.objects.get().posted_at
    assert posted_at == dt.datetime(2025, 3, 1, 14, 30, tzinfo=ZoneInfo("Asia/Yekaterinburg"))
    assert posted_at == dt.datetime(2025, 3, 1, 9, 30, tzinfo=dt.UTC)


def test_it_accepts_utc_with_a_z(client_for, operator):
    response = client_for(operator).post(URL, valid(posted_at="2025-03-01T09:30:00Z"), format="json")

    assert response.status_code == 201
    assert Post.objects.get().posted_at == dt.datetime(2025, 3, 1, 9, 30, tzinfo=dt.UTC)


def test_it_stores_the_topic_the_sender_knows_with_or_without_the_star(client_for, operator, topics):
    client = client_for(operator)
    plain = client.post(URL, valid(external_id="a", topic="Уборка дворов"), format="json")
    starred = client.post(URL, valid(external_id="b", topic="★ Отсутствие горячей воды"), format="json")

    assert (plain.status_code, starred.status_code) == (201, 201)
    assert Post.objects.get(pk=plain.json()["post_id"]).topic_hint == topics["yard"]
    assert Post.objects.get(pk=starred.json()["post_id"]).topic_hint == topics["hot_water"]


def test_it_refuses_an_unknown_topic_naming_it(client_for, operator, topics):
    response = client_for(operator).post(URL, valid(topic="Нашествие инопланетян"), format="json")

    assert response.status_code == 400
    assert list(response.json()) == ["topic"]
    assert "Нашествие инопланетян" in response.json()["topic"][0]
    assert not Post.objects.exists()


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("source", ...),
        ("source", "myspace"),
        ("source", ""),
        ("source", None),
        ("external_id", ...),
        ("external_id", "   "),
        ("external_id", "x" * 256),
        ("text", ...),
        ("text", "  "),
        ("text", {"a": 1}),
        ("posted_at", ...),
        ("posted_at", "вчера"),
        ("posted_at", "2025-13-01T10:00:00"),
        ("posted_at", 1700000000),
        ("posted_at", "2999-01-01T10:00:00+05:00"),
        ("posted_at", "1970-01-01T00:00:00Z"),
        ("posted_at", "0001-01-01T00:00:00"),
        ("posted_at", "9999-12-31T23:59:59-12:00"),
        ("author", "x" * 256),
        ("author_id", ["id1"]),
        ("url", "не ссылка"),
        ("thread_id", "x" * 256),
    ],
)
def test_it_refuses_each_invalid_field_naming_it(client_for, operator, field, value):
    response = client_for(operator).post(URL, valid(**{field: value}), format="json")

    assert response.status_code == 400
    body = response.json()
    assert list(body) == [field]
    assert isinstance(body[field], list)
    assert body[field][0]
    assert not Post.objects.exists()


def test_it_names_every_invalid_field_at_once(client_for, operator):
    body = {"source": "myspace", "text": "", "posted_at": "завтра", "url": "ftp:/x", "colour": "red"}

    response = client_for(operator).post(URL, body, format="json")

    assert response.status_code == 400
    assert set(response.json()) == {"source", "external_id", "text", "posted_at", "url", "colour"}


def test_it_refuses_unknown_fields_naming_them(client_for, operator):
    response = client_for(operator).post(URL, valid(title="Заголовок", likes=5), format="json")

    assert response.status_code == 400
    assert set(response.json()) == {"title", "likes"}
    assert "external_id" in response.json()["title"][0]  # the message lists the allowed fields
    assert not Post.objects.exists()


def test_its_messages_are_in_russian(client_for, operator):
    response = client_for(operator).post(
        URL, valid(source="myspace", text="", url="vk.com", posted_at="вчера", extra=1), format="json"
    )

    assert response.status_code == 400
    assert set(response.json()) == {"source", "text", "url", "posted_at", "extra"}
    for messages in response.json().values():
        assert any("а" <= ch <= "я" for ch in messages[0].lower()), messages


def test_it_explains_what_a_valid_link_is(client_for, operator):
    response = client_for(operator).post(URL, valid(url="vk.com/wall-1"), format="json")

    assert response.status_code == 400
    assert "https://" in response.json()["url"][0]


def test_it_refuses_a_body_that_is_not_an_object(client_for, operator):
    response = client_for(operator).post(URL, [valid()], format="json")

    assert response.status_code == 400
    assert not Post.objects.exists()


def test_it_refuses_malformed_json(client_for, operator):
    response = client_for(operator).post(URL, "{not json", content_type="application/json")

    assert response.status_code == 400
    assert "detail" in response.json()


@pytest.mark.parametrize("persona", ["operator", "head", "admin_user"])
def test_it_lets_the_service_roles_send_posts(client_for, persona, request):
    user = request.getfixturevalue(persona)

    assert client_for(user).post(URL, valid(), format="json").status_code == 201


@pytest.mark.parametrize("persona", ["executor", "dept_head", "director"])
def test_it_forbids_other_roles_to_send_posts(client_for, persona, request):
    user = request.getfixturevalue(persona)

    response = client_for(user).post(URL, valid(), format="json")

    assert response.status_code == 403
    assert "detail" in response.json()
    assert not Post.objects.exists()


def test_it_answers_401_with_json_without_a_token(anon):
    response = anon.post(URL, valid(), format="json")

    assert response.status_code == 401
    assert response["Content-Type"].startswith("application/json")
    assert "detail" in response.json()
    assert response["WWW-Authenticate"] == "Token"


def test_it_works_with_and_without_a_trailing_slash_without_redirects(client_for, operator):
    client = client_for(operator)

    without = client.post("/api/v1/posts", valid(external_id="1"), format="json")
    with_slash = client.post("/api/v1/posts/", valid(external_id="2"), format="json")
    repeat = client.post("/api/v1/posts/", valid(external_id="1"), format="json")

    assert (without.status_code, with_slash.status_code, repeat.status_code) == (201, 201, 200)


def test_it_keeps_the_time_of_the_post_not_the_time_of_arrival(client_for, operator):
    posted = timezone.now() - dt.timedelta(days=3)

    client_for(operator).post(URL, valid(posted_at=posted.isoformat()), format="json")

    assert Post.objects.get().posted_at == posted
