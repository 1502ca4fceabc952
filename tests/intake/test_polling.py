"""Polling the sources: exclusive claims, the cursor stored only with the posts, back-off, breakage and repair."""

from __future__ import annotations

import datetime as dt

import pytest

from otklik.answers.channels import TemporaryChannelError
from otklik.intake.choices import SourceState
from otklik.intake.connectors.base import RateLimited, SourceBroken
from otklik.intake.models import Post, Source
from otklik.intake.polling import (
    LEASE,
    backoff,
    claim_source,
    do_repair_source,
    due_sources,
    poll_source,
)
from otklik.intake.services import default_source
from otklik.notifications.models import Notification
from tests.intake.fake_connector import feed_fixture  # noqa: F401

pytestmark = pytest.mark.django_db

NOW = dt.datetime(2026, 11, 29, 8, 0, tzinfo=dt.UTC)


def make_source(**fields) -> Source:
    fields.setdefault("channel", "vk")
    fields.setdefault("account", "1")
    fields.setdefault("name", "VK: администрация")
    fields.setdefault("config", {"group_id": 1})
    token = fields.pop("token", "vk1.secret-token")
    source = Source(**fields)
    if token:
        source.set_token(token)
    source.save()
    return source


def later(seconds: float) -> dt.datetime:
    return NOW + dt.timedelta(seconds=seconds)


class Crash(BaseException):
    """A worker killed in the middle of a poll (not an Exception: nothing in the poller catches it)."""


# --- claims -----------------------------------------------------------------------------------------------


def test_only_one_of_two_workers_claims_a_due_source():
    source = make_source()
    assert claim_source(source.pk, NOW) is True
    assert claim_source(source.pk, NOW) is False
    source.refresh_from_db()
    assert source.next_poll_at == NOW + LEASE


def test_a_claim_left_by_a_dead_worker_expires_after_the_lease():
    source = make_source()
    assert claim_source(source.pk, NOW)
    assert not claim_source(source.pk, NOW + LEASE - dt.timedelta(seconds=1))
    assert claim_source(source.pk, NOW + LEASE)


def test_inactive_broken_and_tokenless_sources_are_never_claimed_nor_due():
    working = make_source(account="1")
    off = make_source(account="2", is_active=False)
    broken = make_source(account="3", state=SourceState.BROKEN)
    tokenless = make_source(account="4", token="")
    imports = default_source("im")
    vk_default = default_source("vk")  # the source of the API and imports of VK posts: no token, not polled
    later_one = make_source(account="5", next_poll_at=later(60))
    assert due_sources(NOW) == [working.pk]
    for source in (off, broken, tokenless, imports, vk_default, later_one):
        assert claim_source(source.pk, NOW) is False
    assert due_sources(later(60)) == [working.pk, later_one.pk]  # never polled first


# --- a poll -----------------------------------------------------------------------------------------------


def test_a_poll_ingests_the_items_and_stores_the_cursor_with_them(feed):
    feed.add("Нет горячей воды на Ленина 5")
    feed.add("Яма на дороге у школы")
    source = make_source(poll_interval=120)
    result = poll_source(source.pk, NOW)
    assert result.status == "ok"
    assert result.created == 2
    assert list(Post.objects.filter(source=source).values_list("external_id", flat=True).order_by("external_id")) == [
        "wall-1_1",
        "wall-1_2",
    ]
    assert all(p.incident_id for p in Post.objects.filter(source=source))
    source.refresh_from_db()
    assert source.cursor == {"n": 2}
    assert source.last_polled_at == NOW
    assert source.next_poll_at == later(120)
    assert source.failures == 0

    feed.add("Не вывозят мусор")
    result = poll_source(source.pk, later(120))
    assert (result.created, result.duplicates) == (1, 0)
    assert feed.calls[-1] == {"n": 2}
    assert Post.objects.filter(source=source).count() == 3


def test_a_source_is_not_polled_again_before_its_interval(feed):
    feed.add("Нет света в подъезде")
    source = make_source(poll_interval=60)
    assert poll_source(source.pk, NOW).status == "ok"
    assert poll_source(source.pk, later(30)).status == "skipped"
    assert len(feed.calls) == 1


