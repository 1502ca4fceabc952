"""The outbox of publications (otklik.answers.models.Publication): one row per thread an answer goes to.

A published answer goes to every thread of its incident: the posts (the incident's own and those of incidents
merged into it) grouped by source and thread. Each thread gets one `Publication`:

- a channel with an adapter (otklik.answers.channels) → `pending`, sent by the worker
  (otklik.answers.tasks.send_publication);
- a channel without one → `manual`: the operator publishes by hand and records the link;
- the thread of the incident's first post → `sent` at once when the operator pasted the link while publishing.

Exactly once: the worker claims a row with a conditional UPDATE (`pending` and due → `sending`, attempts + 1, a
lease in `next_attempt_at`), so two workers never send the same row. Every attempt but the very first one asks the
adapter first whether a reply with the row's idempotency key is already in the thread (reconciling), so a reply
that went out before a worker died, or before a timeout, is recorded rather than posted again. A row whose lease
ran out (its worker died) is put back to `pending` by the sweep and reconciled like any retry.

The only writers of `Publication`; see docs/ANSWERS.md, "Publishing: the outbox".
"""

from __future__ import annotations

import datetime as dt
import hashlib
import logging
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from django.db import transaction
from django.db.models import F, Q
from django.utils import timezone
from django.utils.translation import gettext as _

from otklik.answers.channels import (
    ChannelAdapter,
    PermanentChannelError,
    Published,
    TemporaryChannelError,
    Thread,
    get_adapter,
)
from otklik.answers.channels.manual import clean_link, is_manual
from otklik.answers.choices import PUBLICATION_TRANSITIONS, PublicationStatus
from otklik.answers.models import Answer, Publication
from otklik.cases.choices import EventVerb
from otklik.cases.services import record_event
from otklik.core.errors import IllegalTransition
from otklik.core.permissions import ensure_service

if TYPE_CHECKING:
    from otklik.accounts.models import User
    from otklik.cases.models import Incident
    from otklik.intake.models import Post, Source

log = logging.getLogger(__name__)

P = PublicationStatus

#: Length of the idempotency key (hex digits of a SHA-256): 128 bits, short enough for any network's field.
KEY_LENGTH = 32
#: A publication due for this long without a worker taking it lost its message: the sweep sends it again.
SWEEP_GRACE = dt.timedelta(minutes=2)
SWEEP_BATCH = 500
_ERROR_MAX = 2000


# --- settings -------------------------------------------------------------------------------------------------


def max_attempts() -> int:
    return int(settings.OTKLIK_PUBLICATION_MAX_ATTEMPTS)


def retry_delay(attempts: int) -> dt.timedelta:
    """Back-off after the `attempts`-th failed attempt: the base doubled per attempt, at most the cap."""
    base = int(settings.OTKLIK_PUBLICATION_RETRY_SECONDS)
    cap = int(settings.OTKLIK_PUBLICATION_RETRY_MAX_SECONDS)
    return dt.timedelta(seconds=min(cap, base * 2 ** max(0, attempts - 1)))


def lease() -> dt.timedelta:
    """How long a worker may hold a row in `sending`; after that it is taken for dead."""
    return dt.timedelta(minutes=int(settings.OTKLIK_PUBLICATION_STALE_MINUTES))


# --- threads --------------------------------------------------------------------------------------------------


def thread_key(post: Post) -> str:
    """`<source id>:<thread>`: the post it was written under, or the post itself when it opens a thread."""
    return f"{post.source_id}:{post.thread_id or post.external_id}"


def idempotency_key(answer_id: int, key: str) -> str:
    """Deterministic and unique per (answer, thread): the same publication always carries the same key."""
    return hashlib.sha256(f"otklik:{answer_id}:{key}".encode()).hexdigest()[:KEY_LENGTH]


def incident_posts(incident: Incident) -> list[Post]:
    """The posts an answer replies to: the incident's own, and any still attached to an incident merged into it
    (a merge moves the posts, otklik.cases.services.do_merge; the second term is a safety net)."""
    from otklik.documents.media_brief import incident_posts as posts_filter
    from otklik.intake.models import Post

    return list(Post.objects.filter(posts_filter(incident)).select_related("source").order_by("posted_at", "id"))


def incident_threads(incident: Incident) -> list[tuple[str, Post]]:
    """(thread key, the first post of the thread), ordered by the first posts: the incident's first post first."""
    threads: dict[str, Post] = {}
    for post in incident_posts(incident):
        threads.setdefault(thread_key(post), post)
    return list(threads.items())


