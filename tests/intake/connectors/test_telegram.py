"""Telegram against the local Bot API emulator: paging by offsets, private chats and the discussion group mapped to
items and threads, every error class, replies to the right message, the survey's buttons, the outbox end to end."""

from __future__ import annotations

import datetime as dt
from types import SimpleNamespace
from typing import Any

import httpx
import pytest
from django.utils import timezone

from otklik.answers.channels import PermanentChannelError, TemporaryChannelError, Thread, get_adapter
from otklik.answers.choices import PublicationStatus
from otklik.answers.models import Publication
from otklik.answers.services import do_draft_answer, do_publish_answer
from otklik.intake.connectors.base import RateLimited, SourceBroken, get_connector
from otklik.intake.connectors.telegram import (
    TelegramChannelAdapter,
    TelegramConnector,
    ask_solved,
    is_callback,
)
from otklik.intake.emulators.telegram import BOT, DISCUSSION, TOKEN, TelegramEmulator
from otklik.intake.models import Post, Source
from otklik.intake.polling import poll_source

pytestmark = pytest.mark.django_db

ANSWER = (
    "Здравствуйте! Спасибо за сообщение. Мы передали его в департамент ЖКХ и ответим здесь, "
    "как только получим информацию."
)


@pytest.fixture
def emulator():
    emu = TelegramEmulator().start()
    yield emu
    emu.close()


def make_source(emulator: TelegramEmulator, *, token: str = TOKEN, account: str = "city_bot", **config: Any) -> Source:
    source = Source(
        channel="telegram",
        account=account,
        name="Бот города",
        config={"api_url": emulator.url, "discussion_chat_id": DISCUSSION["id"], "timeout": 2, **config},
    )
    if token:
        source.set_token(token)
    source.save()
    return source


@pytest.fixture
def source(emulator):
    return make_source(emulator)


def control(emulator: TelegramEmulator, name: str, **data: Any) -> Any:
    response = httpx.post(f"{emulator.url}/__emulator__/{name}", json=data, timeout=5)
    assert response.status_code == 200, response.text
    return response.json()["result"]


def published(emulator: TelegramEmulator, method: str = "sendMessage") -> list[dict[str, Any]]:
    calls = httpx.get(f"{emulator.url}/__emulator__/published", timeout=5).json()
    return [call for call in calls if call["method"] == method]


def thread_for(source: Source, post: Post) -> Thread:
    return Thread(
        channel="telegram",
        source_id=source.pk,
        source_account=source.account,
        key=f"{source.pk}:{post.thread_id or post.external_id}",
        thread_id=post.thread_id or post.external_id,
        post_external_id=post.external_id,
    )


def poll(source: Source, minutes: int = 0) -> None:
    result = poll_source(source.pk, now=timezone.now() + dt.timedelta(minutes=minutes))
    assert result.status == "ok", result.error


# --- the emulator speaks the Bot API ---------------------------------------------------------------------------


def test_the_emulator_answers_in_the_bot_api_format(emulator):
    me = httpx.get(f"{emulator.url}/bot{TOKEN}/getMe", timeout=5).json()
    assert me == {"ok": True, "result": BOT}
    wrong = httpx.post(f"{emulator.url}/bot1:wrong/getMe", timeout=5)
    assert wrong.status_code == 401
    assert wrong.json() == {"ok": False, "error_code": 401, "description": "Unauthorized"}
    unknown = httpx.post(f"{emulator.url}/bot{TOKEN}/sendPhotoo", timeout=5)
    assert unknown.status_code == 404 and unknown.json()["ok"] is False
    # Parameters as a form with JSON-serialised objects, as many clients send them.
    sent = control(emulator, "posts", text="Нет света", author="Иван Петров")
    form = httpx.post(
        f"{emulator.url}/bot{TOKEN}/sendMessage",
        data={"chat_id": str(sent["chat_id"]), "text": "Принято", "reply_parameters": '{"message_id": 1}'},
        timeout=5,
    ).json()
    assert form["ok"] and form["result"]["reply_to_message"]["text"] == "Нет света"
    control(emulator, "reset")
    assert published(emulator) == []
    assert httpx.get(f"{emulator.url}/bot{TOKEN}/getUpdates", timeout=5).json() == {"ok": True, "result": []}


