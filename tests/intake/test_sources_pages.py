"""/settings/sources/: the head and admins manage polled sources; the token is write-only everywhere."""

from __future__ import annotations

import pytest
from django.urls import reverse

from otklik.intake.choices import SourceState
from otklik.intake.models import Post, Source
from tests.intake.fake_connector import feed_fixture  # noqa: F401

pytestmark = pytest.mark.django_db

TOKEN = "vk1.a.SuperSecretToken-123456"
BOT_TOKEN = "123456789:AAH-secret-bot-token"


def make_source(**fields) -> Source:
    fields.setdefault("channel", "vk")
    fields.setdefault("account", "1")
    fields.setdefault("name", "VK: администрация")
    fields.setdefault("config", {"group_id": 1, "api_url": "http://127.0.0.1:9/"})
    source = Source(**fields)
    source.set_token(TOKEN)
    source.save()
    return source


def vk_form(**changes) -> dict[str, str]:
    data = {
        "channel": "vk",
        "name": "VK: город",
        "group_id": "42",
        "api_url": "",
        "discussion_chat_id": "",
        "keywords": "яма, свет",
        "poll_interval": "60",
        "is_active": "on",
        "token": TOKEN,
    }
    data.update(changes)
    return data


@pytest.fixture
def as_head(client, head):
    client.force_login(head)
    return client


@pytest.mark.parametrize("persona", ["operator", "executor", "director", "dept_head"])
def test_only_the_head_and_admins_see_the_sources(client, persona, request):
    source = make_source()
    client.force_login(request.getfixturevalue(persona))
    for url in (
        reverse("settings-sources"),
        reverse("settings-source-create"),
        reverse("settings-source-edit", args=[source.pk]),
    ):
        assert client.get(url).status_code == 403
    assert client.post(reverse("settings-source-repair", args=[source.pk])).status_code == 403
    assert client.post(reverse("settings-source-poll", args=[source.pk])).status_code == 403


def test_an_anonymous_visitor_is_sent_to_log_in(client):
    response = client.get(reverse("settings-sources"))
    assert response.status_code == 302
    assert "login" in response["Location"]


def test_the_list_shows_each_source_with_its_health_and_never_the_token(as_head):
    ok = make_source(account="1", name="VK: администрация", failures=1, last_error="timeout")
    broken = make_source(
        account="2",
        name="VK: ЖКХ",
        state=SourceState.BROKEN,
        broken_reason="VK error 5: invalid access_token",
    )
    response = as_head.get(reverse("settings-sources"))
    assert response.status_code == 200
    html = response.content.decode()
    assert "VK: администрация" in html and "VK: ЖКХ" in html
    assert "VK error 5: invalid access_token" in html
    assert reverse("settings-source-repair", args=[broken.pk]) in html
    assert reverse("settings-source-poll", args=[ok.pk]) in html
    assert reverse("settings-source-repair", args=[ok.pk]) not in html
    assert TOKEN not in html
    assert ok.token_encrypted not in html
    assert 'href="/settings/sources/"' in html  # the settings navigation links here


def test_the_head_adds_a_vk_source_and_its_token_is_stored_encrypted(as_head):
    response = as_head.post(reverse("settings-source-create"), vk_form())
    assert response.status_code == 302
    source = Source.objects.get(channel="vk", account="42")
    assert source.name == "VK: город"
    assert source.config["group_id"] == 42
    assert source.config["keywords"] == ["яма", "свет"]
    assert source.token == TOKEN
    assert TOKEN not in source.token_encrypted
    follow = as_head.get(response["Location"])
    assert TOKEN not in follow.content.decode()


def test_the_head_adds_a_telegram_bot_named_by_its_id(as_head):
    data = vk_form(channel="telegram", group_id="", discussion_chat_id="-1001234567890", token=BOT_TOKEN)
    assert as_head.post(reverse("settings-source-create"), data).status_code == 302
    source = Source.objects.get(channel="telegram")
    assert source.account == "123456789"
    assert source.config["discussion_chat_id"] == -1001234567890
    assert source.token == BOT_TOKEN


def test_the_edit_page_says_a_token_is_set_without_showing_it(as_head):
    source = make_source()
    response = as_head.get(reverse("settings-source-edit", args=[source.pk]))
    html = response.content.decode()
    assert response.status_code == 200
    assert 'data-token-state="set"' in html
    assert TOKEN not in html and source.token_encrypted not in html


