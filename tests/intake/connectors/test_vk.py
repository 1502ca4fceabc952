"""The VK connector and channel adapter against the local VK API emulator (started in a thread on a free port).

Polling: paging and cursors (nothing twice, nothing skipped), comments and threads, the error classes, the client's
rate limiter. Publishing: a reply as a comment from the community to the right post or comment, exactly once under
a failure after VK created the comment, and the outbox end to end.
"""

from __future__ import annotations

import datetime as dt
import time
from types import SimpleNamespace
from typing import Any

import httpx
import pytest
from django.utils import timezone

from otklik.answers.channels import PermanentChannelError, TemporaryChannelError, Thread, get_adapter
from otklik.answers.choices import PublicationStatus
from otklik.answers.models import Publication
from otklik.answers.services import do_draft_answer, do_publish_answer
from otklik.answers.tasks import send_publication
from otklik.intake.connectors import get_connector
from otklik.intake.connectors.base import RateLimited, SourceBroken
from otklik.intake.connectors.vk import RateLimiter, VkChannelAdapter, VkClient, VkConnector
from otklik.intake.emulators.vk import VkEmulator, start_in_thread
from otklik.intake.models import Source
from otklik.intake.services import do_ingest_post

TOKEN = "community-token-for-tests"
USER_TOKEN = "user-token-for-tests"
ANSWER = (
    "Здравствуйте! Спасибо за сообщение. Мы передали его в департамент ЖКХ и ответим здесь, "
    "как только получим информацию."
)


@pytest.fixture
def vk():
    """The emulator on a free port: `vk.emulator` (its state), `vk.url`, `vk.control(verb, action, json)`."""
    emulator = VkEmulator(tokens={TOKEN: "community", USER_TOKEN: "user"}, rate_limit=1000, timeout_seconds=2.0)
    server = start_in_thread(emulator)
    http = httpx.Client(timeout=5)

    def control(verb: str, action: str, data: dict[str, Any] | None = None) -> Any:
        reply = http.request(verb, f"{server.url}/__emulator__/{action}", json=data)
        assert reply.status_code < 300, reply.text
        return reply.json()

    yield SimpleNamespace(emulator=emulator, url=server.url, control=control)
    http.close()
    server.shutdown()
    server.server_close()


def make_source(vk: SimpleNamespace, *, token: str = TOKEN, save: bool = False, **config: Any) -> Source:
    source = Source(
        channel="vk",
        account="club1",
        name="Администрация города",
        config={"group_id": 1, "api_url": vk.url, "timeout": 1.0, **config},
    )
    source.set_token(token)
    if save:
        source.save()
    return source


def poll(connector: VkConnector, cursor: dict[str, Any]) -> tuple[list[Any], dict[str, Any]]:
    result = connector.fetch_new(cursor)
    return result.items, result.cursor


# --- polling --------------------------------------------------------------------------------------------------


def test_the_connector_is_found_by_the_channel(vk):
    assert isinstance(get_connector(make_source(vk)), VkConnector)


def test_250_new_posts_come_oldest_first_across_pages_and_nothing_twice(vk):
    connector = VkConnector(make_source(vk))
    items, cursor = poll(connector, {})
    assert items == []
    for n in range(1, 251):
        vk.control("POST", "posts", {"text": f"Жалоба номер {n}", "author": f"Житель {n % 7} Городской"})

    items, cursor = poll(connector, cursor)

    assert [item.external_id for item in items] == [f"wall-1_{n}" for n in range(1, 251)]
    assert items[0].text == "Жалоба номер 1"
    assert items[0].url == "https://vk.com/wall-1_1"
    assert items[0].author_name == "Житель 1 Городской"
    assert items[0].author_id.isdigit()
    assert cursor["post"] == 250
    assert len(cursor["posts"]) == 20  # only the newest posts are followed for comments
    calls = [method for method, _kind in vk.emulator.calls if method == "wall.get"]
    assert len(calls) >= 3  # 100 per page

    again, cursor = poll(connector, cursor)
    assert again == []

    vk.emulator.add_post("Ещё одна жалоба", "Новый Житель")
    later, cursor = poll(connector, cursor)
    assert [item.external_id for item in later] == ["wall-1_251"]


