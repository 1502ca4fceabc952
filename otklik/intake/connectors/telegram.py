"""Telegram: a bot citizens write to, and the comments in the discussion group of the city's channel.

Bot API over HTTPS with httpx (`{api_url}/bot{token}/{method}`). A Telegram source's settings (`Source.config`):
`api_url` (default https://api.telegram.org; the local emulator in the demo and tests), `discussion_chat_id`
(the group's id, e.g. -1001000000002: only its comments are taken; without it any group the bot is in),
`timeout` (seconds, default 10). The token is the source's encrypted token (@BotFather's).

Fetching (`TelegramConnector.fetch_new`): `getUpdates` with `offset` = the last update id seen + 1, stored in the
cursor as `{"offset": N}`. Telegram forgets the updates before the offset of a call, so the cursor confirms the
previous page only when the next poll asks with it: a poll whose items were not stored (a crash before the commit)
asks with the old offset and gets the same updates again (stored once by their external ids). Telegram keeps
unconfirmed updates for 24 hours: a source broken for longer loses messages. Pages of 100; `more` when full.

Items:
- a private message: external id `msg-<chat id>_<message id>`; the whole dialogue with one citizen is one thread,
  rooted at his first message: the first message of a chat opens the thread (thread_id ""), every later one has
  thread_id = reply_to = that first message's external id (so `do_ingest_post` joins it to his open incident, and
  the outbox answers each incident once per chat); a private chat's id is the citizen's user id;
- a comment in the discussion group: thread_id = `msg-<group>_<id of the channel post's automatic forward>`
  (`message_thread_id`), reply_to = the message it replies to; the link is https://t.me/<group>/<id> for a
  public group;
- skipped: messages of bots (the bot's own included), automatic forwards of channel posts (the post itself is the
  city's, not a citizen's), bare commands ("/start"), messages without text or caption, other groups;
- a press on an inline button (`callback_query`, the satisfaction survey): an item with external id
  `cb-<query id>`, text = the button's data, thread_id as for a message in that chat, reply_to = the external id of
  the bot's message with the buttons, and `raw = {"kind": "callback", "callback_data": "solved:<key>:yes",
  "message_id": <the bot message's id>, "message_external_id": "msg-<chat>_<id>", "chat_id",
  "callback_query_id", "update_id"}`. The poller must hand these to the survey, not ingest them as posts
  (`is_callback(item)`). The connector answers the query at once (`answerCallbackQuery`, best effort) so the
  citizen's button stops spinning. Message items have `raw = {"kind": "message", "chat_id", "message_id",
  "update_id", "reply_to_message_id"}`.

`fetch_replies(thread, since)`: the Bot API has no history (a bot cannot read a chat's messages back): the replies
are the messages the poller already stored (the Posts of the source in that thread). So replies are as fresh as the
last poll.

Publishing (`TelegramChannelAdapter`): `sendMessage` to the chat of the post answered, as a reply to it
(`reply_parameters`, sent even if the citizen deleted his message). Exactly once is NOT guaranteed by Telegram:
sendMessage takes no idempotency key and a bot cannot list the messages it sent, so `find_published` cannot
reconcile and returns None. The outbox's claim still ensures no two workers send the same publication; only a
send whose answer was lost (a timeout after Telegram took the message, a worker killed between the send and the
commit) is retried and may appear twice. See docs/CHANNELS.md, "Telegram".

Errors: 401 (bad token) and 403 (the bot was removed from the group or blocked by the citizen) → `SourceBroken`
when polling, a permanent failure of the publication when sending; 429 → `RateLimited(retry_after)`; 5xx, 409
(another getUpdates or a webhook running), timeouts, network errors and garbage → `TemporaryChannelError`; other
400s → `SourceBroken` when polling (only the admin can fix the settings), a permanent failure when sending.
"""

from __future__ import annotations

import datetime as dt
import logging
import re
from typing import TYPE_CHECKING, Any

import httpx
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext as _

from otklik.answers.channels import PermanentChannelError, Published, TemporaryChannelError, Thread
from otklik.intake.connectors.base import FetchResult, Item, RateLimited, SourceBroken

if TYPE_CHECKING:
    from otklik.answers.models import Answer
    from otklik.intake.models import Source

log = logging.getLogger(__name__)