def test_get_updates_confirms_by_offset_and_long_polls(emulator):
    for n in range(3):
        control(emulator, "posts", text=f"Сообщение {n}", author="Иван Петров")
    api = f"{emulator.url}/bot{TOKEN}/getUpdates"
    first = httpx.post(api, json={"limit": 2}, timeout=5).json()["result"]
    assert [u["message"]["text"] for u in first] == ["Сообщение 0", "Сообщение 1"]
    again = httpx.post(api, json={"limit": 2}, timeout=5).json()["result"]
    assert again == first  # not confirmed yet
    rest = httpx.post(api, json={"offset": first[-1]["update_id"] + 1}, timeout=5).json()["result"]
    assert [u["message"]["text"] for u in rest] == ["Сообщение 2"]
    assert rest[0]["update_id"] == first[-1]["update_id"] + 1
    empty = httpx.post(api, json={"offset": rest[-1]["update_id"] + 1, "timeout": 1}, timeout=5).json()
    assert empty == {"ok": True, "result": []}


# --- fetching ---------------------------------------------------------------------------------------------------


def test_250_updates_come_in_pages_of_100_nothing_twice_nothing_skipped(emulator, source):
    for n in range(250):
        emulator.add_post({"text": f"Жалоба номер {n}", "author": f"Житель {n % 25}"})
    connector = TelegramConnector(source)
    cursor: dict[str, Any] = {}
    pages, seen = [], []
    for _ in range(5):
        result = connector.fetch_new(cursor)
        pages.append((len(result.items), result.more))
        seen += [item.text for item in result.items]
        if result.cursor == cursor:
            break
        cursor = result.cursor
    assert pages[:3] == [(100, True), (100, True), (50, False)]
    assert seen == [f"Жалоба номер {n}" for n in range(250)]
    assert cursor["offset"] == emulator.world.next_update_id  # the last update id + 1
    # A poll that did not store its page asks again with the old cursor and gets the same page.
    first = connector.fetch_new({})
    assert first.items == [] and first.cursor == {}  # all were confirmed by the last offset
    emulator.add_post({"text": "Ещё одна", "author": "Житель 1"})
    late = connector.fetch_new(cursor)
    assert [item.text for item in late.items] == ["Ещё одна"]
    assert [item.text for item in connector.fetch_new(cursor).items] == ["Ещё одна"]  # not confirmed: again
    assert connector.fetch_new(late.cursor).items == []


def test_private_messages_become_one_thread_per_citizen(emulator, source):
    ivan = control(emulator, "posts", text="Третий день нет горячей воды на Ленина 5", author="Иван Петров")
    control(emulator, "posts", text="/start", author="Мария Сидорова")
    maria = control(emulator, "posts", text="Яма во дворе дома 7 по Мира", author="Мария Сидорова")
    control(emulator, "posts", text="Воды всё ещё нет", author="Иван Петров", reply_to=ivan["message_id"])
    items = TelegramConnector(source).fetch_new({}).items
    assert [item.text for item in items] == [
        "Третий день нет горячей воды на Ленина 5",
        "Яма во дворе дома 7 по Мира",
        "Воды всё ещё нет",
    ]
    first, other, second = items
    ivan_chat = ivan["chat_id"]
    assert first.external_id == f"msg-{ivan_chat}_1"
    assert (first.thread_id, first.reply_to) == ("", "")  # opens the dialogue
    assert first.author_name == "Иван Петров" and first.author_id == str(ivan_chat)
    assert first.url == ""  # private chats have no links
    assert other.external_id == f"msg-{maria['chat_id']}_2" and other.thread_id == ""  # "/start" was message 1
    assert (second.thread_id, second.reply_to) == (first.external_id, first.external_id)
    assert second.raw["reply_to_message_id"] == 1
    # Through the poller: the follow-up joins the citizen's incident; the other citizen has her own.
    poll(source)
    posts = {post.text: post for post in Post.objects.filter(source=source)}
    assert posts["Воды всё ещё нет"].incident_id == posts["Третий день нет горячей воды на Ленина 5"].incident_id
    assert posts["Яма во дворе дома 7 по Мира"].incident_id != posts["Воды всё ещё нет"].incident_id
    # A message in a later poll finds the dialogue's first message among the stored posts.
    control(emulator, "posts", text="Спасибо, дали воду", author="Иван Петров")
    (later,) = TelegramConnector(source).fetch_new(Source.objects.get(pk=source.pk).cursor).items
    assert later.thread_id == first.external_id


