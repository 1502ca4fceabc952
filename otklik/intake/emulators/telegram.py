"""A local emulator of the Telegram Bot API, for the tests and the demo (`python manage.py telegram_emulator`).

It follows the documented formats (https://core.telegram.org/bots/api): `GET|POST /bot<token>/<method>` with the
parameters in the query string, a form or a JSON body; every answer is `{"ok": true, "result": …}` or
`{"ok": false, "error_code": N, "description": "…", "parameters": {"retry_after": S}}`.

The world it serves: one bot (`TOKEN`, @otklik_city_bot), the city's channel (@city_channel) and its discussion
group (@city_talk, a public supergroup the bot is a member of), and citizens who write to the bot in private chats
(a private chat's id is the citizen's user id, as in Telegram).

Methods: `getMe`; `getUpdates` (offset confirms the updates before it, negative offsets, limit 1–100, timeout for
long polling, allowed_updates remembered between calls); `sendMessage` (chat_id as a number or "@username", text,
reply_parameters or reply_to_message_id, reply_markup with inline_keyboard, message_thread_id) → Message;
`answerCallbackQuery`. Errors as Telegram gives them: an unknown token → 401 Unauthorized; a chat the bot was
removed from, or a citizen who blocked the bot → 403 Forbidden; more than 20 messages a minute to a group or 30 a
second in all → 429 Too Many Requests with `retry_after`; bad parameters → 400 Bad Request; an unknown method → 404.

Control (not part of the Bot API):
- `POST /__emulator__/posts` adds an incoming update and answers `{"ok": true, "result": {"update_id",
  "message_id", "chat_id"}}`:
  `{"text", "author", "chat": "private", "reply_to"?: message id}` a citizen writes to the bot;
  `{"text", "chat": "channel"}` the city posts in its channel: its automatic forward appears in the discussion group
  (`is_automatic_forward`); the result's message_id is the forward's id there;
  `{"text", "author", "chat": "discussion", "reply_to"?: message id}` a comment in the discussion group: replying to
  a channel post's forward (or to a comment under it) it is in that post's thread (`message_thread_id`);
  `{"callback_data", "message_id", "author", "chat"?: "private"|"discussion"}` the citizen presses an inline button
  of the bot's message `message_id` (a `callback_query` update).
  Optional everywhere: `"author_id"` (default: a stable id per author name), `"date"` (unix time).
- `POST /__emulator__/faults` `{"method": "sendMessage"|"*", "error_code": 401|403|429|500|"timeout"|"garbage",
  "times": 1, "retry_after"?: 5, "delay"?: seconds for "timeout" (default 15), "after"?: false}`: the next `times`
  calls of the method fail so. "timeout" holds the connection for `delay` seconds and closes it without an answer;
  "garbage" answers 200 with a body that is not JSON. With `"after": true` the call takes effect first (the message
  is sent) and only its answer is lost: a failure between "sent" and "recorded".
- `POST /__emulator__/remove` `{"chat": "discussion"}` or `{"author": NAME}`: the bot was removed from the group,
  or the citizen blocked it (sendMessage there → 403).
- `GET /__emulator__/published` → `[{"method", "params", "at"}]`: every write call that took effect, in order.
- `GET /__emulator__/state` → the chats and their messages (for debugging).
- `POST /__emulator__/reset`: an empty world (updates, messages, faults, published calls).
"""

from __future__ import annotations

import itertools
import json
import threading
import time
import zlib
from collections import deque
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit

TOKEN = "123456:emulator-token"  # noqa: S105 -- the emulator's well-known test token
BOT: dict[str, Any] = {
    "id": 123456,
    "is_bot": True,
    "first_name": "Отклик",
    "username": "otklik_city_bot",
    "can_join_groups": True,
    "can_read_all_group_messages": True,
    "supports_inline_queries": False,
}
CHANNEL: dict[str, Any] = {"id": -1001000000001, "title": "Город", "username": "city_channel", "type": "channel"}
DISCUSSION: dict[str, Any] = {
    "id": -1001000000002,
    "title": "Город: обсуждения",
    "username": "city_talk",
    "type": "supergroup",
}
#: The service account Telegram shows as the sender of a channel post's automatic forward.
TELEGRAM_SERVICE_USER: dict[str, Any] = {"id": 777000, "is_bot": False, "first_name": "Telegram"}
FIRST_UPDATE_ID = 700000001
FIRST_USER_ID = 5000001
GROUP_MESSAGES_PER_MINUTE = 20
MESSAGES_PER_SECOND = 30
MAX_TEXT = 4096
LONG_POLL_CAP = 5.0  # seconds: a long poll returns at the latest after this (or its own timeout)
WRITE_METHODS = {"sendMessage", "answerCallbackQuery"}
UPDATE_TYPES = {"message", "edited_message", "channel_post", "callback_query"}