def test_an_empty_token_keeps_the_stored_one_and_a_new_one_replaces_it(as_head):
    source = make_source(account="42")
    response = as_head.post(reverse("settings-source-edit", args=[source.pk]), vk_form(token="", name="Новое имя"))
    assert response.status_code == 302
    source.refresh_from_db()
    assert (source.name, source.token) == ("Новое имя", TOKEN)
    as_head.post(reverse("settings-source-edit", args=[source.pk]), vk_form(token="vk1.new-token"))
    source.refresh_from_db()
    assert source.token == "vk1.new-token"


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"group_id": "abc"}, "group_id"),
        ({"group_id": ""}, "group_id"),
        ({"poll_interval": "5"}, "poll_interval"),
        ({"api_url": "ftp://example.org"}, "api_url"),
        ({"token": ""}, "token"),
        ({"channel": "telegram", "group_id": "", "token": "not-a-bot-token"}, "token"),
        (
            {"channel": "telegram", "group_id": "", "token": BOT_TOKEN, "discussion_chat_id": "chat"},
            "discussion_chat_id",
        ),
    ],
)
def test_wrong_values_are_refused_next_to_their_field_and_the_token_is_not_echoed(as_head, changes, field):
    data = vk_form(**changes)
    response = as_head.post(reverse("settings-source-create"), data)
    assert response.status_code == 200
    assert field in response.context["form"].errors
    assert not Source.objects.filter(channel__in=["vk", "telegram"]).exists()
    html = response.content.decode()
    for secret in (TOKEN, BOT_TOKEN, "not-a-bot-token"):
        assert secret not in html


def test_the_interval_error_names_the_smallest_interval_next_to_the_field(as_head):
    response = as_head.post(reverse("settings-source-create"), vk_form(poll_interval="5"))
    error = response.context["form"].errors["poll_interval"][0]
    assert "10" in error
    assert error in response.content.decode()


def test_a_second_source_of_the_same_community_is_refused(as_head):
    make_source(account="42")
    other = make_source(account="43", name="Другая")
    response = as_head.post(reverse("settings-source-edit", args=[other.pk]), vk_form(group_id="42"))
    assert response.status_code == 200
    assert "group_id" in response.context["form"].errors
    other.refresh_from_db()
    assert other.account == "43"


def test_repair_puts_a_broken_source_back_to_work(as_head):
    source = make_source(state=SourceState.BROKEN, broken_reason="access denied", failures=5)
    response = as_head.post(reverse("settings-source-repair", args=[source.pk]))
    assert response.status_code == 302
    source.refresh_from_db()
    assert (source.state, source.failures, source.broken_reason) == (SourceState.OK, 0, "")


def test_poll_now_polls_the_source_in_the_background(as_head, feed, django_capture_on_commit_callbacks):
    feed.add("Не убирают снег на Ленина")
    source = make_source()
    Source.objects.filter(pk=source.pk).update(next_poll_at="2099-01-01T00:00:00Z")
    with django_capture_on_commit_callbacks(execute=True):
        response = as_head.post(reverse("settings-source-poll", args=[source.pk]))
    assert response.status_code == 302
    assert Post.objects.filter(source=source).count() == 1


def test_poll_now_refuses_a_broken_source(as_head, feed, django_capture_on_commit_callbacks):
    feed.add("Текст")
    source = make_source(state=SourceState.BROKEN, broken_reason="x")
    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        as_head.post(reverse("settings-source-poll", args=[source.pk]))
    assert callbacks == []
    assert not Post.objects.filter(source=source).exists()


def test_admins_manage_sources_too(client, admin_user):
    client.force_login(admin_user)
    assert client.get(reverse("settings-sources")).status_code == 200


def test_the_django_admin_never_shows_the_token_and_keeps_it_when_left_empty(client, admin_user):
    source = make_source()
    client.force_login(admin_user)
    url = reverse("admin:intake_source_change", args=[source.pk])
    response = client.get(url)
    assert response.status_code == 200
    html = response.content.decode()
    assert TOKEN not in html and source.token_encrypted not in html
    data = {
        "channel": "vk",
        "account": "1",
        "name": "Переименован",
        "is_active": "on",
        "config": '{"group_id": 1}',
        "poll_interval": "60",
        "token": "",
    }
    response = client.post(url, data)
    assert response.status_code == 302, response.content.decode()[:2000]
    source.refresh_from_db()
    assert (source.name, source.token) == ("Переименован", TOKEN)
    assert client.get(reverse("admin:intake_source_changelist")).status_code == 200