def test_the_first_poll_takes_only_the_newest_posts(vk):
    for n in range(1, 31):
        vk.emulator.add_post(f"Пост {n}", "Житель Города")
    items, cursor = poll(VkConnector(make_source(vk, backfill=5)), {})
    assert [item.external_id for item in items] == [f"wall-1_{n}" for n in range(26, 31)]
    assert cursor["post"] == 30


def test_new_comments_and_replies_under_followed_posts_are_picked_up_once(vk):
    connector = VkConnector(make_source(vk))
    post = vk.emulator.add_post("Нет горячей воды на Ленина 15", "Ольга Смирнова")
    items, cursor = poll(connector, {})
    assert [item.external_id for item in items] == ["wall-1_1"]

    first = vk.control("POST", "posts", {"text": "У нас тоже нет воды", "author": "Пётр Кузнецов", "reply_to": "1"})
    reply = vk.control(
        "POST",
        "posts",
        {"text": "А у вас какой дом?", "author": "Ольга Смирнова", "reply_to": f"1_{first['comment_id']}"},
    )
    items, cursor = poll(connector, cursor)

    assert [item.external_id for item in items] == [
        f"comment-1_1_{first['comment_id']}",
        f"comment-1_1_{reply['comment_id']}",
    ]
    top, answer = items
    assert top.thread_id == "wall-1_1"
    assert top.reply_to == "wall-1_1"
    assert top.author_name == "Пётр Кузнецов"
    assert top.url == f"https://vk.com/wall-1_1?reply={first['comment_id']}"
    assert answer.thread_id == "wall-1_1"
    assert answer.reply_to == f"comment-1_1_{first['comment_id']}"
    assert answer.url == f"https://vk.com/wall-1_1?reply={reply['comment_id']}&thread={first['comment_id']}"

    assert poll(connector, cursor)[0] == []
    vk.emulator.add_comment(post.id, "Воду так и не дали", "Ольга Смирнова")
    items, cursor = poll(connector, cursor)
    assert [item.text for item in items] == ["Воду так и не дали"]


def test_comments_are_read_across_pages_and_long_threads(vk):
    connector = VkConnector(make_source(vk))
    post = vk.emulator.add_post("Опрос: что починить первым?", "Житель Города")
    _items, cursor = poll(connector, {})
    top = vk.emulator.add_comment(post.id, "Дороги", "Первый Житель")
    for n in range(25):  # more than the 10 replies wall.getComments shows inside a thread
        vk.emulator.add_comment(post.id, f"Согласен {n}", f"Житель {n}", reply_to_comment=top.id)
    for n in range(230):
        vk.emulator.add_comment(post.id, f"Комментарий {n}", f"Житель {n}")

    items, cursor = poll(connector, cursor)

    assert len(items) == 256
    assert len({item.external_id for item in items}) == 256
    assert items[0].text == "Дороги"
    assert cursor["posts"]["1"] == [256, 256]


def test_the_communitys_own_comments_are_not_taken_in(vk):
    connector = VkConnector(make_source(vk))
    post = vk.emulator.add_post("Яма на дороге", "Андрей Волков")
    _items, cursor = poll(connector, {})
    vk.emulator.add_comment(post.id, "Спасибо, передали в управление дорог.", author_id=-1)
    vk.emulator.add_comment(post.id, "Спасибо!", "Андрей Волков")
    items, _cursor = poll(connector, cursor)
    assert [item.text for item in items] == ["Спасибо!"]