def test_discussion_comments_are_threads_of_the_channel_posts(emulator, source):
    post = control(emulator, "posts", text="Ремонт дорог: график на неделю", chat="channel")
    ivan = control(
        emulator,
        "posts",
        text="А на Ленина когда?",
        author="Иван Петров",
        chat="discussion",
        reply_to=post["message_id"],
    )
    control(
        emulator,
        "posts",
        text="Тоже интересно",
        author="Мария Сидорова",
        chat="discussion",
        reply_to=ivan["message_id"],
    )
    control(emulator, "posts", text="Привет всем", author="Пётр Иванов", chat="discussion")
    items = TelegramConnector(source).fetch_new({}).items
    group = DISCUSSION["id"]
    thread = f"msg-{group}_{post['message_id']}"
    # The automatic forward of the channel post itself is not an item.
    assert [(i.text, i.thread_id, i.reply_to) for i in items] == [
        ("А на Ленина когда?", thread, thread),
        ("Тоже интересно", thread, f"msg-{group}_{ivan['message_id']}"),
        ("Привет всем", "", ""),
    ]
    assert items[0].url == f"https://t.me/{DISCUSSION['username']}/{ivan['message_id']}"
    assert items[0].author_name == "Иван Петров"


def test_another_group_is_not_read_when_the_discussion_group_is_set(emulator):
    source = make_source(emulator, discussion_chat_id=-100999)
    control(emulator, "posts", text="Комментарий", author="Иван Петров", chat="discussion")
    control(emulator, "posts", text="Личное сообщение", author="Иван Петров")
    assert [i.text for i in TelegramConnector(source).fetch_new({}).items] == ["Личное сообщение"]


def test_replies_are_the_stored_messages_of_the_thread(emulator, source):
    control(emulator, "posts", text="Нет отопления в школе 12", author="Иван Петров")
    control(emulator, "posts", text="Сломан светофор", author="Мария Сидорова")
    poll(source)
    start = timezone.now()
    control(emulator, "posts", text="Отопление так и не дали", author="Иван Петров", date=int(start.timestamp()) + 60)
    poll(source, minutes=5)
    first = Post.objects.get(source=source, text="Нет отопления в школе 12")
    replies = TelegramConnector(source).fetch_replies(thread_for(source, first))
    assert [r.text for r in replies] == ["Нет отопления в школе 12", "Отопление так и не дали"]
    after = TelegramConnector(source).fetch_replies(thread_for(source, first), since=start)
    assert [r.text for r in after] == ["Отопление так и не дали"]


# --- errors -----------------------------------------------------------------------------------------------------


def test_a_wrong_token_breaks_the_source(emulator):
    source = make_source(emulator, token="999:revoked")
    with pytest.raises(SourceBroken) as error:
        TelegramConnector(source).fetch_new({})
    assert "401" in str(error.value)


