"""Polling the networks: sources are data (a row per VK community or Telegram bot), each polled at its interval.

A poll of one source (`poll_source`):
1. Claim it: a conditional UPDATE moves `next_poll_at` a lease ahead (`claim_source`), so two beats or workers never
   poll the same source at once; a worker that dies mid-poll leaves the lease, and the source is due again after it.
2. Ask its connector (otklik.intake.connectors) for the items after the stored cursor (no transaction is open
   during the network call).
3. In ONE transaction: ingest every item (`do_ingest_post`, unique per source and external id) and store the new
   cursor, the time, `failures = 0` and the next poll. A crash before the commit stores nothing: the next poll
   fetches the same items from the same cursor; a crash after it has stored both.
4. Errors: `RateLimited` → the next poll after `retry_after` (or the back-off), not counted as a failure;
   `TemporaryChannelError` (and any unexpected error of the connector) → `failures += 1`, the error kept,
   exponential back-off, and after OTKLIK_SOURCE_MAX_FAILURES in a row the source is broken; `SourceBroken` →
   broken at once. A broken source is not polled until the admin repairs it (`do_repair_source`); the head and the
   admins are notified once per breakage.
"""

from __future__ import annotations

import datetime as dt
import logging
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from django.conf import settings
from django.db import DatabaseError, transaction
from django.db.models import F, Q, QuerySet
from django.utils import timezone
from django.utils.translation import gettext as _

from otklik.core.errors import DomainError, NotAllowed
from otklik.intake.choices import Channel, SourceState
from otklik.intake.connectors import base as connectors
from otklik.intake.connectors.base import FetchResult, Item, RateLimited, SourceBroken
from otklik.intake.dispatch import dispatching_together
from otklik.intake.models import Post, Source

if TYPE_CHECKING:
    from otklik.accounts.models import User

logger = logging.getLogger(__name__)

#: How long a claimed source is held by the worker polling it; a worker that dies frees it after this.
LEASE = dt.timedelta(minutes=5)
#: The back-off after a failure never exceeds this.
MAX_BACKOFF = dt.timedelta(hours=1)
#: The smallest polling interval the admin may set, seconds.
MIN_INTERVAL = 10
#: The errors kept on the source are cut to this length.
ERROR_MAX = 2000


def max_failures() -> int:
    return int(getattr(settings, "OTKLIK_SOURCE_MAX_FAILURES", 5))


def polled_channels() -> list[str]:
    """The channels that have a connector (the others are filled by imports and the API)."""
    return list(connectors.CONNECTORS)


def pollable() -> QuerySet[Source]:
    """Sources that are polled at all: active, working, of a channel with a connector, with a token."""
    return Source.objects.filter(is_active=True, state=SourceState.OK, channel__in=polled_channels()).exclude(
        token_encrypted=""
    )


def _due(now: dt.datetime) -> Q:
    return Q(next_poll_at__isnull=True) | Q(next_poll_at__lte=now)


def due_sources(now: dt.datetime | None = None) -> list[int]:
    """Ids of the sources to poll now, the longest waiting first."""
    now = now or timezone.now()
    rows = pollable().filter(_due(now)).order_by(F("next_poll_at").asc(nulls_first=True), "id")
    return list(rows.values_list("id", flat=True))


def claim_source(source_id: int, now: dt.datetime | None = None) -> bool:
    """Take the source for one poll: True for exactly one of any number of concurrent callers."""
    now = now or timezone.now()
    return pollable().filter(_due(now), pk=source_id).update(next_poll_at=now + LEASE) == 1


def backoff(failures: int, interval: int) -> dt.timedelta:
    """The wait after the `failures`-th failure in a row: the interval (at least 30 s), doubling, at most an hour."""
    base = max(int(interval), 30)
    seconds = base * 2 ** max(failures - 1, 0)
    return min(dt.timedelta(seconds=seconds), MAX_BACKOFF)


@dataclass
class PollResult:
    """What a poll of one source did (`status`: ok, skipped, no_connector, rate_limited, failed, broken)."""

    source_id: int
    status: str
    created: int = 0
    duplicates: int = 0
    empty: int = 0
    rejected: int = 0
    callbacks: int = 0
    more: bool = False
    error: str = ""
    created_ids: list[int] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        return {
            "source": self.source_id,
            "status": self.status,
            "created": self.created,
            "duplicates": self.duplicates,
            "empty": self.empty,
            "rejected": self.rejected,
            "callbacks": self.callbacks,
            "more": self.more,
            "error": self.error,
        }