def test_a_crash_during_ingest_stores_neither_posts_nor_cursor_and_the_next_poll_gets_them_once(feed, monkeypatch):
    for n in range(3):
        feed.add(f"Жалоба номер {n + 1}: не убран снег во дворе")
    source = make_source()

    from otklik.intake import services

    real = services.do_ingest_post
    calls = {"n": 0}

    def crashing(**kwargs):
        calls["n"] += 1
        if calls["n"] == 2:
            raise Crash
        return real(**kwargs)

    monkeypatch.setattr(services, "do_ingest_post", crashing)
    with pytest.raises(Crash):
        poll_source(source.pk, NOW)
    assert Post.objects.filter(source=source).count() == 0  # the first item went back with the rest
    source.refresh_from_db()
    assert source.cursor == {}
    assert source.last_polled_at is None
    assert source.next_poll_at == NOW + LEASE  # held by the dead worker until the lease ends

    monkeypatch.setattr(services, "do_ingest_post", real)
    assert poll_source(source.pk, later(1)).status == "skipped"
    result = poll_source(source.pk, NOW + LEASE)
    assert result.created == 3
    assert feed.calls == [{}, {}]  # fetched again from the same cursor
    source.refresh_from_db()
    assert source.cursor == {"n": 3}
    assert Post.objects.filter(source=source).count() == 3


def test_items_fetched_twice_are_stored_once(feed):
    feed.add("Не работает лифт")
    source = make_source()
    poll_source(source.pk, NOW)
    Source.objects.filter(pk=source.pk).update(cursor={})  # a connector that re-reads from the start
    result = poll_source(source.pk, later(60))
    assert (result.created, result.duplicates) == (0, 1)
    assert Post.objects.filter(source=source).count() == 1


def test_items_without_text_are_skipped_and_counted(feed):
    feed.add("")
    feed.add("   ")
    feed.add("Разбита остановка")
    source = make_source()
    result = poll_source(source.pk, NOW)
    assert (result.created, result.empty) == (1, 2)
    source.refresh_from_db()
    assert source.cursor == {"n": 3}  # not fetched again


def test_a_survey_button_press_goes_to_the_survey_and_is_not_stored_as_a_post(feed, monkeypatch):
    from otklik.satisfaction import services as satisfaction

    pressed = []
    monkeypatch.setattr(satisfaction, "record_callback", lambda data, author_id="": pressed.append((data, author_id)))
    feed.add(
        "solved:abc:yes",
        external_id="cb-1",
        author_id="777",
        raw={"kind": "callback", "callback_data": "solved:abc:yes"},
    )
    source = make_source(channel="telegram", account="123")
    result = poll_source(source.pk, NOW)
    assert (result.callbacks, result.created) == (1, 0)
    assert pressed == [("solved:abc:yes", "777")]
    assert not Post.objects.filter(source=source).exists()


def test_a_reply_of_the_author_under_his_post_joins_his_incident(feed):
    first = feed.add("Нет отопления в доме 7", author_id="id77")
    feed.add("Уже третий день!", external_id="comment-1_1_10", thread_id=first.external_id, author_id="id77")
    feed.add("У нас тоже", external_id="comment-1_1_11", thread_id=first.external_id, author_id="id99")
    source = make_source()
    poll_source(source.pk, NOW)
    posts = {p.external_id: p for p in Post.objects.filter(source=source)}
    assert posts["comment-1_1_10"].incident_id == posts[first.external_id].incident_id
    assert posts["comment-1_1_10"].thread_id == first.external_id
    assert posts["comment-1_1_11"].incident_id != posts[first.external_id].incident_id


def test_a_reply_to_the_authors_own_comment_joins_the_incident_of_that_comment(feed):
    wall = feed.add("Новость администрации о ремонте дорог", author_id="-1")
    feed.add("Когда отремонтируют Мира 10?", external_id="comment-1_1_20", thread_id=wall.external_id, author_id="id5")
    feed.add(
        "Ответьте, пожалуйста",
        external_id="comment-1_1_21",
        thread_id=wall.external_id,
        reply_to="comment-1_1_20",
        author_id="id5",
    )
    source = make_source()
    poll_source(source.pk, NOW)
    posts = {p.external_id: p for p in Post.objects.filter(source=source)}
    assert posts["comment-1_1_21"].thread_id == "comment-1_1_20"
    assert posts["comment-1_1_21"].incident_id == posts["comment-1_1_20"].incident_id


def test_when_more_items_wait_the_source_is_due_again_at_once(feed):
    feed.page = 2
    for n in range(3):
        feed.add(f"Сообщение {n}")
    source = make_source()
    result = poll_source(source.pk, NOW)
    assert result.more and result.created == 2
    source.refresh_from_db()
    assert source.next_poll_at == NOW
    assert poll_source(source.pk, NOW).created == 1


# --- errors -----------------------------------------------------------------------------------------------