@pytest.mark.parametrize(
    ("fault", "error", "not_error"),
    [
        ({"error_code": 403}, SourceBroken, None),
        ({"error_code": 401}, SourceBroken, None),
        ({"error_code": 500}, TemporaryChannelError, RateLimited),
        ({"error_code": "garbage"}, TemporaryChannelError, RateLimited),
        ({"error_code": "timeout", "delay": 1.5}, TemporaryChannelError, RateLimited),
    ],
)
def test_each_failure_of_get_updates_has_its_error_class(emulator, fault, error, not_error):
    source = make_source(emulator, timeout=0.5)
    control(emulator, "posts", text="Нет воды", author="Иван Петров")
    control(emulator, "faults", method="getUpdates", times=1, **fault)
    with pytest.raises(error) as raised:
        TelegramConnector(source).fetch_new({})
    if not_error is not None:
        assert not isinstance(raised.value, not_error)
    assert not isinstance(raised.value, SourceBroken) or error is SourceBroken
    # The fault was used up: the next poll gets the message, nothing lost.
    assert [i.text for i in TelegramConnector(source).fetch_new({}).items] == ["Нет воды"]


def test_too_many_requests_carries_retry_after(emulator, source):
    control(emulator, "faults", method="getUpdates", error_code=429, retry_after=7)
    with pytest.raises(RateLimited) as raised:
        TelegramConnector(source).fetch_new({})
    assert raised.value.retry_after == 7


def test_a_flood_of_answers_to_the_group_is_slowed_down(emulator, source):
    comment = control(emulator, "posts", text="Когда уберут снег?", author="Иван Петров", chat="discussion")
    thread = Thread("telegram", source.pk, source.account, "k", "", f"msg-{DISCUSSION['id']}_{comment['message_id']}")
    adapter = TelegramChannelAdapter()
    for n in range(20):
        adapter.send(thread, f"Ответ {n}")
    with pytest.raises(RateLimited) as raised:
        adapter.send(thread, "Ответ 21")
    assert raised.value.retry_after and raised.value.retry_after > 0
    assert len(published(emulator)) == 20


def test_a_citizen_who_blocked_the_bot_fails_the_publication_not_the_source(emulator, source):
    sent = control(emulator, "posts", text="Нет воды", author="Иван Петров")
    control(emulator, "remove", author="Иван Петров")
    thread = Thread("telegram", source.pk, source.account, "k", "", f"msg-{sent['chat_id']}_{sent['message_id']}")
    with pytest.raises(PermanentChannelError) as raised:
        TelegramChannelAdapter().publish(SimpleNamespace(text=ANSWER), thread, "key")
    assert not isinstance(raised.value, SourceBroken)
    assert "403" in str(raised.value)
    assert published(emulator) == []


# --- publishing -------------------------------------------------------------------------------------------------


def test_the_answer_is_sent_as_a_reply_to_the_citizens_message(emulator, source):
    control(emulator, "posts", text="Сломан светофор", author="Мария Сидорова")
    ivan = control(emulator, "posts", text="Нет горячей воды", author="Иван Петров")
    control(emulator, "posts", text="Уже неделю!", author="Иван Петров")
    poll(source)
    post = Post.objects.get(source=source, text="Уже неделю!")
    result = TelegramChannelAdapter().publish(SimpleNamespace(text=ANSWER), thread_for(source, post), "key-1")
    (call,) = published(emulator)
    assert call["params"]["chat_id"] == ivan["chat_id"]
    assert call["params"]["text"] == ANSWER
    assert call["params"]["reply_parameters"]["message_id"] == 2  # "Уже неделю!" in Ivan's chat
    assert result.external_id == f"msg-{ivan['chat_id']}_3" and result.url == ""
    message = emulator.world.messages[ivan["chat_id"]][3]
    assert message["reply_to_message"]["text"] == "Уже неделю!"


