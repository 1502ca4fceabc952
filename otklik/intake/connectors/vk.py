"""VK (VKontakte): a community's wall and the comments under its posts; answers as comments from the community.

Source config (`Source.config`):
- `group_id` (required): the community's id, positive (the wall's owner id is `-group_id`);
- `api_url`: default https://api.vk.com (the local emulator: http://127.0.0.1:8765);
- `token_kind`: "community" (default, 20 calls/s) or "user" (3 calls/s): the client-side rate limit;
- `follow_posts`: how many of the newest posts are watched for new comments (default 20);
- `backfill`: how many of the newest posts the first poll takes (default 20; 0: only what comes after it);
- `keywords` + `search_token` (optional): a `newsfeed.search` for the keywords over all of VK with a user token;
- `timeout`: seconds per call (default 10).
The token (`source.token`) is the community's access token; a source without one is answered by hand.

The cursor: `{"post": the newest wall post id seen, "posts": {"<post id>": [last comment id, comments count]}
for the followed posts, "search": {"since": unix time, "ids": [...]}}`. Comment ids grow on a wall, so "the last
comment id seen" per post is a high-water mark; a followed post is read again only when its comment count changed.

External ids: `wall-<group>_<post>` for a post, `comment-<group>_<post>_<comment>` for a comment (thread: the
post's external id). The community's own comments (our answers) are never taken in.
"""

from __future__ import annotations

import collections
import datetime as dt
import hashlib
import logging
import os
import re
import threading
import time
from collections.abc import Callable, Iterator
from typing import TYPE_CHECKING, Any

import httpx
from django.utils.translation import gettext as _

from otklik.answers.channels import PermanentChannelError, Published, TemporaryChannelError, Thread
from otklik.intake.connectors.base import FetchResult, Item, RateLimited, SourceBroken

if TYPE_CHECKING:
    from otklik.answers.models import Answer
    from otklik.intake.models import Source

log = logging.getLogger(__name__)

API_VERSION = "5.199"
DEFAULT_API_URL = "https://api.vk.com"
PAGE = 100  # the most wall.get and wall.getComments give per call
OVERLAP = 5  # pages overlap by this much: an item deleted meanwhile does not shift another one out of sight
MAX_PAGES = 100  # per listing and poll: 10 000 posts
FOLLOW_POSTS = 20
BACKFILL = 20
SEARCH_PAGE = 200
SEARCH_FIRST_HOURS = 24
DEFAULT_TIMEOUT = 10.0
RATES = {"user": 3, "community": 20}  # VK's limits, calls per second per token

RATE_LIMIT_CODES = {6, 9, 29}
BROKEN_CODES = {5, 7, 15, 17, 18, 27, 28, 30, 200, 203}
REJECTED_CODES = {100, 212, 213, 214, 222, 223}  # a bad request: the source works, this call cannot succeed

WALL_ID = re.compile(r"^wall(-?\d+)_(\d+)$")
COMMENT_ID = re.compile(r"^comment(-?\d+)_(\d+)_(\d+)$")


# --- errors ---------------------------------------------------------------------------------------------------


class VkRejected(PermanentChannelError):
    """VK refused this call (a deleted post, comments closed, a bad parameter): not the source's fault."""

    def __init__(self, message: str, code: int) -> None:
        super().__init__(message)
        self.code = code


def _broken_reason(code: int, message: str) -> str:
    reasons = {
        5: _("VK rejected the access token (error 5): it is wrong, expired or revoked. Enter a new community token."),
        15: _("VK denied access (error 15): the token has no rights to the community's wall or comments."),
        18: _("The VK community or page was deleted or banned (error 18)."),
        30: _("The VK community or profile is private (error 30)."),
    }
    return reasons.get(code) or _("VK refused the source's token (error %(code)s: %(message)s).") % {
        "code": code,
        "message": message,
    }


def api_error(error: dict[str, Any]) -> Exception:
    """The exception for VK's `{"error": {...}}`: rate limits, a broken source, a rejected call, or temporary."""
    try:
        code = int(error.get("error_code", 0))
    except (TypeError, ValueError):
        code = 0
    message = str(error.get("error_msg", ""))[:300]
    details = {"code": code, "message": message}
    if code in RATE_LIMIT_CODES:
        retry_after = {6: 1.0, 9: 60.0, 29: 3600.0}[code]
        return RateLimited(_("VK asks to slow down (error %(code)s: %(message)s).") % details, retry_after)
    if code in BROKEN_CODES:
        return SourceBroken(_broken_reason(code, message))
    if code in REJECTED_CODES:
        return VkRejected(_("VK refused the request (error %(code)s: %(message)s).") % details, code)
    return TemporaryChannelError(_("VK failed (error %(code)s: %(message)s).") % details)