DEFAULT_API_URL = "https://api.telegram.org"
PAGE = 100  # getUpdates returns at most 100 updates
MAX_TEXT = 4096  # sendMessage's limit, characters
MAX_CALLBACK_DATA = 64  # bytes
UPDATE_TYPES = ["message", "callback_query"]
_MESSAGE_ID = re.compile(r"^msg-(-?\d+)_(\d+)$")


def message_external_id(chat_id: Any, message_id: Any) -> str:
    return f"msg-{chat_id}_{message_id}"


def parse_message_id(external_id: str) -> tuple[int, int] | None:
    """(chat id, message id) of `msg-<chat>_<message>`, else None."""
    match = _MESSAGE_ID.match(external_id or "")
    return (int(match.group(1)), int(match.group(2))) if match else None


def is_callback(item: Item) -> bool:
    """A press on an inline button (the survey's answer), not a message to ingest."""
    return item.raw.get("kind") == "callback"


# --- the HTTP side --------------------------------------------------------------------------------------------


class BotApi:
    """Calls of one bot's API; every failure is mapped to the connector errors (see the module docstring)."""

    def __init__(self, token: str, api_url: str = DEFAULT_API_URL, timeout: float = 10.0) -> None:
        self.token = token
        self.api_url = (api_url or DEFAULT_API_URL).rstrip("/")
        self.timeout = httpx.Timeout(timeout, connect=min(timeout, 5.0))

    @classmethod
    def of(cls, source: Source) -> BotApi:
        config = source.config or {}
        return cls(
            source.token,
            str(config.get("api_url") or DEFAULT_API_URL),
            float(config.get("timeout") or 10.0),
        )

    def call(self, method: str, params: dict[str, Any], *, polling: bool = True) -> Any:
        """The `result` of a successful call. `polling`: errors only the admin can fix are `SourceBroken`;
        otherwise (publishing) they are a `PermanentChannelError` of that one publication."""
        if not self.token:
            raise SourceBroken(_("The Telegram bot has no token: enter the token from @BotFather."))
        try:
            response = httpx.post(f"{self.api_url}/bot{self.token}/{method}", json=params, timeout=self.timeout)
        except httpx.TimeoutException as exc:
            raise TemporaryChannelError(
                _("Telegram did not answer in time (%(method)s).") % {"method": method}
            ) from exc
        except httpx.HTTPError as exc:
            raise TemporaryChannelError(
                _("Telegram could not be reached (%(method)s): %(error)s") % {"method": method, "error": exc}
            ) from exc
        try:
            data = response.json()
        except ValueError:
            data = None
        if not isinstance(data, dict) or "ok" not in data:
            if response.status_code >= 500 or response.status_code == 200:
                raise TemporaryChannelError(
                    _("Telegram answered something that is not the Bot API (HTTP %(status)s, %(method)s).")
                    % {"status": response.status_code, "method": method}
                )
            data = {"ok": False, "error_code": response.status_code, "description": response.text[:300]}
        if data.get("ok"):
            return data.get("result")
        raise self.error(method, data, response.status_code, polling=polling)

    @staticmethod
    def error(method: str, data: dict[str, Any], status: int, *, polling: bool) -> Exception:
        code = int(data.get("error_code") or status)
        description = str(data.get("description") or "")[:300]
        detail = {"method": method, "code": code, "description": description}
        permanent = SourceBroken if polling else PermanentChannelError
        if code == 401:
            return permanent(
                _(
                    "Telegram rejected the bot token (401 Unauthorized): the token was revoked or mistyped; "
                    "enter the current token from @BotFather."
                )
            )
        if code == 403:
            return permanent(
                _(
                    "Telegram forbids the bot to write there (403 %(description)s): the bot was removed from "
                    "the group or blocked by the citizen."
                )
                % detail
            )
        if code == 429:
            retry_after = (data.get("parameters") or {}).get("retry_after")
            return RateLimited(
                _("Telegram asks to slow down (429), retry in %(seconds)s s.") % {"seconds": retry_after or "?"},
                retry_after=float(retry_after) if retry_after else None,
            )
        if code >= 500 or code == 409:
            return TemporaryChannelError(_("Telegram error %(code)s in %(method)s: %(description)s") % detail)
        return permanent(_("Telegram refused %(method)s (%(code)s): %(description)s") % detail)