def test_a_rate_limit_waits_as_asked_without_counting_a_failure(feed):
    feed.errors.append(RateLimited("Too many requests per second", retry_after=17))
    source = make_source()
    result = poll_source(source.pk, NOW)
    assert result.status == "rate_limited"
    source.refresh_from_db()
    assert source.next_poll_at == later(17)
    assert source.failures == 0
    assert source.state == SourceState.OK


def test_a_rate_limit_without_a_delay_backs_off(feed):
    feed.errors.append(RateLimited("Flood control"))
    source = make_source(poll_interval=60)
    poll_source(source.pk, NOW)
    source.refresh_from_db()
    assert source.next_poll_at == NOW + backoff(1, 60)


def test_temporary_errors_back_off_exponentially_and_a_success_resets_them(feed):
    feed.errors.extend([TemporaryChannelError("timeout"), TemporaryChannelError("502 Bad Gateway")])
    feed.add("Сломана скамейка")
    source = make_source(poll_interval=60)
    assert poll_source(source.pk, NOW).status == "failed"
    source.refresh_from_db()
    assert (source.failures, source.last_error) == (1, "timeout")
    assert source.next_poll_at == later(60)
    at = source.next_poll_at
    assert poll_source(source.pk, at).status == "failed"
    source.refresh_from_db()
    assert source.failures == 2
    assert source.next_poll_at == at + dt.timedelta(seconds=120)
    assert poll_source(source.pk, source.next_poll_at).created == 1
    source.refresh_from_db()
    assert (source.failures, source.last_error, source.state) == (0, "", SourceState.OK)


def test_an_unexpected_connector_error_counts_as_a_failure(feed):
    feed.errors.append(KeyError("response"))
    source = make_source()
    assert poll_source(source.pk, NOW).status == "failed"
    source.refresh_from_db()
    assert source.failures == 1
    assert "response" in source.last_error


def test_an_error_quoting_the_token_is_kept_without_it(feed):
    source = make_source(token="123:secret-in-url")
    feed.errors.append(
        TemporaryChannelError("Connection refused: https://api.telegram.org/bot123:secret-in-url/getUpdates")
    )
    poll_source(source.pk, NOW)
    source.refresh_from_db()
    assert "secret-in-url" not in source.last_error
    assert "/bot***/getUpdates" in source.last_error


def test_backoff_doubles_and_stops_at_an_hour():
    assert backoff(1, 60) == dt.timedelta(seconds=60)
    assert backoff(3, 60) == dt.timedelta(seconds=240)
    assert backoff(1, 10) == dt.timedelta(seconds=30)
    assert backoff(20, 60) == dt.timedelta(hours=1)


def test_after_the_allowed_failures_the_source_is_broken_and_the_head_and_admins_are_told_once(
    feed, settings, head, admin_user, operator
):
    settings.OTKLIK_SOURCE_MAX_FAILURES = 3
    feed.errors.extend(TemporaryChannelError("connection refused") for _ in range(5))
    source = make_source()
    at = NOW
    statuses = []
    for _ in range(3):
        statuses.append(poll_source(source.pk, at).status)
        source.refresh_from_db()
        if source.next_poll_at is not None:
            at = source.next_poll_at
    assert statuses == ["failed", "failed", "broken"]
    source.refresh_from_db()
    assert source.state == SourceState.BROKEN
    assert source.failures == 3
    assert "connection refused" in source.broken_reason
    assert source.broken_at == at
    assert source.next_poll_at is None
    assert poll_source(source.pk, at + dt.timedelta(days=1)).status == "skipped"
    assert source.pk not in due_sources(at + dt.timedelta(days=1))
    notified = Notification.objects.filter(dedup_key__startswith=f"source-broken:{source.pk}:")
    assert sorted(n.recipient.username for n in notified) == ["admin", "head"]
    assert "/settings/sources/" in notified[0].url


def test_a_source_broken_by_the_network_is_broken_at_once(feed, head):
    feed.errors.append(SourceBroken("VK error 5: User authorization failed: invalid access_token"))
    source = make_source()
    result = poll_source(source.pk, NOW)
    assert result.status == "broken"
    source.refresh_from_db()
    assert source.state == SourceState.BROKEN
    assert source.broken_reason == "VK error 5: User authorization failed: invalid access_token"
    assert source.broken_at == NOW
    assert Notification.objects.filter(recipient=head, dedup_key__startswith="source-broken:").count() == 1