def test_fetch_replies_returns_the_thread_after_a_moment(vk):
    post = vk.emulator.add_post("Не вывозят мусор", "Марина Попова")
    old = vk.emulator.add_comment(post.id, "Давно", "Марина Попова", date=int(time.time()) - 3600)
    vk.emulator.add_comment(post.id, "Ответ сообщества", author_id=-1)
    vk.emulator.add_comment(post.id, "Вывезли, спасибо", "Марина Попова")
    thread = Thread("vk", None, "club1", "1:wall-1_1", "wall-1_1", "wall-1_1")
    connector = VkConnector(make_source(vk))

    assert [item.text for item in connector.fetch_replies(thread)] == ["Давно", "Вывезли, спасибо"]
    since = timezone.now() - dt.timedelta(minutes=5)
    replies = connector.fetch_replies(thread, since)
    assert [item.text for item in replies] == ["Вывезли, спасибо"]
    assert old.id not in {int(item.external_id.rsplit("_", 1)[1]) for item in replies}


# --- errors ---------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("code", [5, 15, 18, 30])
def test_access_errors_break_the_source_with_a_reason(vk, code):
    vk.control("POST", "faults", {"method": "wall.get", "error_code": code, "times": 1})
    with pytest.raises(SourceBroken) as caught:
        VkConnector(make_source(vk)).fetch_new({})
    assert f"{code}" in str(caught.value)


def test_a_wrong_token_breaks_the_source(vk):
    with pytest.raises(SourceBroken, match="5"):
        VkConnector(make_source(vk, token="not-a-token")).fetch_new({})


def test_a_source_without_a_token_is_broken_not_polled(vk):
    with pytest.raises(SourceBroken):
        VkConnector(make_source(vk, token="")).fetch_new({})


@pytest.mark.parametrize("code", [6, 9])
def test_rate_limit_errors_ask_to_wait(vk, code):
    vk.control("POST", "faults", {"method": "wall.get", "error_code": code})
    with pytest.raises(RateLimited) as caught:
        VkConnector(make_source(vk)).fetch_new({})
    assert caught.value.retry_after and caught.value.retry_after > 0


@pytest.mark.parametrize("fault", [500, 503, "garbage", "timeout", 10])
def test_server_failures_are_temporary(vk, fault):
    vk.control("POST", "faults", {"method": "wall.get", "error_code": fault})
    with pytest.raises(TemporaryChannelError) as caught:
        VkConnector(make_source(vk, timeout=0.5)).fetch_new({})
    assert not isinstance(caught.value, RateLimited)
    # the fault was used up: the next poll works
    assert VkConnector(make_source(vk)).fetch_new({}).items == []


def test_an_unreachable_api_is_temporary():
    source = Source(channel="vk", config={"group_id": 1, "api_url": "http://127.0.0.1:9", "timeout": 0.5})
    source.set_token(TOKEN)
    with pytest.raises(TemporaryChannelError):
        VkConnector(source).fetch_new({})


def test_the_emulator_answers_in_vks_error_format(vk):
    reply = httpx.post(f"{vk.url}/method/wall.get", data={"access_token": "wrong", "v": "5.199", "owner_id": "-1"})
    error = reply.json()["error"]
    assert reply.status_code == 200
    assert error["error_code"] == 5
    assert {"key": "method", "value": "wall.get"} in error["request_params"]
    assert all(param["key"] != "access_token" for param in error["request_params"])


# --- the rate limiter -----------------------------------------------------------------------------------------


def test_the_limiter_allows_n_calls_in_any_second():
    now = [100.0]
    slept: list[float] = []

    def sleep(seconds: float) -> None:
        slept.append(seconds)
        now[0] += seconds

    limiter = RateLimiter(3, clock=lambda: now[0], sleep=sleep)
    for _ in range(3):
        assert limiter.acquire() == 0
    assert limiter.acquire() == pytest.approx(1.0 + RateLimiter.MARGIN)
    assert now[0] == pytest.approx(101.0 + RateLimiter.MARGIN)


def test_the_client_keeps_a_user_token_under_3_calls_a_second(vk):
    vk.emulator.configure({"rate_limit": 3})
    client = VkClient(token=USER_TOKEN, api_url=vk.url, token_kind="user", limiter=RateLimiter(3))
    started = time.monotonic()
    for _ in range(7):
        client.call("users.get", user_ids="1")
    assert time.monotonic() - started >= 2.0