def test_an_answer_in_the_discussion_group_has_a_link(emulator, source):
    channel_post = control(emulator, "posts", text="Новости", chat="channel")
    comment = control(
        emulator,
        "posts",
        text="Где автобус 5?",
        author="Иван Петров",
        chat="discussion",
        reply_to=channel_post["message_id"],
    )
    poll(source)
    post = Post.objects.get(source=source)
    result = TelegramChannelAdapter().publish(SimpleNamespace(text=ANSWER), thread_for(source, post), "key-2")
    (call,) = published(emulator)
    assert call["params"]["chat_id"] == DISCUSSION["id"]
    assert call["params"]["reply_parameters"]["message_id"] == comment["message_id"]
    sent_id = int(result.external_id.rsplit("_", 1)[1])
    assert result.url == f"https://t.me/{DISCUSSION['username']}/{sent_id}"
    assert emulator.world.messages[DISCUSSION["id"]][sent_id]["message_thread_id"] == channel_post["message_id"]


def test_the_survey_buttons_come_back_as_a_callback_item(emulator, source):
    ivan = control(emulator, "posts", text="Нет горячей воды", author="Иван Петров")
    poll(source)
    post = Post.objects.get(source=source)
    asked = ask_solved(thread_for(source, post), "Проблема решена?", "s42")
    (call,) = published(emulator)
    buttons = call["params"]["reply_markup"]["inline_keyboard"][0]
    assert [b["callback_data"] for b in buttons] == ["solved:s42:yes", "solved:s42:no"]
    assert call["params"]["reply_parameters"]["message_id"] == ivan["message_id"]
    bot_message_id = int(asked.external_id.rsplit("_", 1)[1])
    # A button that is not on the message is refused by the emulator.
    refused = httpx.post(
        f"{emulator.url}/__emulator__/posts",
        json={"callback_data": "solved:other:yes", "message_id": bot_message_id, "author": "Иван Петров"},
        timeout=5,
    )
    assert refused.status_code == 400
    control(emulator, "posts", callback_data="solved:s42:no", message_id=bot_message_id, author="Иван Петров")
    (item,) = TelegramConnector(source).fetch_new(Source.objects.get(pk=source.pk).cursor).items
    assert is_callback(item)
    assert item.raw["callback_data"] == "solved:s42:no"
    assert item.raw["message_id"] == bot_message_id
    assert item.raw["message_external_id"] == asked.external_id
    assert item.author_id == str(ivan["chat_id"]) and item.thread_id == post.external_id
    (answered,) = published(emulator, "answerCallbackQuery")  # the button stops spinning
    assert answered["params"]["callback_query_id"] == item.raw["callback_query_id"]


# --- the outbox end to end --------------------------------------------------------------------------------------


@pytest.fixture
def outbox_settings(settings):
    settings.OTKLIK_CHANNEL_ADAPTERS = {"telegram": "otklik.intake.connectors.telegram.TelegramChannelAdapter"}
    settings.OTKLIK_CLOSE_AFTER_FINAL_ANSWER = False
    settings.OTKLIK_PUBLICATION_MAX_ATTEMPTS = 4
    return settings


def publish_answer(incident, operator):
    answer = do_draft_answer(incident, actor=operator, kind="primary", text=ANSWER)
    return do_publish_answer(answer, actor=operator)


def test_the_outbox_publishes_a_telegram_answer_once(
    emulator, source, operator, outbox_settings, django_capture_on_commit_callbacks
):
    assert isinstance(get_adapter("telegram"), TelegramChannelAdapter)
    assert isinstance(get_connector(source), TelegramConnector)
    ivan = control(emulator, "posts", text="Третий день нет горячей воды на Ленина 5", author="Иван Петров")
    control(emulator, "posts", text="Когда дадут?", author="Иван Петров")
    poll(source)
    first = Post.objects.get(source=source, text__startswith="Третий день")
    with django_capture_on_commit_callbacks(execute=True):
        answer = publish_answer(first.incident, operator)
    (publication,) = Publication.objects.filter(answer=answer)  # one chat, one thread, one publication
    assert publication.status == PublicationStatus.SENT
    (call,) = published(emulator)
    assert call["params"]["chat_id"] == ivan["chat_id"]
    assert call["params"]["reply_parameters"]["message_id"] == 1
    assert publication.external_id == f"msg-{ivan['chat_id']}_3"