def poll_source(source_id: int, now: dt.datetime | None = None) -> PollResult:
    """Poll one source once (see the module docstring for the steps). A source not due, inactive, broken or
    without a token is not polled (`skipped`)."""
    now = now or timezone.now()
    if not claim_source(source_id, now):
        return PollResult(source_id, "skipped")
    source = Source.objects.get(pk=source_id)
    started_cursor = dict(source.cursor or {})
    try:
        connector = connectors.get_connector(source)
        if connector is None:  # a channel without a connector slipped in: leave it alone for a while
            Source.objects.filter(pk=source_id).update(next_poll_at=now + dt.timedelta(seconds=source.poll_interval))
            return PollResult(source_id, "no_connector")
        fetched = connector.fetch_new(started_cursor)
    except RateLimited as exc:
        return _rate_limited(source, now, exc)
    except SourceBroken as exc:
        return _break(source, now, _describe(exc, source))
    except DatabaseError:
        raise
    except Exception as exc:  # TemporaryChannelError, and any other failure of the connector
        logger.warning("Polling source %s failed: %s", source_id, exc, exc_info=True)
        return _failed(source, now, _describe(exc, source))
    return _store(source, started_cursor, fetched, now)


def _store(source: Source, started_cursor: dict[str, Any], fetched: FetchResult, now: dt.datetime) -> PollResult:
    """Ingest the items and store the cursor after them, together."""
    result = PollResult(source.pk, "ok", more=bool(fetched.more))
    with transaction.atomic():
        with dispatching_together():  # the new posts go to the analysis together, after the commit
            for item in fetched.items:
                _ingest(source, item, result)
        locked = Source.objects.select_for_update().get(pk=source.pk)
        fields: dict[str, Any] = {
            "last_polled_at": now,
            "failures": 0,
            "last_error": "",
            "next_poll_at": now if fetched.more else now + dt.timedelta(seconds=locked.poll_interval),
        }
        # A poll forced by the admin may have run alongside: never move a cursor stored by another poll back.
        if (locked.cursor or {}) == started_cursor:
            fields["cursor"] = fetched.cursor
        Source.objects.filter(pk=source.pk).update(**fields)
    return result


def thread_of_item(source: Source, item: Item) -> str:
    """The post `item` was written under, as `do_ingest_post` wants it (`thread_id`: a reply of the same author to
    a stored post of his joins his open incident).

    The message it replies to is preferred when it is a stored post of the same author; then the thread (the wall
    post of a comment); then any of the two that is stored (a reply to another citizen's comment); else the
    thread, or the message replied to.
    """
    candidates = [value for value in (item.reply_to.strip(), item.thread_id.strip()) if value]
    if not candidates:
        return ""
    stored = {
        row["external_id"]: row["author_id"]
        for row in Post.objects.filter(source=source, external_id__in=candidates).values("external_id", "author_id")
    }
    author = item.author_id.strip()
    for value in candidates:
        if value in stored and author and stored[value] == author:
            return value
    for value in candidates:
        if value in stored:
            return value
    return item.thread_id.strip() or item.reply_to.strip()


def _ingest(source: Source, item: Item, result: PollResult) -> None:
    from otklik.intake.services import do_ingest_post

    if item.raw.get("kind") == "callback":  # a press on a survey's button (Telegram), not a message
        _record_callback(source, item)
        result.callbacks += 1
        return
    if not item.text.strip():
        result.empty += 1  # a photo, a sticker, a deleted comment: nothing to read
        return
    try:
        ingested = do_ingest_post(
            source=source,
            external_id=item.external_id,
            text=item.text,
            posted_at=item.posted_at,
            author_name=item.author_name[:255],
            author_id=item.author_id[:255],
            url=item.url[:1000],
            thread_id=thread_of_item(source, item)[:255],
        )
    except DomainError as exc:  # a connector's bad item (no id): counted and logged, the others go on
        logger.warning("Source %s: item %r refused: %s", source.pk, item.external_id, exc.message)
        result.rejected += 1
        return
    if ingested.created:
        result.created += 1
        result.created_ids.append(ingested.post.pk)
    else:
        result.duplicates += 1