class ApiError(Exception):
    def __init__(self, code: int, description: str, retry_after: int | None = None) -> None:
        super().__init__(description)
        self.code = code
        self.description = description
        self.retry_after = retry_after

    def body(self) -> dict[str, Any]:
        data: dict[str, Any] = {"ok": False, "error_code": self.code, "description": self.description}
        if self.retry_after is not None:
            data["parameters"] = {"retry_after": self.retry_after}
        return data


DESCRIPTIONS = {
    400: "Bad Request",
    401: "Unauthorized",
    403: "Forbidden: bot was kicked from the supergroup chat",
    404: "Not Found",
    429: "Too Many Requests: retry after {retry_after}",
    500: "Internal Server Error",
    502: "Bad Gateway",
}


@dataclass
class Fault:
    method: str
    error: int | str
    times: int = 1
    retry_after: int = 5
    delay: float = 15.0
    after: bool = False


@dataclass
class World:
    """The emulator's state; every access holds `lock` (the server answers from many threads)."""

    updates: list[dict[str, Any]] = field(default_factory=list)
    next_update_id: int = FIRST_UPDATE_ID
    confirmed: int = 0  # updates with an id below this were confirmed by an offset and are gone
    allowed_updates: list[str] = field(default_factory=list)
    users: dict[str, dict[str, Any]] = field(default_factory=dict)  # author name → User
    chats: dict[int, dict[str, Any]] = field(default_factory=dict)  # chat id → Chat
    messages: dict[int, dict[int, dict[str, Any]]] = field(default_factory=dict)  # chat id → message id → Message
    message_ids: dict[int, itertools.count[int]] = field(default_factory=dict)
    callbacks: dict[str, dict[str, Any]] = field(default_factory=dict)  # id → {"answered": bool}
    removed: set[int] = field(default_factory=set)  # chats where a send is forbidden
    faults: list[Fault] = field(default_factory=list)
    published: list[dict[str, Any]] = field(default_factory=list)
    sends: deque[tuple[float, int]] = field(default_factory=deque)  # (monotonic time, chat id) of recent sends