# --- fetching -------------------------------------------------------------------------------------------------


def _when(unix: Any) -> dt.datetime:
    try:
        return dt.datetime.fromtimestamp(int(unix), tz=dt.UTC)
    except (TypeError, ValueError, OverflowError):
        return timezone.now()


def _author(user: dict[str, Any] | None) -> tuple[str, str]:
    user = user or {}
    name = " ".join(part for part in (user.get("first_name"), user.get("last_name")) if part)
    name = name or (f"@{user['username']}" if user.get("username") else "")
    return name, str(user.get("id") or "")


def _link(chat: dict[str, Any], message_id: Any) -> str:
    username = chat.get("username")
    if username and chat.get("type") in {"supergroup", "group", "channel"}:
        return f"https://t.me/{username}/{message_id}"
    return ""


class TelegramConnector:
    """Polls one bot (a Telegram Source); see the module docstring."""

    def __init__(self, source: Source) -> None:
        self.source = source
        self.api = BotApi.of(source)
        config = source.config or {}
        discussion = config.get("discussion_chat_id")
        self.discussion_chat_id = int(discussion) if discussion not in (None, "") else None
        self.page = PAGE

    def fetch_new(self, cursor: dict[str, Any]) -> FetchResult:
        """1. getUpdates from the stored offset (none: whatever Telegram holds). 2. Map the updates to items (the
        dialogue roots of private chats come from the stored posts and from this page). 3. The next offset is the
        last update id + 1, whatever the update was (skipped ones included), so nothing comes twice."""
        params: dict[str, Any] = {"limit": self.page, "timeout": 0, "allowed_updates": UPDATE_TYPES}
        offset = int((cursor or {}).get("offset") or 0)
        if offset:
            params["offset"] = offset
        updates = self.api.call("getUpdates", params) or []
        if not isinstance(updates, list):
            raise TemporaryChannelError(_("Telegram answered getUpdates with something that is not a list."))
        roots: dict[int, str] = {}
        items: list[Item] = []
        next_offset = offset
        for update in sorted(updates, key=lambda u: int(u.get("update_id") or 0)):
            update_id = int(update.get("update_id") or 0)
            next_offset = max(next_offset, update_id + 1)
            item: Item | None = None
            if "message" in update:
                item = self._message_item(update["message"], update_id, roots)
            elif "callback_query" in update:
                item = self._callback_item(update["callback_query"], update_id, roots)
            if item is not None:
                items.append(item)
        new_cursor = {**(cursor or {}), "offset": next_offset} if next_offset else dict(cursor or {})
        return FetchResult(items=items, cursor=new_cursor, more=len(updates) >= self.page)

    def _wanted_chat(self, chat: dict[str, Any]) -> bool:
        kind = chat.get("type")
        if kind == "private":
            return True
        if kind in {"group", "supergroup"}:
            return self.discussion_chat_id is None or int(chat.get("id") or 0) == self.discussion_chat_id
        return False

    def _root(self, chat_id: int, roots: dict[int, str]) -> str:
        """The first message of the dialogue in a private chat: from this page, else the stored posts; "" when
        there is none yet (the message at hand opens the dialogue)."""
        if chat_id in roots:
            return roots[chat_id]
        from otklik.intake.models import Post

        post = (
            Post.objects.filter(source=self.source, external_id__startswith=f"msg-{chat_id}_")
            .order_by("posted_at", "id")
            .only("external_id", "thread_id")
            .first()
        )
        return (post.thread_id or post.external_id) if post is not None else ""

    def _thread(self, message: dict[str, Any], roots: dict[int, str]) -> tuple[str, str]:
        """(thread_id, reply_to) of a message, as the module docstring describes."""
        chat = message.get("chat") or {}
        chat_id = int(chat.get("id") or 0)
        own = message_external_id(chat_id, message.get("message_id"))
        if chat.get("type") == "private":
            root = self._root(chat_id, roots)
            if not root:
                roots[chat_id] = own
                return "", ""
            roots.setdefault(chat_id, root)
            return root, root
        replied = message.get("reply_to_message") or {}
        reply_to = message_external_id(chat_id, replied["message_id"]) if replied.get("message_id") else ""
        thread = message.get("message_thread_id") or (
            replied.get("message_id") if replied.get("is_automatic_forward") else None
        )
        return (message_external_id(chat_id, thread) if thread else reply_to), reply_to

    def _message_item(self, message: dict[str, Any], update_id: int, roots: dict[int, str]) -> Item | None:
        chat = message.get("chat") or {}
        sender = message.get("from") or {}
        if not self._wanted_chat(chat) or sender.get("is_bot") or message.get("is_automatic_forward"):
            return None
        if message.get("sender_chat"):  # a channel or an anonymous admin writing as the group
            return None
        text = str(message.get("text") or message.get("caption") or "").strip()
        if not text or (text.startswith("/") and " " not in text):
            return None
        thread_id, reply_to = self._thread(message, roots)
        name, author_id = _author(sender)
        chat_id = int(chat.get("id") or 0)
        return Item(
            external_id=message_external_id(chat_id, message.get("message_id")),
            text=text,
            posted_at=_when(message.get("date")),
            author_name=name,
            author_id=author_id,
            url=_link(chat, message.get("message_id")),
            thread_id=thread_id,
            reply_to=reply_to,
            raw={
                "kind": "message",
                "update_id": update_id,
                "chat_id": chat_id,
                "message_id": message.get("message_id"),
                "reply_to_message_id": (message.get("reply_to_message") or {}).get("message_id"),
            },
        )

    def _callback_item(self, query: dict[str, Any], update_id: int, roots: dict[int, str]) -> Item | None:
        message = query.get("message") or {}
        chat = message.get("chat") or {}
        data = str(query.get("data") or "")
        if not data or not message or not self._wanted_chat(chat):
            return None
        self._answer_callback(str(query.get("id") or ""))
        chat_id = int(chat.get("id") or 0)
        name, author_id = _author(query.get("from"))
        if chat.get("type") == "private":
            thread_id = self._root(chat_id, roots)
        else:
            thread_id, _reply = self._thread(message, roots)
        message_id = message.get("message_id")
        return Item(
            external_id=f"cb-{query.get('id')}",
            text=data,
            posted_at=timezone.now(),
            author_name=name,
            author_id=author_id,
            thread_id=thread_id,
            reply_to=message_external_id(chat_id, message_id),
            raw={
                "kind": "callback",
                "update_id": update_id,
                "callback_data": data,
                "message_id": message_id,
                "message_external_id": message_external_id(chat_id, message_id),
                "chat_id": chat_id,
                "callback_query_id": str(query.get("id") or ""),
            },
        )

    def _answer_callback(self, query_id: str) -> None:
        """Stop the button's spinner. Best effort: an old query (a repeated poll) is refused by Telegram."""
        if not query_id:
            return
        try:
            self.api.call("answerCallbackQuery", {"callback_query_id": query_id, "text": _("Thank you!")})
        except (TemporaryChannelError, PermanentChannelError) as exc:
            log.info("Telegram source %s: callback %s not answered: %s", self.source.pk, query_id, exc)

    def fetch_replies(self, thread: Thread, since: dt.datetime | None = None) -> list[Item]:
        """The stored messages of the thread after `since`, oldest first (the Bot API has no history: these are
        what the poller stored). A private chat: every message of the chat; a discussion thread: the messages in
        it and the replies to them."""
        from otklik.intake.models import Post

        posts = Post.objects.filter(source=self.source)
        parsed = parse_message_id(thread.thread_id) or parse_message_id(thread.post_external_id)
        if parsed is not None and parsed[0] > 0:  # a private chat: its id is the citizen's (positive) id
            posts = posts.filter(external_id__startswith=f"msg-{parsed[0]}_")
        else:
            root = thread.thread_id
            level = set(posts.filter(Q(thread_id=root) | Q(external_id=root)).values_list("external_id", flat=True))
            posts = posts.filter(Q(thread_id=root) | Q(external_id=root) | Q(thread_id__in=level))
        if since is not None:
            posts = posts.filter(posted_at__gt=since)
        return [
            Item(
                external_id=post.external_id,
                text=post.text,
                posted_at=post.posted_at,
                author_name=post.author_name,
                author_id=post.author_id,
                url=post.url,
                thread_id=post.thread_id,
            )
            for post in posts.order_by("posted_at", "id")
        ]