def test_without_the_limiter_the_emulator_answers_error_6(vk):
    vk.emulator.configure({"rate_limit": 2})
    client = VkClient(token=TOKEN, api_url=vk.url, limiter=RateLimiter(100))
    client.call("groups.getById", group_id=1)
    client.call("groups.getById", group_id=1)
    with pytest.raises(RateLimited):
        client.call("groups.getById", group_id=1)


# --- publishing -----------------------------------------------------------------------------------------------


@pytest.fixture
def publishing(settings):
    settings.OTKLIK_CHANNEL_ADAPTERS = {"vk": "otklik.intake.connectors.vk.VkChannelAdapter"}
    settings.OTKLIK_CLOSE_AFTER_FINAL_ANSWER = False
    settings.OTKLIK_PUBLICATION_MAX_ATTEMPTS = 4


def ingest_polled(source: Source, cursor: dict[str, Any] | None = None) -> dict[str, Any]:
    """What the poller does: the connector's items through the intake service; the new cursor."""
    result = VkConnector(source).fetch_new(cursor or {})
    for item in result.items:
        do_ingest_post(
            source=source,
            external_id=item.external_id,
            text=item.text,
            posted_at=item.posted_at,
            author_name=item.author_name,
            author_id=item.author_id,
            url=item.url,
            thread_id=item.thread_id,
        )
    return result.cursor


def publish(post_external_id: str, operator, source: Source, captured) -> Publication:
    incident = source.posts.get(external_id=post_external_id).incident
    answer = do_draft_answer(incident, actor=operator, kind="primary", text=ANSWER)
    with captured(execute=True):
        do_publish_answer(answer, actor=operator)
    (publication,) = Publication.objects.filter(answer=answer)
    publication.refresh_from_db()
    return publication


def test_the_adapter_handles_only_sources_with_a_token(vk, publishing):
    adapter = get_adapter("vk")
    assert isinstance(adapter, VkChannelAdapter)
    assert adapter.handles(make_source(vk))
    assert not adapter.handles(make_source(vk, token=""))


@pytest.mark.django_db
def test_an_answer_to_a_post_is_published_once_as_a_community_comment(
    vk, publishing, operator, django_capture_on_commit_callbacks
):
    source = make_source(vk, save=True)
    vk.emulator.add_post("Нет горячей воды на Ленина 15", "Ольга Смирнова")
    cursor = ingest_polled(source)

    publication = publish("wall-1_1", operator, source, django_capture_on_commit_callbacks)

    assert publication.status == PublicationStatus.SENT
    published = vk.control("GET", "published")
    assert [call["method"] for call in published] == ["wall.createComment"]
    params = published[0]["params"]
    assert params["owner_id"] == "-1"
    assert params["post_id"] == "1"
    assert params["from_group"] == "1"
    assert params["guid"] == publication.idempotency_key
    assert "reply_to_comment" not in params
    (comment,) = vk.emulator.walls[-1][1].comments
    assert comment.from_id == -1
    assert comment.text == ANSWER
    assert publication.external_id == f"comment-1_1_{comment.id}"
    assert publication.url == f"https://vk.com/wall-1_1?reply={comment.id}"
    # the next poll does not take our own comment in as a new post
    assert VkConnector(source).fetch_new(cursor).items == []


@pytest.mark.django_db
def test_an_answer_to_a_comment_replies_to_that_comment(vk, publishing, operator, django_capture_on_commit_callbacks):
    source = make_source(vk, save=True)
    post = vk.emulator.add_post("Во дворе не вывозят мусор", "Марина Попова")
    comment = vk.emulator.add_comment(post.id, "И у нас на Советской не вывозят", "Ирина Соколова")
    ingest_polled(source)

    publication = publish(f"comment-1_1_{comment.id}", operator, source, django_capture_on_commit_callbacks)

    assert publication.status == PublicationStatus.SENT
    (call,) = vk.control("GET", "published")
    assert call["params"]["reply_to_comment"] == str(comment.id)
    ours = vk.emulator.walls[-1][1].comments[-1]
    assert ours.from_id == -1
    assert ours.reply_to_comment == comment.id
    assert ours.parent == comment.id
    assert publication.url == f"https://vk.com/wall-1_1?reply={ours.id}&thread={comment.id}"