class TelegramEmulator:
    """The Bot API over HTTP on `host:port` (port 0: a free one); `start()` serves from a thread."""

    def __init__(self, host: str = "127.0.0.1", port: int = 0, *, tokens: tuple[str, ...] = (TOKEN,)) -> None:
        self.tokens = set(tokens)
        self.lock = threading.RLock()
        self.changed = threading.Condition(self.lock)
        self.world = World()
        self._reset_world()
        emulator = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def do_GET(self) -> None:  # noqa: N802
                emulator.handle(self, "GET")

            def do_POST(self) -> None:  # noqa: N802
                emulator.handle(self, "POST")

            def log_message(self, format: str, *args: Any) -> None:  # noqa: A002
                pass

        self.server = ThreadingHTTPServer((host, port), Handler)
        self.server.daemon_threads = True
        self.thread: threading.Thread | None = None

    @property
    def url(self) -> str:
        host, port = self.server.server_address[:2]
        return f"http://{host!s}:{port}"

    def start(self) -> TelegramEmulator:
        self.thread = threading.Thread(target=self.server.serve_forever, name="telegram-emulator", daemon=True)
        self.thread.start()
        return self

    def serve_forever(self) -> None:
        self.server.serve_forever()

    def close(self) -> None:
        with self.changed:
            self.changed.notify_all()
        self.server.shutdown()
        self.server.server_close()

    # --- the world ------------------------------------------------------------------------------------------

    def _reset_world(self) -> None:
        with self.lock:
            self.world = World()
            self.world.chats[DISCUSSION["id"]] = dict(DISCUSSION)
            self.world.chats[CHANNEL["id"]] = dict(CHANNEL)

    def reset(self) -> None:
        self._reset_world()

    def _user(self, author: str, author_id: Any = None) -> dict[str, Any]:
        author = (author or "").strip() or "Гражданин"
        user = self.world.users.get(author)
        if user is None:
            first, _sep, last = author.partition(" ")
            user = {"id": int(author_id) if author_id else FIRST_USER_ID + len(self.world.users), "is_bot": False}
            user["first_name"] = first
            if last:
                user["last_name"] = last
            user["language_code"] = "ru"
            self.world.users[author] = user
            chat = {"id": user["id"], "type": "private", "first_name": first}
            if last:
                chat["last_name"] = last
            self.world.chats[user["id"]] = chat
        return user

    def _store(self, chat_id: int, message: dict[str, Any]) -> dict[str, Any]:
        counter = self.world.message_ids.setdefault(chat_id, itertools.count(1))
        message["message_id"] = next(counter)
        self.world.messages.setdefault(chat_id, {})[message["message_id"]] = message
        return message

    def _message(self, chat_id: int, message_id: int) -> dict[str, Any] | None:
        return self.world.messages.get(chat_id, {}).get(int(message_id))

    def _add_update(self, kind: str, payload: dict[str, Any]) -> int:
        update_id = self.world.next_update_id
        self.world.next_update_id += 1
        self.world.updates.append({"update_id": update_id, kind: payload})
        self.changed.notify_all()
        return update_id

    @staticmethod
    def _replied(message: dict[str, Any]) -> dict[str, Any]:
        """A message as it appears in another's `reply_to_message`: without its own reply (one level, as
        Telegram sends it)."""
        return {k: v for k, v in message.items() if k != "reply_to_message"}

    def add_post(self, data: dict[str, Any]) -> dict[str, Any]:
        """The body of POST /__emulator__/posts (see the module docstring)."""
        date = int(data.get("date") or time.time())
        with self.lock:
            if data.get("callback_data") is not None:
                return self._add_callback(data, date)
            chat_kind = data.get("chat") or "private"
            text = str(data.get("text") or "")
            if not text:
                raise ApiError(400, "Bad Request: text is empty")
            if chat_kind == "channel":
                return self._add_channel_post(text, date)
            user = self._user(str(data.get("author") or ""), data.get("author_id"))
            if chat_kind == "private":
                chat = self.world.chats[user["id"]]
            elif chat_kind == "discussion":
                chat = self.world.chats[DISCUSSION["id"]]
            else:
                raise ApiError(400, f"Bad Request: unknown chat {chat_kind!r}")
            message: dict[str, Any] = {"from": dict(user), "chat": dict(chat), "date": date, "text": text}
            reply_to = data.get("reply_to")
            if reply_to:
                parent = self._message(chat["id"], int(reply_to))
                if parent is None:
                    raise ApiError(400, "Bad Request: message to be replied not found")
                message["reply_to_message"] = self._replied(parent)
                thread = parent.get("message_thread_id") or (
                    parent["message_id"] if parent.get("is_automatic_forward") else None
                )
                if thread and chat["type"] == "supergroup":
                    message["message_thread_id"] = thread
            self._store(chat["id"], message)
            update_id = self._add_update("message", message)
            return {"update_id": update_id, "message_id": message["message_id"], "chat_id": chat["id"]}

    def _add_channel_post(self, text: str, date: int) -> dict[str, Any]:
        channel_post = self._store(CHANNEL["id"], {"chat": dict(CHANNEL), "date": date, "text": text})
        # The bot is not an admin of the channel: it does not get `channel_post`, only the group's forward.
        forward = self._store(
            DISCUSSION["id"],
            {
                "from": dict(TELEGRAM_SERVICE_USER),
                "sender_chat": dict(CHANNEL),
                "chat": dict(DISCUSSION),
                "date": date,
                "text": text,
                "is_automatic_forward": True,
                "forward_origin": {
                    "type": "channel",
                    "chat": dict(CHANNEL),
                    "message_id": channel_post["message_id"],
                    "date": date,
                },
            },
        )
        update_id = self._add_update("message", forward)
        return {
            "update_id": update_id,
            "message_id": forward["message_id"],
            "chat_id": DISCUSSION["id"],
            "channel_message_id": channel_post["message_id"],
        }

    def _add_callback(self, data: dict[str, Any], date: int) -> dict[str, Any]:
        user = self._user(str(data.get("author") or ""), data.get("author_id"))
        chat_id = DISCUSSION["id"] if data.get("chat") == "discussion" else user["id"]
        message = self._message(chat_id, int(data.get("message_id") or 0))
        if message is None or message.get("from", {}).get("id") != BOT["id"]:
            raise ApiError(400, "Bad Request: no bot message with this id in the chat")
        buttons = [
            button.get("callback_data")
            for row in (message.get("reply_markup") or {}).get("inline_keyboard", [])
            for button in row
        ]
        if data["callback_data"] not in buttons:
            raise ApiError(400, "Bad Request: the message has no button with this callback_data")
        query_id = str(zlib.crc32(f"{date}:{user['id']}:{len(self.world.callbacks)}".encode()) * 1000 + 1)
        self.world.callbacks[query_id] = {"answered": False}
        query = {
            "id": query_id,
            "from": dict(user),
            "message": message,
            "chat_instance": str(zlib.crc32(str(chat_id).encode())),
            "data": str(data["callback_data"]),
        }
        update_id = self._add_update("callback_query", query)
        return {"update_id": update_id, "message_id": message["message_id"], "chat_id": chat_id, "id": query_id}

    def remove(self, data: dict[str, Any]) -> dict[str, Any]:
        with self.lock:
            if data.get("chat") == "discussion":
                chat_id = DISCUSSION["id"]
            else:
                chat_id = self._user(str(data.get("author") or ""), data.get("author_id"))["id"]
            self.world.removed.add(chat_id)
            return {"chat_id": chat_id}

    def add_fault(self, data: dict[str, Any]) -> dict[str, Any]:
        error = data.get("error_code")
        if error not in {401, 403, 429, 500, 502, "timeout", "garbage"}:
            raise ApiError(400, f"Bad Request: unknown error_code {error!r}")
        fault = Fault(
            method=str(data.get("method") or "*"),
            error=error,
            times=int(data.get("times") or 1),
            retry_after=int(data.get("retry_after") or 5),
            delay=float(data.get("delay") or 15.0),
            after=bool(data.get("after")),
        )
        with self.lock:
            self.world.faults.append(fault)
        return {"method": fault.method, "error_code": fault.error, "times": fault.times}

    def _take_fault(self, method: str) -> Fault | None:
        with self.lock:
            for fault in self.world.faults:
                if fault.method in {method, "*"} and fault.times > 0:
                    fault.times -= 1
                    if fault.times == 0:
                        self.world.faults.remove(fault)
                    return fault
        return None

    def published(self) -> list[dict[str, Any]]:
        with self.lock:
            return json.loads(json.dumps(self.world.published))

    def state(self) -> dict[str, Any]:
        with self.lock:
            return {
                "chats": list(self.world.chats.values()),
                "messages": {str(c): list(m.values()) for c, m in self.world.messages.items()},
                "pending_updates": len([u for u in self.world.updates if u["update_id"] >= self.world.confirmed]),
            }

    # --- the Bot API ----------------------------------------------------------------------------------------

    def call(self, method: str, params: dict[str, Any]) -> Any:
        """Run one Bot API method (the token was checked); raises ApiError."""
        if method == "getMe":
            return dict(BOT)
        if method == "getUpdates":
            return self._get_updates(params)
        if method == "sendMessage":
            return self._send_message(params)
        if method == "answerCallbackQuery":
            return self._answer_callback(params)
        raise ApiError(404, "Not Found")

    def _get_updates(self, params: dict[str, Any]) -> list[dict[str, Any]]:
        offset = _int(params.get("offset"), 0)
        limit = min(100, max(1, _int(params.get("limit"), 100)))
        timeout = max(0.0, float(_int(params.get("timeout"), 0)))
        allowed = _json_param(params.get("allowed_updates"))
        deadline = time.monotonic() + min(timeout, LONG_POLL_CAP)
        with self.changed:
            if isinstance(allowed, list):
                self.world.allowed_updates = [str(kind) for kind in allowed if kind in UPDATE_TYPES]
            if offset < 0:
                kept = self.world.updates[offset:]
                self.world.confirmed = kept[0]["update_id"] if kept else self.world.next_update_id
            elif offset:
                self.world.confirmed = max(self.world.confirmed, offset)
            self.world.updates = [u for u in self.world.updates if u["update_id"] >= self.world.confirmed]
            while True:
                wanted = [u for u in self.world.updates if self._allowed(u)][:limit]
                left = deadline - time.monotonic()
                if wanted or left <= 0:
                    return json.loads(json.dumps(wanted))
                self.changed.wait(left)

    def _allowed(self, update: dict[str, Any]) -> bool:
        # By default Telegram sends every type but chat_member, message_reaction and message_reaction_count.
        allowed = self.world.allowed_updates
        return not allowed or any(kind in update for kind in allowed)

    def _chat_id(self, value: Any) -> int:
        if isinstance(value, str) and value.startswith("@"):
            for chat in self.world.chats.values():
                if chat.get("username") == value[1:]:
                    return int(chat["id"])
            raise ApiError(400, "Bad Request: chat not found")
        chat_id = _int(value, None)
        if chat_id is None or chat_id not in self.world.chats:
            raise ApiError(400, "Bad Request: chat not found")
        return chat_id

    def _check_flood(self, chat: dict[str, Any]) -> None:
        now = time.monotonic()
        sends = self.world.sends
        while sends and sends[0][0] < now - 60:
            sends.popleft()
        if sum(1 for at, _c in sends if at > now - 1) >= MESSAGES_PER_SECOND:
            raise ApiError(429, "Too Many Requests: retry after 1", retry_after=1)
        if chat["type"] in {"group", "supergroup"}:
            in_chat = [at for at, c in sends if c == chat["id"]]
            if len(in_chat) >= GROUP_MESSAGES_PER_MINUTE:
                retry = max(1, int(in_chat[0] + 60 - now) + 1)
                raise ApiError(429, f"Too Many Requests: retry after {retry}", retry_after=retry)
        sends.append((now, chat["id"]))

    def _send_message(self, params: dict[str, Any]) -> dict[str, Any]:
        with self.lock:
            chat_id = self._chat_id(params.get("chat_id"))
            chat = self.world.chats[chat_id]
            if chat["type"] == "channel":
                raise ApiError(400, "Bad Request: need administrator rights in the channel chat")
            if chat_id in self.world.removed:
                if chat["type"] == "private":
                    raise ApiError(403, "Forbidden: bot was blocked by the user")
                raise ApiError(403, "Forbidden: bot was kicked from the supergroup chat")
            text = str(params.get("text") or "")
            if not text.strip():
                raise ApiError(400, "Bad Request: message text is empty")
            if len(text) > MAX_TEXT:
                raise ApiError(400, "Bad Request: message is too long")
            reply = _json_param(params.get("reply_parameters")) or {}
            if not isinstance(reply, dict):
                raise ApiError(400, "Bad Request: can't parse reply parameters JSON object")
            reply_to_id = _int(reply.get("message_id"), None) or _int(params.get("reply_to_message_id"), None)
            allow_without = bool(reply.get("allow_sending_without_reply") or params.get("allow_sending_without_reply"))
            markup = _json_param(params.get("reply_markup"))
            if markup is not None and not _valid_inline_keyboard(markup):
                raise ApiError(400, "Bad Request: can't parse inline keyboard button")
            self._check_flood(chat)
            message: dict[str, Any] = {"from": dict(BOT), "chat": dict(chat), "date": int(time.time()), "text": text}
            if reply_to_id:
                parent = self._message(chat_id, reply_to_id)
                if parent is None and not allow_without:
                    raise ApiError(400, "Bad Request: message to be replied not found")
                if parent is not None:
                    message["reply_to_message"] = self._replied(parent)
                    thread = parent.get("message_thread_id") or (
                        parent["message_id"] if parent.get("is_automatic_forward") else None
                    )
                    if thread and chat["type"] == "supergroup":
                        message["message_thread_id"] = thread
            if markup:
                message["reply_markup"] = markup
            self._store(chat_id, message)
            self._record("sendMessage", params)
            return json.loads(json.dumps(message))

    def _answer_callback(self, params: dict[str, Any]) -> bool:
        with self.lock:
            query = self.world.callbacks.get(str(params.get("callback_query_id") or ""))
            if query is None or query["answered"]:
                raise ApiError(400, "Bad Request: query is too old and response timeout expired or query ID is invalid")
            query["answered"] = True
            self._record("answerCallbackQuery", params)
            return True

    def _record(self, method: str, params: dict[str, Any]) -> None:
        clean = {k: _json_param(v) if k in {"reply_parameters", "reply_markup"} else v for k, v in params.items()}
        self.world.published.append({"method": method, "params": clean, "at": time.time()})

    # --- HTTP -----------------------------------------------------------------------------------------------

    def handle(self, request: BaseHTTPRequestHandler, verb: str) -> None:
        parts = urlsplit(request.path)
        try:
            params = _read_params(request, parts.query)
        except ValueError:
            _reply(request, 400, {"ok": False, "error_code": 400, "description": "Bad Request: can't parse JSON"})
            return
        path = parts.path
        if path.startswith("/__emulator__/"):
            self._control(request, verb, path.removeprefix("/__emulator__/"), params)
            return
        segments = path.strip("/").split("/")
        if len(segments) != 2 or not segments[0].startswith("bot"):
            _reply(request, 404, ApiError(404, "Not Found").body())
            return
        token, method = segments[0][3:], segments[1]
        if token not in self.tokens:
            _reply(request, 401, ApiError(401, "Unauthorized").body())
            return
        fault = self._take_fault(method)
        if fault is not None and not fault.after:
            self._fail(request, fault)
            return
        try:
            result = self.call(method, params)
        except ApiError as exc:
            _reply(request, exc.code, exc.body())
            return
        if fault is not None:
            self._fail(request, fault)
            return
        _reply(request, 200, {"ok": True, "result": result})

    def _fail(self, request: BaseHTTPRequestHandler, fault: Fault) -> None:
        if fault.error == "timeout":
            time.sleep(fault.delay)
            request.close_connection = True
            return
        if fault.error == "garbage":
            body = b"<html><body>502 Bad Gateway</body></html>"
            request.send_response(200)
            request.send_header("Content-Type", "application/json")
            request.send_header("Content-Length", str(len(body)))
            request.end_headers()
            request.wfile.write(body)
            return
        code = int(fault.error)
        if code == 429:
            error = ApiError(429, f"Too Many Requests: retry after {fault.retry_after}", fault.retry_after)
        elif code == 403:
            error = ApiError(403, DESCRIPTIONS[403])
        else:
            error = ApiError(code, DESCRIPTIONS.get(code, "Error"))
        _reply(request, code, error.body())

    def _control(self, request: BaseHTTPRequestHandler, verb: str, name: str, params: dict[str, Any]) -> None:
        try:
            if verb == "GET" and name == "published":
                _reply(request, 200, self.published())
                return
            if verb == "GET" and name == "state":
                _reply(request, 200, self.state())
                return
            if verb == "POST" and name == "posts":
                result: Any = self.add_post(params)
            elif verb == "POST" and name == "faults":
                result = self.add_fault(params)
            elif verb == "POST" and name == "remove":
                result = self.remove(params)
            elif verb == "POST" and name == "reset":
                self.reset()
                result = True
            else:
                raise ApiError(404, "Not Found")
        except ApiError as exc:
            _reply(request, exc.code, exc.body())
            return
        _reply(request, 200, {"ok": True, "result": result})