# --- publishing -----------------------------------------------------------------------------------------------


class TelegramChannelAdapter:
    """Publishes answers as the bot's replies (see the module docstring: no reconciling on Telegram)."""

    def handles(self, source: Source) -> bool:
        """A Telegram source with a bot token is answered by the bot; one without is answered by hand."""
        return bool(source.token)

    def _api(self, thread: Thread) -> BotApi:
        from otklik.intake.models import Source

        source = Source.objects.filter(pk=thread.source_id).first() if thread.source_id else None
        if source is None:
            raise PermanentChannelError(_("The Telegram source of this thread no longer exists."))
        if not source.token:
            raise PermanentChannelError(_("The Telegram source has no bot token: publish by hand."))
        return BotApi.of(source)

    @staticmethod
    def _target(thread: Thread) -> tuple[int, int | None]:
        """(chat id, message id to reply to) of the post answered."""
        parsed = parse_message_id(thread.post_external_id) or parse_message_id(thread.thread_id)
        if parsed is None:
            raise PermanentChannelError(
                _("This post did not come from the Telegram bot (%(id)s): publish by hand.")
                % {"id": thread.post_external_id}
            )
        return parsed

    def send(self, thread: Thread, text: str, reply_markup: dict[str, Any] | None = None) -> Published:
        """sendMessage to the thread's chat as a reply to the post; the sent message as `Published`."""
        text = (text or "").strip()
        if not text:
            raise PermanentChannelError(_("The text is empty."))
        if len(text) > MAX_TEXT:
            raise PermanentChannelError(
                _("Telegram takes at most %(max)s characters in a message; this one has %(count)s: shorten it.")
                % {"max": MAX_TEXT, "count": len(text)}
            )
        api = self._api(thread)
        chat_id, message_id = self._target(thread)
        params: dict[str, Any] = {"chat_id": chat_id, "text": text, "link_preview_options": {"is_disabled": True}}
        if message_id:
            params["reply_parameters"] = {"message_id": message_id, "allow_sending_without_reply": True}
        if reply_markup:
            params["reply_markup"] = reply_markup
        result = api.call("sendMessage", params, polling=False)
        if not isinstance(result, dict) or not result.get("message_id"):
            raise TemporaryChannelError(_("Telegram answered sendMessage without a message."))
        chat = result.get("chat") or {"id": chat_id}
        return Published(
            external_id=message_external_id(chat.get("id", chat_id), result["message_id"]),
            url=_link(chat, result["message_id"]),
        )

    def publish(self, answer: Answer, thread: Thread, idempotency_key: str) -> Published:
        """The answer's text as a reply to the citizen's message (Telegram takes no idempotency key)."""
        return self.send(thread, answer.text)

    def find_published(self, thread: Thread, idempotency_key: str) -> Published | None:
        """Always None: a bot cannot list the messages it sent, so a reply cannot be found again."""
        return None

    def ask(self, thread: Thread, text: str, buttons: list[tuple[str, str]]) -> Published:
        """A question with inline buttons, one row: `buttons` = [(label, callback_data)] (data at most 64 bytes).
        The presses come back from `TelegramConnector.fetch_new` as callback items."""
        for _label, data in buttons:
            if not 1 <= len(data.encode()) <= MAX_CALLBACK_DATA:
                raise ValueError(f"callback_data must be 1-{MAX_CALLBACK_DATA} bytes: {data!r}")
        keyboard = {"inline_keyboard": [[{"text": label, "callback_data": data} for label, data in buttons]]}
        return self.send(thread, text, reply_markup=keyboard)

    def ask_solved(self, thread: Thread, question: str, key: str) -> Published:
        """«Is the problem solved?» with the buttons «Yes, solved» (`solved:<key>:yes`) and «No»
        (`solved:<key>:no`); `key` at most 50 bytes."""
        return self.ask(
            thread,
            question,
            [(_("Yes, solved"), f"solved:{key}:yes"), (_("No"), f"solved:{key}:no")],
        )


def ask_solved(thread: Thread, question: str, key: str) -> Published:
    """`TelegramChannelAdapter().ask_solved(…)`, for the satisfaction survey."""
    return TelegramChannelAdapter().ask_solved(thread, question, key)


__all__ = [
    "BotApi",
    "TelegramChannelAdapter",
    "TelegramConnector",
    "ask_solved",
    "is_callback",
    "message_external_id",
    "parse_message_id",
]
