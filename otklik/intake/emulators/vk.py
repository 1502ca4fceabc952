"""A local emulator of the VK API (version 5.199) over HTTP: one community's wall, its comments, a search.

Faithful to what Otklik relies on in the documented formats (https://dev.vk.com/ru/method):
- `GET|POST /method/<name>` with `access_token` (or `Authorization: Bearer …`) and `v`; the answer is
  `{"response": …}` or `{"error": {"error_code", "error_msg", "request_params": [{"key", "value"}, …]}}`, both with
  HTTP 200, as VK does;
- `wall.get`, `wall.getComments` (threads: replies to a comment are one level deep, with `reply_to_comment`,
  `parents_stack` and `thread`), `wall.createComment` (with VK's idempotency key `guid`: a repeated guid returns
  the same `comment_id` and creates nothing), `newsfeed.search`, `users.get`, `groups.getById` (the 5.194+ shape
  `{"groups": […], "profiles": []}`);
- tokens: only the configured ones (else error 5); more than `rate_limit` calls per second per token → error 6.

Control endpoints (JSON), for the tests and the demo:
- `POST /__emulator__/posts` `{"text", "author", "reply_to"?, "author_id"?, "date"?}`: a wall post, or a comment
  when `reply_to` is a post id ("123") or a comment ("123_456": a reply to comment 456 of post 123) → the ids;
- `POST /__emulator__/faults` `{"method", "error_code": 5|6|9|15|18|30|500…|"timeout"|"garbage", "times": n,
  "after": false}`: the next n calls of the method fail so (`after`: a write is made first, then it fails);
- `GET /__emulator__/published`: every write call made (`[{"method", "params", "at", "result"}]`);
- `POST /__emulator__/config` `{"rate_limit"?, "tokens"?: {token: "community"|"user"}, "timeout_seconds"?}`;
- `POST /__emulator__/reset`: an empty wall, no faults, no log (tokens and limits stay).

Run it with `python manage.py vk_emulator --port 8765 [--seed-demo]`; tests use `start_in_thread()`.
"""

from __future__ import annotations

import collections
import contextlib
import itertools
import json
import logging
import socket
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qsl, urlsplit

log = logging.getLogger(__name__)

API_VERSION = "5.199"
DEMO_TOKEN = "vk-demo-community-token"  # noqa: S105 -- the emulator's demo token, not a secret
DEMO_USER_TOKEN = "vk-demo-user-token"  # noqa: S105
MAX_COUNT = 100
SEARCH_MAX_COUNT = 200

ERROR_MESSAGES: dict[int, str] = {
    1: "Unknown error occurred",
    5: "User authorization failed: invalid access_token (4).",
    6: "Too many requests per second",
    8: "Invalid request: v (version) is required",
    9: "Flood control",
    10: "Internal server error",
    15: "Access denied",
    18: "User was deleted or banned",
    27: "Group authorization failed: method is unavailable with group auth.",
    30: "This profile is private",
    100: "One of the parameters specified was missing or invalid",
    212: "Access to post comments denied",
}


class ApiError(Exception):
    def __init__(self, code: int, detail: str = "") -> None:
        message = ERROR_MESSAGES.get(code, "Unknown error occurred")
        super().__init__(f"{message}: {detail}" if detail else message)
        self.code = code


@dataclass
class Comment:
    id: int
    owner_id: int
    post_id: int
    from_id: int
    date: int
    text: str
    parent: int = 0  # the top-level comment of its thread; 0 for a top-level comment
    reply_to_comment: int = 0
    reply_to_user: int = 0


@dataclass
class WallPost:
    id: int
    owner_id: int
    from_id: int
    date: int
    text: str
    comments: list[Comment] = field(default_factory=list)


@dataclass
class Fault:
    method: str
    error_code: int | str
    times: int = 1
    after: bool = False


@dataclass
class Reply:
    """What the HTTP handler sends: a status, a body, and how long to stall first (a simulated timeout)."""

    status: int
    body: bytes
    content_type: str = "application/json; charset=utf-8"
    stall: float = 0.0