def thread_of(publication: Publication) -> Thread:
    """The `Thread` an adapter needs, from the post answered (or from the key when the post was deleted)."""
    post = publication.post
    if post is not None:
        return Thread(
            channel=publication.channel,
            source_id=post.source_id,
            source_account=post.source.account,
            key=publication.thread_key,
            thread_id=post.thread_id or post.external_id,
            post_external_id=post.external_id,
            post_url=post.url,
            post_author=post.author_name,
            post_author_id=post.author_id,
        )
    source, _sep, thread = publication.thread_key.partition(":")
    return Thread(
        channel=publication.channel,
        source_id=int(source) if source.isdigit() else None,
        source_account="",
        key=publication.thread_key,
        thread_id=thread,
        post_external_id=thread,
    )


# --- services -------------------------------------------------------------------------------------------------


def _check(publication: Publication, to: str) -> None:
    if to not in PUBLICATION_TRANSITIONS[publication.status]:
        raise IllegalTransition(
            _("A publication in status «%(from)s» cannot go to «%(to)s».")
            % {"from": P(publication.status).label, "to": P(to).label}
        )


def _set_answer_link(answer_id: int, url: str) -> None:
    """The answer's link is the first link it got: the pasted one, or its first publication's."""
    if url:
        Answer.objects.filter(pk=answer_id, link="").update(link=url, updated_at=timezone.now())


def _who(publication: Publication) -> str:
    post = publication.post
    return (post.author_name if post is not None else "") or publication.thread_key


def _enqueue(publication_id: int, *, countdown: float | None = None) -> None:
    from otklik.answers.tasks import send_publication

    if countdown:
        transaction.on_commit(lambda: send_publication.apply_async((publication_id,), countdown=countdown))
    else:
        send_publication.delay_on_commit(publication_id)


def _is_automatic(source: Source) -> bool:
    """The channel has an adapter that publishes for this source (an adapter may define `handles(source)`: a
    community without a token is answered by hand). A wrong adapter in the settings counts as one: publishing goes
    on, and the worker fails the publication with the reason, where the operator sees it (and can publish by
    hand)."""
    try:
        adapter = get_adapter(source.channel)
    except ImproperlyConfigured:
        log.exception("the adapter of channel %s cannot be loaded", source.channel)
        return True
    if is_manual(adapter):
        return False
    handles = getattr(adapter, "handles", None)
    return bool(handles(source)) if callable(handles) else True


def publishes_automatically(incident: Incident) -> bool:
    """The thread of the incident's first post is answered by its channel's adapter: publishing needs no link
    pasted (the outbox sends the reply and records its link)."""
    threads = incident_threads(incident)
    return bool(threads) and _is_automatic(threads[0][1].source)


def do_enqueue_publications(answer: Answer, *, actor: User | None, link: str = "") -> list[Publication]:
    """Create the publications of a just-published answer: one per thread of its incident.

    Called by otklik.answers.services.do_publish_answer inside its transaction (the incident is locked).
    1. Group the incident's posts (its own and merged ones') by thread; each thread is answered at its first post.
    2. Per thread: `sent` with `link` for the first post's thread when the operator pasted the link; `pending`
       (and a task after commit) when the channel has an adapter; else `manual`.
    3. A thread already published for this answer is skipped (a repeated call creates nothing).
    """
    ensure_service(actor)
    link = (link or "").strip()
    now = timezone.now()
    existing = set(answer.publications.values_list("thread_key", flat=True))
    created: list[Publication] = []
    automatic: dict[int, bool] = {}
    for index, (key, post) in enumerate(incident_threads(answer.incident)):
        if key in existing:
            continue
        channel = post.source.channel
        if post.source_id not in automatic:
            automatic[post.source_id] = _is_automatic(post.source)
        fields: dict[str, Any] = {}
        if index == 0 and link:
            fields = {"status": P.SENT, "url": link, "sent_at": now}
        elif automatic[post.source_id]:
            fields = {"status": P.PENDING, "next_attempt_at": now}
        else:
            fields = {"status": P.MANUAL}
        publication = Publication.objects.create(
            answer=answer,
            post=post,
            channel=channel,
            thread_key=key,
            idempotency_key=idempotency_key(answer.pk, key),
            created_at=now,
            **fields,
        )
        created.append(publication)
        if publication.status == P.PENDING:
            _enqueue(publication.pk)
    return created