def test_repair_resumes_polling_and_a_new_breakage_is_told_again(feed, head):
    feed.errors.append(SourceBroken("access denied"))
    feed.add("Не горит фонарь")
    source = make_source()
    poll_source(source.pk, NOW)
    source.refresh_from_db()
    do_repair_source(source, head)
    source.refresh_from_db()
    assert (source.state, source.failures, source.broken_reason, source.broken_at) == (SourceState.OK, 0, "", None)
    assert source.next_poll_at is not None
    result = poll_source(source.pk, source.next_poll_at)
    assert result.created == 1

    feed.errors.append(SourceBroken("the community is deleted"))
    poll_source(source.pk, later(3600))
    assert Notification.objects.filter(recipient=head, dedup_key__startswith="source-broken:").count() == 2


def test_an_operator_cannot_repair_a_source(operator):
    from otklik.core.errors import NotAllowed

    source = make_source(state=SourceState.BROKEN, broken_reason="x")
    with pytest.raises(NotAllowed):
        do_repair_source(source, operator)
    source.refresh_from_db()
    assert source.state == SourceState.BROKEN


# --- tasks ------------------------------------------------------------------------------------------------


def test_the_beat_job_polls_every_due_source_and_each_poll_runs_again_later(feed):
    from otklik.intake.tasks import poll_due_sources, poll_source_task

    feed.add("Затопило подвал")
    vk = make_source(account="1")
    make_source(account="2", is_active=False)
    assert poll_due_sources() == 1
    assert Post.objects.filter(source=vk).count() == 1

    feed.add("Снова затопило подвал")
    Source.objects.filter(pk=vk.pk).update(next_poll_at=None)
    result = poll_source_task(vk.pk)  # the same arguments again: not skipped as "already done"
    assert result["created"] == 1
    assert Post.objects.filter(source=vk).count() == 2


# --- with the real VK connector against the emulator ------------------------------------------------------


@pytest.fixture
def vk_emulator():
    emulators = pytest.importorskip("otklik.intake.emulators.vk")
    server = emulators.start_in_thread()
    yield server
    server.shutdown()
    server.server_close()


def test_the_vk_connector_is_polled_end_to_end_and_a_bad_token_breaks_the_source(vk_emulator, head):
    from otklik.intake.emulators.vk import DEMO_TOKEN
    from otklik.intake.polling import do_save_source

    emulator = vk_emulator.emulator
    post = emulator.add_post("Третий день нет горячей воды на Ленина 5", "Иван Петров")
    emulator.add_comment(post.id, "И сегодня тоже нет", "Иван Петров")
    source, created = do_save_source(
        None,
        actor=head,
        channel="vk",
        name="VK: город",
        config={"group_id": 1, "api_url": vk_emulator.url},
        token=DEMO_TOKEN,
    )
    assert created
    result = poll_source(source.pk, NOW)
    assert (result.status, result.created) == ("ok", 2), result
    posts = list(Post.objects.filter(source=source).order_by("posted_at", "id"))
    assert posts[1].incident_id == posts[0].incident_id  # the author's comment joined his incident
    assert poll_source(source.pk, later(60)).created == 0

    emulator.add_fault("wall.get", 5)
    result = poll_source(source.pk, later(120))
    assert result.status == "broken"
    source.refresh_from_db()
    assert source.state == SourceState.BROKEN and source.broken_reason
    assert DEMO_TOKEN not in source.broken_reason


@pytest.fixture
def telegram_emulator():
    emulators = pytest.importorskip("otklik.intake.emulators.telegram")
    emulator = emulators.TelegramEmulator().start()
    yield emulator
    emulator.close()


def test_the_telegram_connector_is_polled_end_to_end_and_a_revoked_token_breaks_the_source(telegram_emulator, head):
    from otklik.intake.emulators.telegram import TOKEN
    from otklik.intake.polling import do_save_source

    telegram_emulator.add_post({"text": "Не вывозят мусор с Мира 3", "author": "Анна", "chat": "private"})
    telegram_emulator.add_post({"text": "Уже неделю", "author": "Анна", "chat": "private"})
    source, _created = do_save_source(
        None, actor=head, channel="telegram", name="Бот", config={"api_url": telegram_emulator.url}, token=TOKEN
    )
    assert source.account == TOKEN.split(":")[0]
    result = poll_source(source.pk, NOW)
    assert (result.status, result.created) == ("ok", 2), result
    posts = list(Post.objects.filter(source=source).order_by("posted_at", "id"))
    assert posts[1].incident_id == posts[0].incident_id  # the dialogue with one citizen is one incident

    telegram_emulator.add_fault({"method": "*", "error_code": 401})
    result = poll_source(source.pk, later(60))
    assert result.status == "broken"
    source.refresh_from_db()
    assert TOKEN not in source.broken_reason and TOKEN not in source.last_error