def test_a_telegram_source_without_a_token_is_answered_by_hand(emulator, operator, outbox_settings):
    source = make_source(emulator, token="", account="no_token")
    assert TelegramChannelAdapter().handles(source) is False
    with pytest.raises(SourceBroken):  # and it cannot be polled either
        TelegramConnector(source).fetch_new({})
    from otklik.intake.services import do_ingest_post

    post = do_ingest_post(
        source=source, external_id="msg-5000001_1", text="Нет воды на Ленина", posted_at=timezone.now()
    ).post
    answer = publish_answer(post.incident, operator)
    (publication,) = Publication.objects.filter(answer=answer)
    assert publication.status == PublicationStatus.MANUAL
    assert published(emulator) == []


def test_a_temporary_failure_is_retried_and_sent(
    emulator, source, operator, outbox_settings, django_capture_on_commit_callbacks
):
    control(emulator, "posts", text="Нет горячей воды", author="Иван Петров")
    poll(source)
    control(emulator, "faults", method="sendMessage", error_code=500)
    with django_capture_on_commit_callbacks(execute=True):
        answer = publish_answer(Post.objects.get(source=source).incident, operator)
    publication = Publication.objects.get(answer=answer)
    assert publication.status == PublicationStatus.PENDING and publication.last_error
    from otklik.answers.outbox import deliver

    Publication.objects.filter(pk=publication.pk).update(next_attempt_at=timezone.now())
    assert deliver(publication.pk).status == PublicationStatus.SENT
    assert len(published(emulator)) == 1


def test_a_reply_whose_answer_was_lost_is_sent_again_telegram_cannot_reconcile(
    emulator, operator, outbox_settings, django_capture_on_commit_callbacks
):
    """The documented limit (docs/CHANNELS.md): the message went out, the answer was lost; find_published cannot
    see it, so the retry sends it a second time."""
    source = make_source(emulator, timeout=0.5)
    control(emulator, "posts", text="Нет горячей воды", author="Иван Петров")
    poll(source)
    control(emulator, "faults", method="sendMessage", error_code="timeout", delay=1.0, after=True)
    with django_capture_on_commit_callbacks(execute=True):
        answer = publish_answer(Post.objects.get(source=source).incident, operator)
    publication = Publication.objects.get(answer=answer)
    assert publication.status == PublicationStatus.PENDING
    assert len(published(emulator)) == 1  # it did go out
    from otklik.answers.outbox import deliver

    Publication.objects.filter(pk=publication.pk).update(next_attempt_at=timezone.now())
    assert deliver(publication.pk).status == PublicationStatus.SENT
    assert len(published(emulator)) == 2


def test_the_poller_hands_a_button_press_to_the_survey_not_to_the_inbox(emulator, source):
    control(emulator, "posts", text="Нет горячей воды", author="Иван Петров")
    poll(source)
    post = Post.objects.get(source=source)
    asked = TelegramChannelAdapter().ask_solved(thread_for(source, post), "Проблема решена?", "unknown-key")
    message_id = int(asked.external_id.rsplit("_", 1)[1])
    control(emulator, "posts", callback_data="solved:unknown-key:yes", message_id=message_id, author="Иван Петров")
    result = poll_source(source.pk, now=timezone.now() + dt.timedelta(minutes=5))
    assert result.status == "ok" and result.callbacks == 1 and result.created == 0
    assert list(Post.objects.filter(source=source).values_list("text", flat=True)) == ["Нет горячей воды"]