def _int(params: dict[str, str], name: str, default: int | None = None) -> int:
    raw = params.get(name, "")
    if raw == "":
        if default is None:
            raise ApiError(100, f"{name} is undefined")
        return default
    try:
        return int(raw)
    except ValueError:
        raise ApiError(100, f"{name} not integer") from None


def _json(data: Any, status: int = 200) -> Reply:
    return Reply(status, json.dumps(data, ensure_ascii=False).encode())


class VkEmulator:
    """The state of the emulated VK: one community (id `group_id`), its wall, users by name, tokens, faults."""

    def __init__(
        self,
        *,
        group_id: int = 1,
        group_name: str = "Администрация города",
        screen_name: str = "city_admin",
        tokens: dict[str, str] | None = None,
        rate_limit: int = 20,
        timeout_seconds: float = 5.0,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.group_id = group_id
        self.group_name = group_name
        self.screen_name = screen_name
        self.tokens = dict(tokens if tokens is not None else {DEMO_TOKEN: "community", DEMO_USER_TOKEN: "user"})
        self.rate_limit = rate_limit
        self.timeout_seconds = timeout_seconds
        self.clock = clock
        self.lock = threading.RLock()
        self.reset()

    # --- state ------------------------------------------------------------------------------------------------

    def reset(self) -> None:
        with self.lock:
            self.walls: dict[int, dict[int, WallPost]] = {}
            self.post_ids: dict[int, itertools.count[int]] = {}
            self.comment_ids: dict[int, itertools.count[int]] = {}
            self.users: dict[int, tuple[str, str]] = {}
            self.user_ids: dict[str, int] = {}
            self.guids: dict[tuple[int, int, str], tuple[int, list[int]]] = {}
            self.faults: list[Fault] = []
            self.published: list[dict[str, Any]] = []
            self.calls: list[tuple[str, str]] = []  # (method, token kind): what the tests count
            self.windows: dict[str, collections.deque[float]] = collections.defaultdict(collections.deque)

    @property
    def owner_id(self) -> int:
        return -self.group_id

    def user(self, name: str, user_id: int | None = None) -> int:
        """The id of the user called `name` (made up on first sight: 100001, 100002, …)."""
        with self.lock:
            name = (name or "Пользователь ВКонтакте").strip()
            if user_id is None:
                user_id = self.user_ids.get(name)
            if user_id is None:
                user_id = 100001 + len(self.users)
                while user_id in self.users:
                    user_id += 1
            first, _sep, last = name.partition(" ")
            self.users[user_id] = (first, last)
            self.user_ids.setdefault(name, user_id)
            return user_id

    def _wall(self, owner_id: int) -> dict[int, WallPost]:
        return self.walls.setdefault(owner_id, {})

    def add_post(
        self, text: str, author: str = "", *, author_id: int | None = None, date: int | None = None, owner_id=None
    ) -> WallPost:
        """A post on the community's wall (a suggested post by a user, as city communities publish them)."""
        with self.lock:
            owner = self.owner_id if owner_id is None else int(owner_id)
            from_id = author_id if author_id is not None and author_id < 0 else self.user(author, author_id)
            post_id = next(self.post_ids.setdefault(owner, itertools.count(1)))
            post = WallPost(post_id, owner, from_id, int(date if date is not None else self.clock()), text)
            self._wall(owner)[post_id] = post
            return post

    def add_comment(
        self,
        post_id: int,
        text: str,
        author: str = "",
        *,
        author_id: int | None = None,
        reply_to_comment: int = 0,
        date: int | None = None,
        owner_id: int | None = None,
    ) -> Comment:
        with self.lock:
            owner = self.owner_id if owner_id is None else owner_id
            post = self._wall(owner).get(post_id)
            if post is None:
                raise ApiError(100, "post_id is invalid")
            from_id = author_id if author_id is not None and author_id < 0 else self.user(author, author_id)
            parent, reply_to_user = 0, 0
            if reply_to_comment:
                target = next((c for c in post.comments if c.id == reply_to_comment), None)
                if target is None:
                    raise ApiError(100, "reply_to_comment is invalid")
                parent = target.parent or target.id
                reply_to_user = target.from_id
            comment_id = next(self.comment_ids.setdefault(owner, itertools.count(1)))
            comment = Comment(
                comment_id,
                owner,
                post_id,
                from_id,
                int(date if date is not None else self.clock()),
                text,
                parent=parent,
                reply_to_comment=reply_to_comment,
                reply_to_user=reply_to_user,
            )
            post.comments.append(comment)
            return comment

    def add(self, data: dict[str, Any]) -> dict[str, Any]:
        """The control endpoint's `POST /__emulator__/posts`."""
        text = str(data.get("text") or "")
        if not text.strip():
            raise ValueError("text is required")
        author = str(data.get("author") or "")
        author_id = int(data["author_id"]) if data.get("author_id") not in (None, "") else None
        date = int(data["date"]) if data.get("date") not in (None, "") else None
        reply_to = str(data.get("reply_to") or "").strip()
        if not reply_to:
            post = self.add_post(text, author, author_id=author_id, date=date)
            return {"owner_id": post.owner_id, "post_id": post.id}
        post_part, _sep, comment_part = reply_to.partition("_")
        comment = self.add_comment(
            int(post_part),
            text,
            author,
            author_id=author_id,
            reply_to_comment=int(comment_part) if comment_part else 0,
            date=date,
        )
        return {"owner_id": comment.owner_id, "post_id": comment.post_id, "comment_id": comment.id}

    def add_fault(self, method: str, error_code: int | str, times: int = 1, after: bool = False) -> None:
        with self.lock:
            self.faults.append(Fault(method, error_code, max(1, int(times)), bool(after)))

    def configure(self, data: dict[str, Any]) -> None:
        with self.lock:
            if "rate_limit" in data:
                self.rate_limit = int(data["rate_limit"])
            if "tokens" in data:
                self.tokens = {str(k): str(v) for k, v in dict(data["tokens"]).items()}
            if "timeout_seconds" in data:
                self.timeout_seconds = float(data["timeout_seconds"])

    # --- the API ----------------------------------------------------------------------------------------------

    def call(self, method: str, params: dict[str, str], token: str) -> Reply:
        """One API request → the reply (errors as VK sends them)."""
        request_params = [{"key": "method", "value": method}, {"key": "oauth", "value": "1"}]
        request_params += [{"key": k, "value": v} for k, v in params.items() if k != "access_token"]

        def error(code: int, message: str | None = None) -> Reply:
            return _json(
                {
                    "error": {
                        "error_code": code,
                        "error_msg": message or ERROR_MESSAGES.get(code, "Unknown error occurred"),
                        "request_params": request_params,
                    }
                }
            )

        with self.lock:
            kind = self.tokens.get(token)
            self.calls.append((method, kind or ""))
            if not params.get("v"):
                return error(8)
            if kind is None:
                return error(5)
            if self._over_limit(token):
                return error(6)
            fault = self._take_fault(method)
        if fault is not None and not fault.after:
            return self._fault_reply(fault, error)
        handler = getattr(self, "api_" + method.replace(".", "_"), None)
        if handler is None:
            return error(3, "Unknown method passed")
        try:
            with self.lock:
                result = handler(params, kind)
        except ApiError as exc:
            return error(exc.code, str(exc))
        if fault is not None:
            return self._fault_reply(fault, error)
        return _json({"response": result})

    def _over_limit(self, token: str) -> bool:
        """More than `rate_limit` calls within the last second with this token (a sliding window)."""
        now = time.monotonic()
        window = self.windows[token]
        while window and window[0] <= now - 1.0:
            window.popleft()
        if len(window) >= self.rate_limit:
            return True
        window.append(now)
        return False

    def _take_fault(self, method: str) -> Fault | None:
        for fault in self.faults:
            if fault.method in (method, "*"):
                fault.times -= 1
                if fault.times <= 0:
                    self.faults.remove(fault)
                return fault
        return None

    def _fault_reply(self, fault: Fault, error: Callable[..., Reply]) -> Reply:
        code = fault.error_code
        if code == "timeout":
            reply = error(10)
            reply.stall = self.timeout_seconds
            return reply
        if code == "garbage":
            return Reply(200, b'{"response": {"count": 3, "items": [{"id": 1, "te', "text/html")
        code = int(code)
        if code >= 500:
            body = f"<html><body><h1>{code}</h1>nginx</body></html>".encode()
            return Reply(code, body, "text/html")
        return error(code)

    # wall ------------------------------------------------------------------------------------------------------

    def _owner_wall(self, params: dict[str, str]) -> tuple[int, dict[int, WallPost]]:
        owner = _int(params, "owner_id", self.owner_id)
        if owner < 0 and owner != self.owner_id:
            raise ApiError(15, "group is not available")
        if owner > 0 and owner not in self.users:
            raise ApiError(18)
        return owner, self._wall(owner)

    def _post_json(self, post: WallPost) -> dict[str, Any]:
        return {
            "id": post.id,
            "owner_id": post.owner_id,
            "from_id": post.from_id,
            "date": post.date,
            "post_type": "post",
            "text": post.text,
            "comments": {"count": len(post.comments), "can_post": 1, "groups_can_post": True},
            "likes": {"count": 0},
            "reposts": {"count": 0},
        }

    def _extended(self, from_ids: set[int]) -> dict[str, Any]:
        profiles = [
            {"id": uid, "first_name": self.users[uid][0], "last_name": self.users[uid][1], "is_closed": False}
            for uid in sorted(i for i in from_ids if i > 0 and i in self.users)
        ]
        groups = [self._group_json()] if any(i < 0 for i in from_ids) else []
        return {"profiles": profiles, "groups": groups}

    def _group_json(self) -> dict[str, Any]:
        return {
            "id": self.group_id,
            "name": self.group_name,
            "screen_name": self.screen_name,
            "is_closed": 0,
            "type": "group",
        }

    def api_wall_get(self, params: dict[str, str], kind: str) -> dict[str, Any]:
        _owner, wall = self._owner_wall(params)
        offset = max(0, _int(params, "offset", 0))
        count = min(MAX_COUNT, max(0, _int(params, "count", 20)))
        posts = sorted(wall.values(), key=lambda p: p.id, reverse=True)
        page = posts[offset : offset + count]
        result: dict[str, Any] = {"count": len(posts), "items": [self._post_json(p) for p in page]}
        if params.get("extended") == "1":
            result.update(self._extended({p.from_id for p in page}))
        return result

    def _comment_json(self, comment: Comment, post: WallPost, thread_items: int) -> dict[str, Any]:
        data: dict[str, Any] = {
            "id": comment.id,
            "from_id": comment.from_id,
            "post_id": comment.post_id,
            "owner_id": comment.owner_id,
            "parents_stack": [comment.parent] if comment.parent else [],
            "date": comment.date,
            "text": comment.text,
        }
        if comment.reply_to_comment:
            data["reply_to_comment"] = comment.reply_to_comment
            data["reply_to_user"] = comment.reply_to_user
        if not comment.parent:
            replies = [c for c in post.comments if c.parent == comment.id]
            data["thread"] = {
                "count": len(replies),
                "items": [self._comment_json(c, post, 0) for c in replies[:thread_items]],
                "can_post": True,
                "show_reply_button": True,
                "groups_can_post": True,
            }
        return data

    def api_wall_getComments(self, params: dict[str, str], kind: str) -> dict[str, Any]:  # noqa: N802
        _owner, wall = self._owner_wall(params)
        post = wall.get(_int(params, "post_id"))
        if post is None:
            raise ApiError(100, "post_id is invalid")
        parent = _int(params, "comment_id", 0)
        if parent and not any(c.id == parent and not c.parent for c in post.comments):
            raise ApiError(100, "comment_id is invalid")
        level = [c for c in post.comments if c.parent == parent]
        descending = params.get("sort", "asc") == "desc"
        level.sort(key=lambda c: c.id, reverse=descending)
        start = _int(params, "start_comment_id", 0)
        if start:
            level = [c for c in level if (c.id <= start if descending else c.id >= start)]
        offset = max(0, _int(params, "offset", 0))
        count = min(MAX_COUNT, max(0, _int(params, "count", 10)))
        thread_items = min(10, max(0, _int(params, "thread_items_count", 0)))
        page = level[offset : offset + count]
        result: dict[str, Any] = {
            "count": len(post.comments) if not parent else len([c for c in post.comments if c.parent == parent]),
            "current_level_count": len([c for c in post.comments if c.parent == parent]),
            "can_post": 1,
            "show_reply_button": True,
            "groups_can_post": True,
            "items": [self._comment_json(c, post, thread_items) for c in page],
        }
        if params.get("extended") == "1":
            ids = {c.from_id for c in page}
            ids |= {c.from_id for c in post.comments if c.parent in {p.id for p in page}}
            result.update(self._extended(ids))
        return result

    def api_wall_createComment(self, params: dict[str, str], kind: str) -> dict[str, Any]:  # noqa: N802
        owner, wall = self._owner_wall(params)
        post_id = _int(params, "post_id")
        message = params.get("message", "")
        at = self.clock()
        logged = {k: v for k, v in params.items() if k != "access_token"}
        entry: dict[str, Any] = {"method": "wall.createComment", "params": logged, "at": at}
        self.published.append(entry)
        if post_id not in wall:
            raise ApiError(100, "post_id is invalid")
        if not message.strip():
            raise ApiError(100, "message is undefined")
        guid = params.get("guid", "")
        if guid and (owner, post_id, guid) in self.guids:
            comment_id, stack = self.guids[(owner, post_id, guid)]
            entry["result"] = {"comment_id": comment_id, "repeated_guid": True}
            return {"comment_id": comment_id, "parents_stack": stack}
        from_group = _int(params, "from_group", 0)
        if kind == "community" or from_group:
            if from_group not in (0, 1, self.group_id):
                raise ApiError(15, "from_group is not your community")
            author_id = -self.group_id
        else:
            author_id = self.user("Демо Пользователь")
        comment = self.add_comment(
            post_id,
            message,
            author_id=author_id,
            reply_to_comment=_int(params, "reply_to_comment", 0),
            owner_id=owner,
        )
        stack = [comment.parent] if comment.parent else []
        if guid:
            self.guids[(owner, post_id, guid)] = (comment.id, stack)
        entry["result"] = {"comment_id": comment.id}
        return {"comment_id": comment.id, "parents_stack": stack}

    # search, names ---------------------------------------------------------------------------------------------

    def api_newsfeed_search(self, params: dict[str, str], kind: str) -> dict[str, Any]:
        if kind != "user":
            raise ApiError(27)
        query = params.get("q", "").strip().lower()
        count = min(SEARCH_MAX_COUNT, max(0, _int(params, "count", 30)))
        start_time = _int(params, "start_time", 0)
        end_time = _int(params, "end_time", 0)
        posts = [
            p
            for wall in self.walls.values()
            for p in wall.values()
            if query and query in p.text.lower() and p.date >= start_time and (not end_time or p.date <= end_time)
        ]
        order = sorted(posts, key=lambda p: (p.date, p.owner_id, p.id), reverse=True)
        start_from = params.get("start_from", "")
        if start_from:
            try:
                date, owner, pid = (int(x) for x in start_from.split("/"))
            except ValueError:
                raise ApiError(100, "start_from is invalid") from None
            order = [p for p in order if (p.date, p.owner_id, p.id) < (date, owner, pid)]
        page = order[:count]
        result: dict[str, Any] = {
            "items": [self._post_json(p) for p in page],
            "count": len(page),
            "total_count": len(posts),
        }
        if len(order) > count and page:
            last = page[-1]
            result["next_from"] = f"{last.date}/{last.owner_id}/{last.id}"
        if params.get("extended") == "1":
            result.update(self._extended({p.from_id for p in page}))
        return result

    def api_users_get(self, params: dict[str, str], kind: str) -> list[dict[str, Any]]:
        ids = [x for x in params.get("user_ids", "").split(",") if x.strip()]
        result = []
        for raw in ids:
            try:
                uid = int(raw)
            except ValueError:
                raise ApiError(100, "user_ids is invalid") from None
            if uid in self.users:
                first, last = self.users[uid]
                result.append(
                    {"id": uid, "first_name": first, "last_name": last, "can_access_closed": True, "is_closed": False}
                )
        return result

    def api_groups_getById(self, params: dict[str, str], kind: str) -> dict[str, Any]:  # noqa: N802
        raw = params.get("group_ids") or params.get("group_id") or str(self.group_id)
        wanted = {x.strip().lstrip("-") for x in raw.split(",") if x.strip()}
        if not wanted <= {str(self.group_id), self.screen_name}:
            raise ApiError(100, "group_ids is invalid")
        return {"groups": [self._group_json()], "profiles": []}

    # the demo ----------------------------------------------------------------------------------------------

    def seed_demo(self) -> None:
        """A few realistic posts with comments, dated over the last hours."""
        now = int(self.clock())
        for hours_ago, (author, text, comments) in zip((9, 6, 4, 2), DEMO_POSTS, strict=False):
            post = self.add_post(text, author, date=now - hours_ago * 3600)
            for minutes, (c_author, c_text) in enumerate(comments, start=1):
                self.add_comment(post.id, c_text, c_author, date=post.date + minutes * 600)

    def stream(self, stop: threading.Event, interval: float = 20.0) -> None:
        """A new post every `interval` seconds (and now and then a comment) until `stop` is set."""
        for n in itertools.count():
            if stop.wait(interval):
                return
            author, text = DEMO_STREAM[n % len(DEMO_STREAM)]
            post = self.add_post(text, author)
            log.info("vk emulator: new post wall%s_%s", post.owner_id, post.id)
            if n % 3 == 2:
                with self.lock:
                    earlier = sorted(self._wall(self.owner_id))[-3:-1]
                for post_id in earlier[:1]:
                    self.add_comment(post_id, "Поддерживаю, у нас то же самое!", "Галина Иванова")


DEMO_POSTS: list[tuple[str, str, list[tuple[str, str]]]] = [
    (
        "Ольга Смирнова",
        "Третий день нет горячей воды в доме на улице Ленина, 15. Управляющая компания трубку не берёт. "
        "Когда дадут воду?",
        [("Пётр Кузнецов", "В соседнем доме тоже нет воды"), ("Ольга Смирнова", "Дети моются холодной водой!")],
    ),
    (
        "Андрей Волков",
        "На перекрёстке Мира и Гагарина яма на полдороги, вчера две машины пробили колёса. Заделайте, пожалуйста.",
        [("Ирина Соколова", "Её уже месяц не могут заделать")],
    ),
    (
        "Марина Попова",
        "Во дворе дома Советская, 42 не вывозят мусор уже неделю, контейнеры переполнены, вокруг крысы.",
        [],
    ),
    (
        "Сергей Лебедев",
        "Спасибо коммунальщикам за быструю уборку снега на улице Пушкина! Утром всё было чисто.",
        [],
    ),
]

DEMO_STREAM: list[tuple[str, str]] = [
    ("Наталья Козлова", "Не работает уличное освещение на улице Чехова от дома 3 до дома 17, вечером очень темно."),
    ("Дмитрий Новиков", "Автобус 12 уже второй день не ходит по расписанию, люди опаздывают на работу."),
    ("Елена Морозова", "В подъезде дома Садовая, 8 течёт крыша, на пятом этаже вода по стенам."),
    ("Алексей Павлов", "Когда отремонтируют детскую площадку в сквере на Заводской? Качели сломаны с лета."),
    ("Татьяна Фёдорова", "Возле школы №5 нет пешеходного перехода, дети перебегают дорогу. Просим поставить светофор."),
    ("Игорь Михайлов", "Отключили отопление в доме Лесная, 21, в квартирах +14. Куда обращаться?"),
]


DEMO_PORT = 8765
DEMO_API_URL = f"http://127.0.0.1:{DEMO_PORT}"


def ensure_demo_source(api_url: str = DEMO_API_URL) -> tuple[Any, bool]:
    """The demo's VK source polling the emulator (community 1, the demo token) → (source, created). Idempotent:
    an existing source of community 1 is left as the admin set it, unless its token cannot be read any more."""
    from otklik.intake.models import Source

    source = Source.objects.filter(channel="vk", account="1").first()
    if source is not None and source.token:
        return source, False
    created = source is None
    if source is None:
        source = Source(channel="vk", account="1", name="ВКонтакте: Администрация города (эмулятор)")
        source.config = {"group_id": 1, "api_url": api_url, "token_kind": "community", "backfill": 20}
        source.poll_interval = 20
    source.set_token(DEMO_TOKEN)
    if created:
        source.save()
    else:
        source.save(update_fields=["token_encrypted"])
    return source, created


# --- HTTP -----------------------------------------------------------------------------------------------------


class Handler(BaseHTTPRequestHandler):
    server: EmulatorServer
    protocol_version = "HTTP/1.1"

    def setup(self) -> None:
        super().setup()
        # No Nagle: a reply's headers and body go out at once (else a delayed ACK costs 40 ms per call).
        self.connection.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002
        if self.server.verbose:
            super().log_message(format, *args)

    def _body(self) -> bytes:
        length = int(self.headers.get("Content-Length") or 0)
        return self.rfile.read(length) if length else b""

    def _send(self, reply: Reply) -> None:
        if reply.stall:
            time.sleep(reply.stall)
        with contextlib.suppress(BrokenPipeError, ConnectionResetError):
            self.send_response(reply.status)
            self.send_header("Content-Type", reply.content_type)
            self.send_header("Content-Length", str(len(reply.body)))
            self.end_headers()
            self.wfile.write(reply.body)

    def do_GET(self) -> None:  # noqa: N802
        self._handle("GET")

    def do_POST(self) -> None:  # noqa: N802
        self._handle("POST")

    def _handle(self, verb: str) -> None:
        url = urlsplit(self.path)
        body = self._body() if verb == "POST" else b""
        emulator = self.server.emulator
        if url.path.startswith("/method/"):
            params = dict(parse_qsl(url.query, keep_blank_values=True))
            content_type = self.headers.get("Content-Type", "")
            if body and "application/x-www-form-urlencoded" in content_type:
                params.update(parse_qsl(body.decode("utf-8", "replace"), keep_blank_values=True))
            token = params.get("access_token", "")
            auth = self.headers.get("Authorization", "")
            if not token and auth.lower().startswith("bearer "):
                token = auth[7:].strip()
            self._send(emulator.call(url.path[len("/method/") :], params, token))
            return
        if url.path.startswith("/__emulator__/"):
            self._send(self._control(verb, url.path[len("/__emulator__/") :], body))
            return
        self._send(_json({"error": "not found"}, 404))

    def _control(self, verb: str, action: str, body: bytes) -> Reply:
        emulator = self.server.emulator
        try:
            data = json.loads(body or b"{}")
        except ValueError:
            return _json({"error": "the body is not JSON"}, 400)
        try:
            if verb == "POST" and action == "posts":
                return _json(emulator.add(data), 201)
            if verb == "POST" and action == "faults":
                emulator.add_fault(
                    str(data["method"]), data["error_code"], int(data.get("times", 1)), bool(data.get("after"))
                )
                return _json({"ok": True}, 201)
            if verb == "POST" and action == "config":
                emulator.configure(data)
                return _json({"ok": True})
            if verb == "POST" and action == "reset":
                emulator.reset()
                return _json({"ok": True})
            if verb == "GET" and action == "published":
                with emulator.lock:
                    return _json(list(emulator.published))
        except (KeyError, TypeError, ValueError, ApiError) as exc:
            return _json({"error": str(exc)}, 400)
        return _json({"error": "not found"}, 404)


class EmulatorServer(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True

    def __init__(self, address: tuple[str, int], emulator: VkEmulator, *, verbose: bool = False) -> None:
        super().__init__(address, Handler)
        self.emulator = emulator
        self.verbose = verbose

    @property
    def url(self) -> str:
        host, port = self.server_address[:2]
        return f"http://{host!s}:{port}"


def start_in_thread(emulator: VkEmulator | None = None, host: str = "127.0.0.1", port: int = 0) -> EmulatorServer:
    """Serve `emulator` on (host, port; 0: a free port) in a daemon thread; `server.shutdown()` stops it."""
    server = EmulatorServer((host, port), emulator or VkEmulator())
    threading.Thread(target=server.serve_forever, args=(0.05,), name="vk-emulator", daemon=True).start()
    return server