def _record_callback(source: Source, item: Item) -> None:
    """Hand the answer to the satisfaction survey (in the poll's transaction: stored with the cursor)."""
    from otklik.satisfaction.services import record_callback

    data = str(item.raw.get("callback_data") or item.text or "")
    try:
        record_callback(data, author_id=item.author_id)
    except DomainError as exc:
        logger.warning("Source %s: survey answer %r refused: %s", source.pk, item.external_id, exc.message)


def _describe(exc: BaseException, source: Source) -> str:
    """The error as kept on the source and shown to the admin, with the token blanked out (a Telegram URL holds it,
    and an HTTP library's message may quote the URL)."""
    text = str(exc).strip() or exc.__class__.__name__
    token = source.token
    if token:
        text = text.replace(token, "***")
    return text[:ERROR_MAX]


def _rate_limited(source: Source, now: dt.datetime, exc: RateLimited) -> PollResult:
    if exc.retry_after is not None and exc.retry_after > 0:
        wait = min(dt.timedelta(seconds=float(exc.retry_after)), MAX_BACKOFF)
    else:
        wait = backoff(source.failures + 1, source.poll_interval)
    message = _describe(exc, source)
    Source.objects.filter(pk=source.pk).update(next_poll_at=now + wait, last_error=message)
    return PollResult(source.pk, "rate_limited", error=message)


def _failed(source: Source, now: dt.datetime, message: str) -> PollResult:
    failures = source.failures + 1
    if failures >= max_failures():
        reason = _("%(count)s failed polls in a row. The last error: %(error)s") % {
            "count": failures,
            "error": message,
        }
        return _break(source, now, reason, failures=failures, error=message)
    Source.objects.filter(pk=source.pk).update(
        failures=failures,
        last_error=message,
        next_poll_at=now + backoff(failures, source.poll_interval),
    )
    return PollResult(source.pk, "failed", error=message)


def _break(
    source: Source, now: dt.datetime, reason: str, *, failures: int | None = None, error: str | None = None
) -> PollResult:
    """Mark the source broken (not polled until repaired) and tell the head and the admins, once."""
    with transaction.atomic():
        changed = Source.objects.filter(pk=source.pk, state=SourceState.OK).update(
            state=SourceState.BROKEN,
            broken_reason=reason[:ERROR_MAX],
            broken_at=now,
            failures=failures if failures is not None else source.failures + 1,
            last_error=(error or reason)[:ERROR_MAX],
            next_poll_at=None,
        )
        if changed:
            source.refresh_from_db()
            _notify_broken(source)
    return PollResult(source.pk, "broken", error=reason)


def source_admins() -> list[User]:
    """Who is told about a broken source: the head of the service and the admins (active accounts)."""
    from otklik.accounts.choices import Role
    from otklik.accounts.models import User

    return list(
        User.objects.filter(is_active=True)
        .filter(Q(role__in=[Role.HEAD, Role.ADMIN]) | Q(is_superuser=True))
        .order_by("pk")
    )


def _notify_broken(source: Source) -> None:
    from otklik.notifications.choices import NotificationKind
    from otklik.notifications.services import do_notify

    stamp = source.broken_at.isoformat() if source.broken_at else ""
    do_notify(
        source_admins(),
        kind=NotificationKind.GENERIC,
        title=_("Source «%(name)s» is broken") % {"name": source.name},
        body=_("%(reason)s Fix it and press «Fixed — resume» on the sources page.") % {"reason": source.broken_reason},
        url="/settings/sources/",
        dedup_key=f"source-broken:{source.pk}:{stamp}"[:255],
    )


# --- services of the admin --------------------------------------------------------------------------------


def can_manage_sources(user: User | None) -> bool:
    """The head of the service, admins and staff (the system itself: None)."""
    if user is None:
        return True
    return bool(user.is_superuser or user.is_staff or getattr(user, "role", "") in {"head", "admin"})


def ensure_source_admin(user: User | None) -> None:
    if not can_manage_sources(user):
        raise NotAllowed(_("Only the head of the service or an admin can manage sources."))


def do_repair_source(source: Source, actor: User | None) -> Source:
    """Back to work after the admin fixed it (a new token, access given back): no failures, polled at once."""
    ensure_source_admin(actor)
    Source.objects.filter(pk=source.pk).update(
        state=SourceState.OK,
        failures=0,
        last_error="",
        broken_reason="",
        broken_at=None,
        next_poll_at=timezone.now(),
    )
    source.refresh_from_db()
    _log(actor, source, _("Repaired: polling resumed."))
    return source