@pytest.mark.django_db
def test_a_failure_after_vk_created_the_comment_is_reconciled_not_posted_twice(
    vk, publishing, operator, django_capture_on_commit_callbacks
):
    source = make_source(vk, save=True)
    vk.emulator.add_post("Яма на перекрёстке Мира и Гагарина", "Андрей Волков")
    ingest_polled(source)
    vk.control("POST", "faults", {"method": "wall.createComment", "error_code": 502, "after": True})

    publication = publish("wall-1_1", operator, source, django_capture_on_commit_callbacks)
    assert publication.status == PublicationStatus.PENDING  # the comment went out, the answer was lost
    assert publication.last_error

    Publication.objects.filter(pk=publication.pk).update(next_attempt_at=timezone.now())
    assert send_publication(publication.pk) == "sent (reconciled)"

    publication.refresh_from_db()
    ours = [c for c in vk.emulator.walls[-1][1].comments if c.from_id == -1]
    assert len(ours) == 1
    assert publication.external_id == f"comment-1_1_{ours[0].id}"
    assert len(vk.control("GET", "published")) == 1  # reconciling read the thread, it did not post again


@pytest.mark.django_db
def test_a_repeated_guid_does_not_create_a_second_comment(vk, publishing, operator, django_capture_on_commit_callbacks):
    source = make_source(vk, save=True)
    vk.emulator.add_post("Не горят фонари", "Наталья Козлова")
    ingest_polled(source)
    publication = publish("wall-1_1", operator, source, django_capture_on_commit_callbacks)
    thread = Thread("vk", source.pk, "club1", publication.thread_key, "wall-1_1", "wall-1_1")

    again = VkChannelAdapter().publish(publication.answer, thread, publication.idempotency_key)

    assert again.external_id == publication.external_id
    assert len(vk.emulator.walls[-1][1].comments) == 1
    assert len(vk.control("GET", "published")) == 2


@pytest.mark.django_db
def test_a_deleted_post_fails_the_publication_at_once(vk, publishing, operator, django_capture_on_commit_callbacks):
    source = make_source(vk, save=True)
    vk.emulator.add_post("Сломаны качели", "Алексей Павлов")
    ingest_polled(source)
    vk.emulator.walls[-1].clear()

    publication = publish("wall-1_1", operator, source, django_capture_on_commit_callbacks)

    assert publication.status == PublicationStatus.FAILED
    assert "100" in publication.last_error


@pytest.mark.django_db
def test_a_vk_source_without_a_token_is_answered_by_hand(vk, publishing, operator, django_capture_on_commit_callbacks):
    source = make_source(vk, save=True)
    vk.emulator.add_post("Течёт крыша", "Елена Морозова")
    ingest_polled(source)
    source.token_encrypted = ""
    source.save(update_fields=["token_encrypted"])

    publication = publish("wall-1_1", operator, source, django_capture_on_commit_callbacks)

    assert publication.status == PublicationStatus.MANUAL
    assert vk.control("GET", "published") == []


def test_the_control_endpoints_add_posts_and_reset(vk):
    post = vk.control("POST", "posts", {"text": "Пост", "author": "Житель"})
    comment = vk.control("POST", "posts", {"text": "Комментарий", "author": "Житель", "reply_to": str(post["post_id"])})
    assert post == {"owner_id": -1, "post_id": 1}
    assert comment == {"owner_id": -1, "post_id": 1, "comment_id": 1}
    vk.control("POST", "reset")
    assert vk.emulator.walls == {}
    with pytest.raises(PermanentChannelError):
        VkChannelAdapter().publish(
            SimpleNamespace(text=ANSWER), Thread("vk", None, "", "k", "wall-1_1", "wall-1_1"), "key"
        )