@transaction.atomic
def do_record_manual_publication(publication: Publication, *, actor: User | None, url: str) -> Publication:
    """The operator published the answer in the thread by hand: record the link (`manual` or `failed` → `sent`).

    1. The link must be an http(s) URL. 2. Lock the row; only `manual` and `failed` rows take a link (a `pending`
    or `sending` one belongs to the worker). 3. `sent`; the answer's link if it has none; an event on the incident.
    """
    ensure_service(actor)
    url = clean_link(url)
    publication = (
        Publication.objects.select_for_update(of=("self",)).select_related("answer", "post").get(pk=publication.pk)
    )
    if publication.status not in {P.MANUAL, P.FAILED}:
        raise IllegalTransition(
            _("A publication in status «%s» cannot be recorded by hand.") % P(publication.status).label
        )
    if publication.status == P.FAILED:
        _check(publication, P.MANUAL)  # failed → manual → sent: the operator took it over
        publication.status = P.MANUAL
    _check(publication, P.SENT)
    publication.status = P.SENT
    publication.url = url
    publication.sent_at = timezone.now()
    publication.next_attempt_at = None
    publication.save(update_fields=["status", "url", "sent_at", "next_attempt_at", "updated_at"])
    _set_answer_link(publication.answer_id, url)
    record_event(
        publication.answer.incident,
        EventVerb.UPDATED,
        actor=actor,
        after={"answer": publication.answer_id, "link": url},
        message=_("The answer was published by hand in the thread of %(who)s.") % {"who": _who(publication)},
    )
    return publication


@transaction.atomic
def do_retry_publication(publication: Publication, *, actor: User | None) -> Publication:
    """Try a failed publication again: `failed` → `pending` with fresh attempts, sent after commit.

    The first new attempt reconciles (the error stays in `last_error` until it succeeds), so a reply that did go
    out is recorded, not repeated. A channel that has no adapter any more goes to `manual` instead.
    """
    ensure_service(actor)
    publication = (
        Publication.objects.select_for_update(of=("self",)).select_related("answer", "post").get(pk=publication.pk)
    )
    if publication.status != P.FAILED:
        raise IllegalTransition(_("Only a failed publication can be tried again."))
    if is_manual(get_adapter(publication.channel)):
        _check(publication, P.MANUAL)
        publication.status = P.MANUAL
        publication.save(update_fields=["status", "updated_at"])
        return publication
    _check(publication, P.PENDING)
    publication.status = P.PENDING
    publication.attempts = 0
    publication.next_attempt_at = timezone.now()
    publication.last_error = publication.last_error or _("Tried again by the operator.")
    publication.save(update_fields=["status", "attempts", "next_attempt_at", "last_error", "updated_at"])
    record_event(
        publication.answer.incident,
        EventVerb.UPDATED,
        actor=actor,
        after={"answer": publication.answer_id},
        message=_("Publication in the thread of %(who)s tried again.") % {"who": _who(publication)},
    )
    _enqueue(publication.pk)
    return publication


# --- the worker's side ----------------------------------------------------------------------------------------


def claim(publication_id: int, *, now: dt.datetime | None = None) -> bool:
    """`pending` and due → `sending`, attempts + 1, leased until now + lease(); True if this caller won the row.

    One conditional UPDATE, committed at once (no transaction around it): of any number of workers holding the
    same id exactly one gets 1 row.
    """
    now = now or timezone.now()
    return (
        Publication.objects.filter(pk=publication_id, status=P.PENDING)
        .filter(Q(next_attempt_at__isnull=True) | Q(next_attempt_at__lte=now))
        .update(status=P.SENDING, attempts=F("attempts") + 1, next_attempt_at=now + lease(), updated_at=now)
        == 1
    )


@dataclass(frozen=True)
class Outcome:
    status: str
    reconciled: bool = False


def _error_text(exc: BaseException) -> str:
    text = str(exc).strip() or exc.__class__.__name__
    if not isinstance(exc, TemporaryChannelError | PermanentChannelError):
        text = f"{exc.__class__.__name__}: {text}"
    return text[:_ERROR_MAX]


def _record_sent(publication: Publication, published: Published, *, reconciled: bool) -> bool:
    """`sending` → `sent` with the network's id and link; the answer's link if it has none. In one transaction."""
    now = timezone.now()
    with transaction.atomic():
        done = (
            Publication.objects.filter(pk=publication.pk, status=P.SENDING).update(
                status=P.SENT,
                external_id=(published.external_id or "")[:255],
                url=(published.url or "")[:1000],
                sent_at=now,
                next_attempt_at=None,
                last_error="",
                updated_at=now,
            )
            == 1
        )
        if done:
            _set_answer_link(publication.answer_id, published.url)
    if done:
        log.info("publication %s sent%s", publication.pk, " (found by reconciling)" if reconciled else "")
    else:
        log.warning("publication %s was sent but is no longer `sending`: not recorded by this worker", publication.pk)
    return done


def _record_failed(publication: Publication, error: str) -> None:
    now = timezone.now()
    with transaction.atomic():
        failed = Publication.objects.filter(pk=publication.pk, status=P.SENDING).update(
            status=P.FAILED, last_error=error, next_attempt_at=None, updated_at=now
        )
        if failed:
            record_event(
                publication.answer.incident,
                EventVerb.UPDATED,
                after={"answer": publication.answer_id},
                message=_("The answer could not be published in the thread of %(who)s: %(error)s")
                % {"who": _who(publication), "error": error},
            )