def do_request_poll(source: Source, actor: User | None) -> bool:
    """«Poll now»: make a working, active source due at once and queue its poll. False when it cannot be polled
    (inactive, broken, no token, no connector)."""
    from otklik.intake.tasks import poll_source_task

    ensure_source_admin(actor)
    with transaction.atomic():
        if not pollable().filter(pk=source.pk).update(next_poll_at=timezone.now()):
            return False
        poll_source_task.delay_on_commit(source.pk)
    return True


def bot_id_from_token(token: str) -> str:
    """A Telegram bot token is `<bot id>:<secret>`; the bot id names the account."""
    head, sep, _rest = token.strip().partition(":")
    if not sep or not head.isdigit():
        raise DomainError(_("A Telegram bot token looks like 123456789:ABC…: check it."), field="token")
    return head


def do_save_source(
    source: Source | None,
    *,
    actor: User | None,
    channel: str,
    name: str,
    config: dict[str, Any],
    token: str = "",
    poll_interval: int | None = None,
    is_active: bool = True,
) -> tuple[Source, bool]:
    """Create a source, or update one (the same channel and account: idempotent), → (source, created).

    1. The account is the VK group id, or the Telegram bot id (from the token; an edit without a token keeps it).
    2. An empty `token` keeps the stored one; a new source of a polled channel needs one.
    3. A changed account or token resets the failures (a broken source is not repaired here: `do_repair_source`).
    """
    ensure_source_admin(actor)
    if channel not in (Channel.VK, Channel.TELEGRAM):
        raise DomainError(_("Sources of this channel are not polled."), field="channel")
    token = token.strip()
    if channel == Channel.VK:
        account = str(config.get("group_id") or "").strip()
        if not account.isdigit():
            raise DomainError(_("The community id is a number, e.g. 1."), field="group_id")
    elif token:
        account = bot_id_from_token(token)
    elif source is not None and source.channel == channel:
        account = source.account
    else:
        account = ""
    if not account:
        raise DomainError(_("Enter the bot token."), field="token")
    if poll_interval is not None and poll_interval < MIN_INTERVAL:
        raise DomainError(
            _("Poll no more often than every %(n)s seconds.") % {"n": MIN_INTERVAL}, field="poll_interval"
        )
    with transaction.atomic():
        if source is None:
            source = Source.objects.select_for_update().filter(channel=channel, account=account).first()
        else:
            clash = Source.objects.filter(channel=channel, account=account).exclude(pk=source.pk).exists()
            if clash:
                raise DomainError(
                    _("Another source already polls this account."),
                    field="group_id" if channel == Channel.VK else "token",
                )
        created = source is None
        if source is None:
            source = Source(channel=channel, account=account)
        if created and not token:
            raise DomainError(_("Enter the token: without it the source cannot be polled."), field="token")
        reset = created or source.account != account or bool(token)
        moved = not created and source.channel != channel
        source.channel = channel
        source.account = account
        source.name = name.strip() or source.name or account
        source.config = {key: value for key, value in config.items() if value not in (None, "", [])}
        source.is_active = is_active
        if poll_interval is not None:
            source.poll_interval = poll_interval
        if token:
            source.set_token(token)
        if reset:
            source.failures = 0
            source.last_error = ""
            source.next_poll_at = None
        if created:
            source.save()
        else:
            source.save(
                update_fields=[
                    "channel",
                    "account",
                    "name",
                    "config",
                    "is_active",
                    "poll_interval",
                    "token_encrypted",
                    "failures",
                    "last_error",
                    "next_poll_at",
                ]
            )
        if moved:  # its posts' incidents now have a post of another channel
            from otklik.cases.services import refresh_from_posts  # noqa: PLC0415 - app boundary

            refresh_from_posts(
                Post.objects.filter(source=source).exclude(incident=None).values_list("incident_id", flat=True)
            )
        _log(actor, source, _("Created.") if created else _("Changed."), added=created)
    return source, created


def _log(actor: User | None, source: Source, message: str, *, added: bool = False) -> None:
    """The admin log keeps who changed a source and when (never the token)."""
    if actor is None:
        return
    from otklik.org.forms import log_change

    log_change(actor, source, added=added, message=message)
