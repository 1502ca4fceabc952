"""`add_source` and `poll_sources`: sources added by command (idempotent, the token never printed), polled once."""

from __future__ import annotations

import io

import pytest
from django.core.management import CommandError, call_command

from otklik.answers.channels import TemporaryChannelError
from otklik.intake.connectors.base import SourceBroken
from otklik.intake.models import Post, Source
from tests.intake.fake_connector import feed_fixture  # noqa: F401

pytestmark = pytest.mark.django_db

TOKEN = "vk1.a.CommandLineSecret-987"
BOT_TOKEN = "555000111:AAF-bot-secret"


def run(*args: str) -> str:
    out, err = io.StringIO(), io.StringIO()
    call_command(*args, stdout=out, stderr=err)
    return out.getvalue() + err.getvalue()


def add_vk(*extra: str) -> str:
    return run("add_source", "vk", "--name", "VK: город", "--group-id", "1", "--token", TOKEN, *extra)


def test_add_source_creates_a_vk_source_and_prints_its_id_but_not_the_token():
    output = add_vk("--api-url", "http://127.0.0.1:8081/", "--interval", "30")
    source = Source.objects.get(channel="vk", account="1")
    assert output.strip().splitlines()[-1] == str(source.pk)
    assert TOKEN not in output
    assert source.token == TOKEN
    assert source.config == {"group_id": 1, "api_url": "http://127.0.0.1:8081"}
    assert source.poll_interval == 30


def test_add_source_again_keeps_one_source_with_the_same_id():
    first = add_vk().strip().splitlines()[-1]
    second = add_vk("--interval", "90").strip().splitlines()[-1]
    assert first == second
    assert Source.objects.filter(channel="vk").count() == 1
    assert Source.objects.get(pk=int(first)).poll_interval == 90


def test_add_source_names_a_telegram_bot_by_its_id():
    output = run(
        "add_source", "telegram", "--name", "Бот", "--token", BOT_TOKEN, "--discussion-chat-id", "-1001234567890"
    )
    source = Source.objects.get(channel="telegram")
    assert source.account == "555000111"
    assert source.config["discussion_chat_id"] == -1001234567890
    assert BOT_TOKEN not in output and "AAF-bot-secret" not in output


@pytest.mark.parametrize(
    "args",
    [
        ("vk", "--name", "x", "--group-id", "club1", "--token", TOKEN),
        ("vk", "--name", "x", "--group-id", "1", "--token", TOKEN, "--interval", "3"),
        ("telegram", "--name", "x", "--token", "no-colon"),
    ],
)
def test_add_source_refuses_wrong_values(args):
    with pytest.raises(CommandError) as error:
        run("add_source", *args)
    assert TOKEN not in str(error.value)
    assert not Source.objects.filter(channel__in=["vk", "telegram"]).exists()


def test_poll_sources_once_polls_the_due_sources_and_prints_a_line_each(feed):
    feed.add("Нет воды на Ленина 5")
    feed.add("Яма у школы")
    add_vk()
    output = run("poll_sources", "--once")
    source = Source.objects.get(channel="vk")
    assert Post.objects.filter(source=source).count() == 2
    assert f"[{source.pk}] VK: город" in output
    assert "2" in output.splitlines()[0]
    assert TOKEN not in output
    # Not due again yet: nothing to poll.
    output = run("poll_sources", "--once")
    assert f"[{source.pk}]" not in output


def test_poll_sources_once_for_one_source_polls_it_even_when_not_due(feed):
    add_vk()
    run("poll_sources", "--once")
    feed.add("Новая жалоба")
    source = Source.objects.get(channel="vk")
    output = run("poll_sources", "--once", "--source", str(source.pk))
    assert Post.objects.filter(source=source).count() == 1
    assert f"[{source.pk}]" in output


def test_poll_sources_reports_errors_and_breakage(feed):
    add_vk()
    run("add_source", "telegram", "--name", "Бот", "--token", BOT_TOKEN)
    feed.errors.extend([TemporaryChannelError("timeout talking to VK"), SourceBroken("VK error 15: access denied")])
    output = run("poll_sources", "--once")
    assert "timeout talking to VK" in output
    assert "VK error 15: access denied" in output
    assert TOKEN not in output and BOT_TOKEN not in output


def test_poll_sources_refuses_an_unknown_source():
    with pytest.raises(CommandError):
        run("poll_sources", "--once", "--source", "999999")


def test_poll_sources_loops_until_ctrl_c(feed, monkeypatch):
    from otklik.intake.management.commands import poll_sources

    feed.add("Не работает светофор")
    add_vk()

    def interrupt(seconds: float) -> None:
        raise KeyboardInterrupt

    monkeypatch.setattr(poll_sources.time, "sleep", interrupt)
    output = run("poll_sources")
    assert Post.objects.count() == 1
    assert output.strip().splitlines()[-1] != ""