# --- the client -----------------------------------------------------------------------------------------------


class RateLimiter:
    """At most `rate` calls in any second (a sliding window), shared by all the threads of this process."""

    MARGIN = 0.02

    def __init__(
        self,
        rate: int,
        *,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self.rate = max(1, rate)
        self.clock = clock
        self.sleep = sleep
        self.calls: collections.deque[float] = collections.deque()
        self.lock = threading.Lock()

    def acquire(self) -> float:
        """Wait for a free slot and take it; returns how long it waited. `done()` after the call moves the slot's
        time to the call's end: VK counts when a request arrives, which is after we send it."""
        waited = 0.0
        while True:
            with self.lock:
                now = self.clock()
                while self.calls and self.calls[0] <= now - 1.0:
                    self.calls.popleft()
                if len(self.calls) < self.rate:
                    self.calls.append(now)
                    return waited
                pause = self.calls[0] + 1.0 + self.MARGIN - now
            self.sleep(pause)
            waited += pause

    def done(self) -> None:
        """The call just finished: count the newest slot from now (conservative, whatever the network's delay)."""
        with self.lock:
            if self.calls:
                self.calls[-1] = max(self.calls[-1], self.clock())


_limiters: dict[str, RateLimiter] = {}
_limiters_lock = threading.Lock()
_http: dict[tuple[int, str, float], httpx.Client] = {}


def _http_client(api_url: str, timeout: float) -> httpx.Client:
    """A pooled HTTP client per process and API address (connections are kept alive between calls)."""
    key = (os.getpid(), api_url, timeout)
    with _limiters_lock:
        client = _http.get(key)
        if client is None:
            client = _http[key] = httpx.Client(timeout=httpx.Timeout(timeout, connect=min(timeout, 5.0)))
        return client


def limiter_for(token: str, kind: str) -> RateLimiter:
    """The process-wide limiter of a token (VK counts per token): connectors and the adapter share it."""
    key = hashlib.sha256(f"{kind}:{token}".encode()).hexdigest()[:24]
    with _limiters_lock:
        limiter = _limiters.get(key)
        if limiter is None:
            limiter = _limiters[key] = RateLimiter(RATES.get(kind, RATES["user"]))
        return limiter


class VkClient:
    """Calls VK API methods: POST form data (the token stays out of URLs and logs), one limiter per token."""

    def __init__(
        self,
        *,
        token: str,
        api_url: str = DEFAULT_API_URL,
        token_kind: str = "community",  # noqa: S107 -- a kind, not a secret
        timeout: float = DEFAULT_TIMEOUT,
        limiter: RateLimiter | None = None,
    ) -> None:
        self.token = token
        self.api_url = (api_url or DEFAULT_API_URL).rstrip("/")
        self.limiter = limiter or limiter_for(token, token_kind)
        self.http = _http_client(self.api_url, float(timeout))

    def call(self, method: str, **params: Any) -> Any:
        """The `response` of a method call; raises RateLimited, SourceBroken, VkRejected or TemporaryChannelError."""
        data = {k: str(v) for k, v in params.items() if v is not None}
        data.update(access_token=self.token, v=API_VERSION)
        self.limiter.acquire()
        try:
            reply = self.http.post(f"{self.api_url}/method/{method}", data=data)
        except httpx.TimeoutException as exc:
            raise TemporaryChannelError(_("VK did not answer in time (%s).") % method) from exc
        except httpx.HTTPError as exc:
            raise TemporaryChannelError(_("VK cannot be reached: %s") % exc.__class__.__name__) from exc
        finally:
            self.limiter.done()
        if reply.status_code == 429:
            raise RateLimited(_("VK asks to slow down (HTTP 429)."), 1.0)
        if reply.status_code != 200:
            raise TemporaryChannelError(_("VK answered with HTTP %s.") % reply.status_code)
        try:
            payload = reply.json()
        except ValueError as exc:
            raise TemporaryChannelError(_("VK sent an unreadable answer to %s.") % method) from exc
        if not isinstance(payload, dict):
            raise TemporaryChannelError(_("VK sent an unreadable answer to %s.") % method)
        if isinstance(payload.get("error"), dict):
            raise api_error(payload["error"])
        if "response" not in payload:
            raise TemporaryChannelError(_("VK sent an unreadable answer to %s.") % method)
        return payload["response"]


# --- ids and links --------------------------------------------------------------------------------------------


def post_external_id(owner_id: int, post_id: int) -> str:
    return f"wall{owner_id}_{post_id}"


def comment_external_id(owner_id: int, post_id: int, comment_id: int) -> str:
    return f"comment{owner_id}_{post_id}_{comment_id}"


def post_url(owner_id: int, post_id: int) -> str:
    return f"https://vk.com/wall{owner_id}_{post_id}"


def comment_url(owner_id: int, post_id: int, comment_id: int, thread: int = 0) -> str:
    url = f"{post_url(owner_id, post_id)}?reply={comment_id}"
    return f"{url}&thread={thread}" if thread else url


def parse_target(thread: Thread) -> tuple[int, int, int]:
    """(owner id, post id, the comment to reply to or 0) of a thread; PermanentChannelError when not VK's."""
    match = WALL_ID.match(thread.thread_id or "")
    if match is None:
        comment = COMMENT_ID.match(thread.thread_id or "")
        if comment is None:
            raise PermanentChannelError(_("Not a VK thread: %s") % (thread.thread_id or "—"))
        owner, post = int(comment[1]), int(comment[2])
    else:
        owner, post = int(match[1]), int(match[2])
    reply_to = 0
    answered = COMMENT_ID.match(thread.post_external_id or "")
    if answered is not None and int(answered[1]) == owner and int(answered[2]) == post:
        reply_to = int(answered[3])
    return owner, post, reply_to


def _moment(timestamp: Any) -> dt.datetime:
    return dt.datetime.fromtimestamp(int(timestamp or 0), tz=dt.UTC)


# --- reading --------------------------------------------------------------------------------------------------


class VkReader:
    """Reads a wall with a client: the listings with paging, the authors' names from the extended answers."""

    def __init__(self, client: VkClient) -> None:
        self.client = client
        self.names: dict[int, str] = {}

    def _absorb(self, response: dict[str, Any]) -> None:
        for profile in response.get("profiles") or []:
            name = f"{profile.get('first_name', '')} {profile.get('last_name', '')}".strip()
            self.names[int(profile["id"])] = name
        for group in response.get("groups") or []:
            self.names[-int(group["id"])] = str(group.get("name", ""))

    def name(self, from_id: int) -> str:
        return self.names.get(from_id, "")

    def wall_pages(self, owner_id: int) -> Iterator[tuple[list[dict[str, Any]], int]]:
        """Pages of the wall, newest first (overlapping by OVERLAP), with the wall's total."""
        offset = 0
        for _page in range(MAX_PAGES):
            response = self.client.call("wall.get", owner_id=owner_id, offset=offset, count=PAGE, extended=1)
            self._absorb(response)
            items = list(response.get("items") or [])
            total = int(response.get("count") or 0)
            yield items, total
            if len(items) < PAGE or offset + len(items) >= total:
                return
            offset += len(items) - OVERLAP
        log.warning("vk wall %s: more than %s pages of new posts; the older ones are not read", owner_id, MAX_PAGES)

    def comments(self, owner_id: int, post_id: int) -> list[dict[str, Any]]:
        """Every comment of a post, replies in threads included, by id."""
        found: dict[int, dict[str, Any]] = {}
        offset = 0
        for _page in range(MAX_PAGES):
            response = self.client.call(
                "wall.getComments",
                owner_id=owner_id,
                post_id=post_id,
                offset=offset,
                count=PAGE,
                sort="asc",
                thread_items_count=10,
                extended=1,
            )
            self._absorb(response)
            items = list(response.get("items") or [])
            for comment in items:
                found[int(comment["id"])] = comment
                thread = comment.get("thread") or {}
                replies = list(thread.get("items") or [])
                if int(thread.get("count") or 0) > len(replies):
                    replies = self.thread(owner_id, post_id, int(comment["id"]))
                for reply in replies:
                    found[int(reply["id"])] = reply
            level = int(response.get("current_level_count", response.get("count", 0)) or 0)
            if len(items) < PAGE or offset + len(items) >= level:
                break
            offset += len(items) - OVERLAP
        return [found[key] for key in sorted(found)]

    def thread(self, owner_id: int, post_id: int, comment_id: int) -> list[dict[str, Any]]:
        found: dict[int, dict[str, Any]] = {}
        offset = 0
        for _page in range(MAX_PAGES):
            response = self.client.call(
                "wall.getComments",
                owner_id=owner_id,
                post_id=post_id,
                comment_id=comment_id,
                offset=offset,
                count=PAGE,
                sort="asc",
                extended=1,
            )
            self._absorb(response)
            items = list(response.get("items") or [])
            for reply in items:
                found[int(reply["id"])] = reply
            level = int(response.get("current_level_count", response.get("count", 0)) or 0)
            if len(items) < PAGE or offset + len(items) >= level:
                break
            offset += len(items) - OVERLAP
        return [found[key] for key in sorted(found)]


def _config_int(config: dict[str, Any], name: str, default: int) -> int:
    try:
        return int(config.get(name, default))
    except (TypeError, ValueError):
        return default


def _client(source: Source) -> VkClient:
    config = source.config or {}
    token = source.token
    if not token:
        raise SourceBroken(_("The VK source has no access token (or it cannot be read): enter the community token."))
    try:
        timeout = float(config.get("timeout", DEFAULT_TIMEOUT))
    except (TypeError, ValueError):
        timeout = DEFAULT_TIMEOUT
    return VkClient(
        token=token,
        api_url=str(config.get("api_url") or DEFAULT_API_URL),
        token_kind=str(config.get("token_kind") or "community"),
        timeout=timeout,
    )


def _group_id(source: Source) -> int:
    try:
        group_id = abs(int((source.config or {}).get("group_id") or 0))
    except (TypeError, ValueError):
        group_id = 0
    if not group_id:
        raise SourceBroken(_("The VK source has no community id (group_id in its settings)."))
    return group_id


class VkConnector:
    """Polls a community's wall (new posts, new comments under the newest posts) and optionally a keyword search."""

    def __init__(self, source: Source) -> None:
        self.source = source
        self.config: dict[str, Any] = dict(source.config or {})

    # Built on first use, so that a source without a token fails in fetch_new (the poller marks it broken).
    def _reader(self) -> VkReader:
        return VkReader(_client(self.source))

    def fetch_new(self, cursor: dict[str, Any]) -> FetchResult:
        """New wall posts and new comments of the followed posts since `cursor`, oldest first.

        1. Walk the wall from the newest post until a page reaches the cursor's post (a pinned post does not
           count); the first poll takes only the newest `backfill` posts.
        2. The followed posts: the newest `follow_posts` of those taken in. Each one whose comment count changed
           (or is new) is read whole, threads included; the comments after its high-water mark are new.
        3. The optional keyword search.
        Everything is sorted by time (a post before its comments) and the cursor is returned with it.
        """
        group_id = _group_id(self.source)
        owner = -group_id
        reader = self._reader()
        first_poll = "post" not in cursor
        last_post = int(cursor.get("post") or 0)
        followed: dict[int, tuple[int, int]] = {
            int(key): (int(value[0]), int(value[1])) for key, value in (cursor.get("posts") or {}).items()
        }
        backfill = max(0, _config_int(self.config, "backfill", BACKFILL))
        follow = max(0, _config_int(self.config, "follow_posts", FOLLOW_POSTS))

        seen: dict[int, dict[str, Any]] = {}
        for page, _total in reader.wall_pages(owner):
            for post in page:
                seen[int(post["id"])] = post
            if first_poll:
                if len([p for p in seen.values() if not p.get("is_pinned")]) >= backfill:
                    break
            elif any(int(p["id"]) <= last_post and not p.get("is_pinned") for p in page):
                break
        if first_poll:
            new_ids = sorted(seen, reverse=True)[:backfill]
            newest = max(seen, default=0)
        else:
            new_ids = [pid for pid in seen if pid > last_post]
            newest = max([last_post, *new_ids])

        items: list[tuple[tuple[int, int, int], Item]] = []
        for pid in new_ids:
            post = seen[pid]
            if str(post.get("text") or "").strip():
                items.append(((int(post.get("date") or 0), 0, pid), self._post_item(reader, post)))

        watch = sorted(set(followed) | set(new_ids), reverse=True)[:follow]
        next_followed: dict[str, list[int]] = {}
        for pid in watch:
            last_comment, known_count = followed.get(pid, (0, 0))
            count = int(((seen.get(pid) or {}).get("comments") or {}).get("count", -1))
            if count == known_count or (count == 0 and pid not in followed):
                next_followed[str(pid)] = [last_comment, max(count, 0)]
                continue
            try:
                comments = reader.comments(owner, pid)
            except VkRejected as exc:  # deleted, or its comments closed: stop following it
                log.info("vk %s: post %s is no longer followed: %s", owner, pid, exc)
                continue
            for comment in comments:
                cid = int(comment["id"])
                if cid <= last_comment:
                    continue
                last_comment = cid
                if (
                    self._is_ours(comment, owner)
                    or comment.get("deleted")
                    or not str(comment.get("text") or "").strip()
                ):
                    continue
                items.append(((int(comment.get("date") or 0), 1, cid), self._comment_item(reader, comment, owner, pid)))
            next_followed[str(pid)] = [last_comment, count if count >= 0 else len(comments)]

        next_cursor: dict[str, Any] = {"post": newest, "posts": next_followed}
        keywords = [str(k).strip() for k in (self.config.get("keywords") or []) if str(k).strip()]
        if keywords and self.config.get("search_token"):
            found, search_cursor = self._search(keywords, owner, cursor.get("search") or {})
            items.extend(found)
            next_cursor["search"] = search_cursor
        elif "search" in cursor:
            next_cursor["search"] = cursor["search"]
        items.sort(key=lambda pair: pair[0])
        return FetchResult(items=[item for _key, item in items], cursor=next_cursor)

    def fetch_replies(self, thread: Thread, since: dt.datetime | None = None) -> list[Item]:
        """The comments in a thread (a wall post), after `since`, oldest first; the community's own left out."""
        owner, post_id, _reply_to = parse_target(thread)
        ours = -_group_id(self.source)
        reader = self._reader()
        after = int(since.timestamp()) if since is not None else None
        result = []
        for comment in reader.comments(owner, post_id):
            if self._is_ours(comment, ours) or comment.get("deleted"):
                continue
            if after is not None and int(comment.get("date") or 0) <= after:
                continue
            if str(comment.get("text") or "").strip():
                result.append(self._comment_item(reader, comment, owner, post_id))
        return result

    # items ----------------------------------------------------------------------------------------------------

    @staticmethod
    def _is_ours(comment: dict[str, Any], owner: int) -> bool:
        return int(comment.get("from_id") or 0) == owner

    def _post_item(self, reader: VkReader, post: dict[str, Any]) -> Item:
        owner, pid = int(post["owner_id"]), int(post["id"])
        from_id = int(post.get("from_id") or owner)
        return Item(
            external_id=post_external_id(owner, pid),
            text=str(post.get("text") or ""),
            posted_at=_moment(post.get("date")),
            author_name=reader.name(from_id),
            author_id=str(from_id),
            url=post_url(owner, pid),
            raw=post,
        )

    def _comment_item(self, reader: VkReader, comment: dict[str, Any], owner: int, post_id: int) -> Item:
        cid = int(comment["id"])
        from_id = int(comment.get("from_id") or 0)
        stack = comment.get("parents_stack") or []
        reply_to = int(comment.get("reply_to_comment") or 0)
        return Item(
            external_id=comment_external_id(owner, post_id, cid),
            text=str(comment.get("text") or ""),
            posted_at=_moment(comment.get("date")),
            author_name=reader.name(from_id),
            author_id=str(from_id),
            url=comment_url(owner, post_id, cid, int(stack[0]) if stack else 0),
            thread_id=post_external_id(owner, post_id),
            reply_to=comment_external_id(owner, post_id, reply_to) if reply_to else post_external_id(owner, post_id),
            raw=comment,
        )

    # search ---------------------------------------------------------------------------------------------------

    def _search(
        self, keywords: list[str], owner: int, cursor: dict[str, Any]
    ) -> tuple[list[tuple[tuple[int, int, int], Item]], dict[str, Any]]:
        """Posts elsewhere in VK with the keywords, since the cursor's time (the same second's ids remembered)."""
        reader = VkReader(
            VkClient(
                token=str(self.config["search_token"]),
                api_url=str(self.config.get("api_url") or DEFAULT_API_URL),
                token_kind="user",  # noqa: S106 -- a kind, not a secret
            )
        )
        since = int(cursor.get("since") or time.time() - SEARCH_FIRST_HOURS * 3600)
        known = set(cursor.get("ids") or [])
        found: dict[str, tuple[tuple[int, int, int], Item]] = {}
        for keyword in keywords:
            start_from = None
            for _page in range(MAX_PAGES):
                response = reader.client.call(
                    "newsfeed.search", q=keyword, count=SEARCH_PAGE, start_time=since, start_from=start_from, extended=1
                )
                reader._absorb(response)
                for post in response.get("items") or []:
                    external_id = post_external_id(int(post["owner_id"]), int(post["id"]))
                    if (
                        int(post["owner_id"]) == owner
                        or external_id in known
                        or not str(post.get("text") or "").strip()
                    ):
                        continue
                    found[external_id] = (
                        (int(post.get("date") or 0), 0, int(post["id"])),
                        self._post_item(reader, post),
                    )
                start_from = response.get("next_from")
                if not start_from:
                    break
        newest = max([since, *(key[0] for key, _item in found.values())])
        at_newest = {external_id for external_id, (key, _item) in found.items() if key[0] == newest}
        if newest == since:
            at_newest |= known
        return list(found.values()), {"since": newest, "ids": sorted(at_newest)}


# --- publishing -----------------------------------------------------------------------------------------------


def _normalise(text: str) -> str:
    return " ".join((text or "").split())


class VkChannelAdapter:
    """Publishes an answer as a comment from the community under the post it answers (otklik.answers.outbox).

    Idempotency: the publication's key goes to VK as `guid` (VK does not post a second comment with a guid it
    has seen). VK does not return the guid, so `find_published` reconciles by reading the thread: a comment from
    the community with the answer's text (in reply to the answered comment), written after the publication was
    created.
    """

    def handles(self, source: Source) -> bool:
        """Only a source with a token and a community id is published automatically; others by hand."""
        return source.channel == "vk" and bool(source.token) and bool((source.config or {}).get("group_id"))

    def _source(self, thread: Thread) -> Source:
        from otklik.intake.models import Source

        source = Source.objects.filter(pk=thread.source_id).first() if thread.source_id else None
        if source is None:
            raise PermanentChannelError(_("The VK source of this thread no longer exists."))
        return source

    def publish(self, answer: Answer, thread: Thread, idempotency_key: str) -> Published:
        source = self._source(thread)
        group_id = _group_id(source)
        owner, post_id, reply_to = parse_target(thread)
        response = _client(source).call(
            "wall.createComment",
            owner_id=owner,
            post_id=post_id,
            message=answer.text,
            from_group=group_id,
            reply_to_comment=reply_to or None,
            guid=idempotency_key,
        )
        try:
            comment_id = int(response["comment_id"])
        except (KeyError, TypeError, ValueError) as exc:
            raise TemporaryChannelError(_("VK sent an unreadable answer to %s.") % "wall.createComment") from exc
        stack = response.get("parents_stack") or []
        thread_top = int(stack[0]) if stack else 0
        return Published(
            comment_external_id(owner, post_id, comment_id), comment_url(owner, post_id, comment_id, thread_top)
        )

    def find_published(self, thread: Thread, idempotency_key: str) -> Published | None:
        from otklik.answers.models import Publication

        publication = Publication.objects.filter(idempotency_key=idempotency_key).select_related("answer").first()
        if publication is None:
            return None
        source = self._source(thread)
        group_id = _group_id(source)
        owner, post_id, reply_to = parse_target(thread)
        text = _normalise(publication.answer.text)
        not_before = int(publication.created_at.timestamp()) - 300  # clocks differ; an answer is newer anyway
        try:
            comments = VkReader(_client(source)).comments(owner, post_id)
        except VkRejected as exc:
            raise PermanentChannelError(str(exc)) from exc
        for comment in comments:
            if int(comment.get("from_id") or 0) != -group_id or comment.get("deleted"):
                continue
            if reply_to and int(comment.get("reply_to_comment") or 0) != reply_to:
                continue
            if int(comment.get("date") or 0) < not_before or _normalise(str(comment.get("text") or "")) != text:
                continue
            stack = comment.get("parents_stack") or []
            cid = int(comment["id"])
            return Published(
                comment_external_id(owner, post_id, cid),
                comment_url(owner, post_id, cid, int(stack[0]) if stack else 0),
            )
        return None


__all__ = [
    "RateLimiter",
    "VkChannelAdapter",
    "VkClient",
    "VkConnector",
    "VkRejected",
    "api_error",
    "limiter_for",
]