def _record_retry(publication: Publication, error: str) -> dt.timedelta:
    delay = retry_delay(publication.attempts)
    now = timezone.now()
    Publication.objects.filter(pk=publication.pk, status=P.SENDING).update(
        status=P.PENDING, last_error=error, next_attempt_at=now + delay, updated_at=now
    )
    return delay


def _to_manual(publication: Publication) -> None:
    Publication.objects.filter(pk=publication.pk, status=P.SENDING).update(
        status=P.MANUAL, next_attempt_at=None, updated_at=timezone.now()
    )


def deliver(publication_id: int) -> Outcome:
    """Send one publication, exactly once (the body of otklik.answers.tasks.send_publication).

    1. Claim the row (see `claim`); not claimed → nothing to do (another worker has it, it is not due, or done).
    2. A channel that lost its adapter → `manual`.
    3. Any attempt but a fresh row's first (attempts > 1, or an error recorded: a retry, a dead worker's row, a
       retry by the operator): ask the adapter whether the reply is already there; found → record it, done.
    4. Publish. Then, in one transaction, `sent` with the id and link.
    5. A temporary error (or an unexpected one): back to `pending` after a back-off, or `failed` after
       OTKLIK_PUBLICATION_MAX_ATTEMPTS attempts. A permanent error: `failed` at once. Either is stored.
    """
    if not claim(publication_id):
        return Outcome("skipped")
    publication = Publication.objects.select_related("answer__incident", "post__source").get(pk=publication_id)
    try:
        adapter = get_adapter(publication.channel)
    except ImproperlyConfigured as exc:  # a wrong OTKLIK_CHANNEL_ADAPTERS: tell the operator, don't loop
        _record_failed(publication, str(exc)[:_ERROR_MAX])
        return Outcome(P.FAILED)
    if adapter is None or is_manual(adapter):
        _to_manual(publication)
        return Outcome(P.MANUAL)
    return _send(publication, adapter)


def _send(publication: Publication, adapter: ChannelAdapter) -> Outcome:
    thread = thread_of(publication)
    key = publication.idempotency_key
    found: Published | None = None
    try:
        if publication.attempts > 1 or publication.last_error:
            found = adapter.find_published(thread, key)
        if found is None and publication.attempts > max_attempts():
            raise TemporaryChannelError(publication.last_error or _("Too many attempts."))
        published = found or adapter.publish(publication.answer, thread, key)
    except PermanentChannelError as exc:
        _record_failed(publication, _error_text(exc))
        return Outcome(P.FAILED)
    except Exception as exc:  # noqa: BLE001 -- whatever went wrong, the outcome is unknown: retry, reconciling
        error = _error_text(exc)
        log.warning("publication %s, attempt %s: %s", publication.pk, publication.attempts, error)
        if publication.attempts >= max_attempts():
            _record_failed(publication, error)
            return Outcome(P.FAILED)
        delay = _record_retry(publication, error)
        _enqueue(publication.pk, countdown=delay.total_seconds())
        return Outcome(P.PENDING)
    _record_sent(publication, published, reconciled=found is not None)
    return Outcome(P.SENT, reconciled=found is not None)


def sweep(*, now: dt.datetime | None = None) -> dict[str, int]:
    """Find the work the workers lost (every minute, otklik.answers.tasks.sweep_publications).

    1. `sending` rows whose lease ran out (the worker died, or hangs): back to `pending`, due now, with an error
       noted, so the next attempt reconciles before it publishes.
    2. Send again the `pending` rows due for longer than SWEEP_GRACE (their message was lost) and those of step 1.
    """
    from otklik.answers.tasks import send_publication

    now = now or timezone.now()
    stale = list(
        Publication.objects.filter(status=P.SENDING, next_attempt_at__lte=now).values_list("pk", flat=True)[
            :SWEEP_BATCH
        ]
    )
    revived = 0
    if stale:
        revived = Publication.objects.filter(pk__in=stale, status=P.SENDING, next_attempt_at__lte=now).update(
            status=P.PENDING,
            next_attempt_at=now,
            last_error=_("The worker stopped while sending; checking the thread before trying again."),
            updated_at=now,
        )
    due = list(
        Publication.objects.filter(
            Q(pk__in=stale, status=P.PENDING) | Q(status=P.PENDING, next_attempt_at__lte=now - SWEEP_GRACE)
        )
        .order_by("next_attempt_at")
        .values_list("pk", flat=True)[:SWEEP_BATCH]
    )
    for pk in due:
        send_publication.delay_on_commit(pk)
    return {"revived": revived, "enqueued": len(due)}


__all__ = [
    "Outcome",
    "claim",
    "deliver",
    "do_enqueue_publications",
    "do_record_manual_publication",
    "do_retry_publication",
    "idempotency_key",
    "incident_threads",
    "sweep",
    "thread_key",
    "thread_of",
]