def _int(value: Any, default: Any) -> Any:
    try:
        return int(value)
    except (TypeError, ValueError):
        return default


def _json_param(value: Any) -> Any:
    """A parameter that may be JSON-serialised (in a query string or a form) or already an object (a JSON body)."""
    if isinstance(value, str):
        try:
            return json.loads(value)
        except ValueError as exc:
            raise ApiError(400, "Bad Request: can't parse JSON parameter") from exc
    return value


def _valid_inline_keyboard(markup: Any) -> bool:
    rows = markup.get("inline_keyboard") if isinstance(markup, dict) else None
    if not isinstance(rows, list):
        return False
    for row in rows:
        if not isinstance(row, list):
            return False
        for button in row:
            if not isinstance(button, dict) or not button.get("text"):
                return False
            data = button.get("callback_data")
            if data is not None and not 1 <= len(str(data).encode()) <= 64:
                return False
    return True


def _read_params(request: BaseHTTPRequestHandler, query: str) -> dict[str, Any]:
    params: dict[str, Any] = {k: v[-1] for k, v in parse_qs(query).items()}
    length = int(request.headers.get("Content-Length") or 0)
    body = request.rfile.read(length) if length else b""
    if body:
        content_type = request.headers.get("Content-Type", "")
        if "json" in content_type:
            data = json.loads(body)
            if not isinstance(data, dict):
                raise ValueError("not an object")
            params.update(data)
        else:
            params.update({k: v[-1] for k, v in parse_qs(body.decode()).items()})
    return params


def _reply(request: BaseHTTPRequestHandler, status: int, data: Any) -> None:
    body = json.dumps(data, ensure_ascii=False).encode()
    request.send_response(status)
    request.send_header("Content-Type", "application/json")
    request.send_header("Content-Length", str(len(body)))
    request.end_headers()
    request.wfile.write(body)


__all__ = ["BOT", "CHANNEL", "DISCUSSION", "TOKEN", "ApiError", "TelegramEmulator"]