# --- with the poller ------------------------------------------------------------------------------------------


@pytest.mark.django_db
def test_the_poller_ingests_a_vk_wall_and_a_bad_token_breaks_the_source(vk):
    from otklik.intake.choices import SourceState
    from otklik.intake.polling import poll_source

    source = make_source(vk, save=True)
    post = vk.emulator.add_post("Нет горячей воды на Ленина 15", "Ольга Смирнова")
    vk.emulator.add_comment(post.id, "Воды нет уже неделю", "Ольга Смирнова")

    result = poll_source(source.pk)

    assert result.status == "ok", result.error
    assert result.created == 2
    first, reply = source.posts.order_by("posted_at", "pk")
    assert reply.thread_id == "wall-1_1"
    assert reply.incident_id == first.incident_id  # the author continues in his thread
    source.refresh_from_db()
    assert source.cursor["post"] == 1

    vk.emulator.configure({"tokens": {}})
    Source.objects.filter(pk=source.pk).update(next_poll_at=None)
    assert poll_source(source.pk).status == "broken"
    source.refresh_from_db()
    assert source.state == SourceState.BROKEN
    assert "5" in source.broken_reason


def test_a_keyword_search_finds_posts_on_other_walls_once(vk):
    connector = VkConnector(make_source(vk, keywords=["яма"], search_token=USER_TOKEN))
    _items, cursor = poll(connector, {})
    citizen = vk.emulator.user("Андрей Волков")
    vk.emulator.add_post("Опять яма у школы №5", "Андрей Волков", owner_id=citizen)
    vk.emulator.add_post("Хорошая погода", "Андрей Волков", owner_id=citizen)
    vk.emulator.add_post("Яма на Мира", "Ирина Соколова")  # the community's own wall: read by wall.get

    items, cursor = poll(connector, cursor)

    assert sorted(item.external_id for item in items) == sorted([f"wall{citizen}_1", "wall-1_1"])
    found = next(item for item in items if item.external_id == f"wall{citizen}_1")
    assert found.url == f"https://vk.com/wall{citizen}_1"
    assert found.author_name == "Андрей Волков"
    assert ("newsfeed.search", "user") in vk.emulator.calls
    assert poll(connector, cursor)[0] == []


def test_the_emulator_pages_comments_from_a_start_comment_both_ways(vk):
    post = vk.emulator.add_post("Пост", "Житель")
    for n in range(1, 6):
        vk.emulator.add_comment(post.id, f"К{n}", "Житель")
    client = VkClient(token=TOKEN, api_url=vk.url, limiter=RateLimiter(100))

    up = client.call("wall.getComments", owner_id=-1, post_id=1, start_comment_id=3, count=2)
    down = client.call("wall.getComments", owner_id=-1, post_id=1, start_comment_id=3, sort="desc", count=5)

    assert [c["id"] for c in up["items"]] == [3, 4]
    assert [c["id"] for c in down["items"]] == [3, 2, 1]
    with pytest.raises(PermanentChannelError):  # count is at most 100, a missing post is error 100
        client.call("wall.getComments", owner_id=-1, post_id=99)


@pytest.mark.django_db
def test_the_demo_source_is_created_once_and_points_to_the_emulator():
    from otklik.intake.emulators.vk import DEMO_API_URL, DEMO_TOKEN, ensure_demo_source

    source, created = ensure_demo_source()
    again, created_again = ensure_demo_source()

    assert (created, created_again) == (True, False)
    assert again.pk == source.pk
    assert source.config["api_url"] == DEMO_API_URL == "http://127.0.0.1:8765"
    assert source.config["group_id"] == 1
    assert Source.objects.get(pk=source.pk).token == DEMO_TOKEN
    assert VkChannelAdapter().handles(source)
