"""How new posts reach the analysis: one Celery message for many posts, through a ticket.

An `analyze_post(p)` message analyses the pending posts from id `p` on (otklik.nlp.pipeline.analyze_batch: at
most OTKLIK_ANALYSIS_BATCH of them, the task sending a continuation for the rest). So a post that arrives while
such a message is still queued needs no message of its own: the message will find it. The `AnalysisTicket` row
says whether one is queued:

- **The feeder** (after the commit of its posts, `request_analysis`): the ticket armed, recently, from an id not
  above the lowest new post → nothing is sent (one SELECT). Otherwise it arms the ticket from that post (a
  conditional UPDATE: only a ticket not armed, or armed too long ago) and sends `analyze_post(post)`. A post
  committed out of the order of the ids (below the armed `from`) sends its own message without arming.
- **The worker** (`otklik.intake.tasks.analyze_post`) disarms the ticket before it looks at the pending posts
  (committed at once, `disarm`): a post committed before the disarm is seen by its batch; one committed after it
  finds the ticket disarmed (or armed by another message) and sends its own. When more posts are pending than one
  batch takes, the worker first sends the continuation through the same ticket (the next worker starts on it while
  this one analyses), and after its batch it hands any pending post of its range that its batch left (a post
  committed late, below others) to the ticket again.

Guarantees kept: a post is never left pending by this (each post committed is either in a message's range before
its disarm or sends one); the sweep (otklik.nlp.pipeline.sweep_unanalyzed) remains the backstop for messages lost
by the broker or a process killed between arming the ticket and publishing — then the posts that relied on that
ticket within `TICKET_STALE` are found by the sweep. A ticket armed longer than `TICKET_STALE` ago (its message
stuck behind long tasks, or lost) is armed again by the next post: a second message, harmless (idempotent
batches). A failed publish disarms the ticket again. Messages carry ids, never objects; they are sent after
commit (`request_analysis_on_commit`).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from functools import partial

from django.conf import settings
from django.db import transaction
from django.db.models import Q
from django.utils import timezone

from otklik.core.collecting import collecting
from otklik.intake.models import AnalysisTicket

#: An armed ticket older than this is taken as lost: the next post arms it again (a second message).
TICKET_STALE = dt.timedelta(seconds=30)  # far above OTKLIK_ANALYSIS_GATHER_SECONDS
_TICKET = 1


def request_analysis(post_ids: Iterable[int], *, gather: bool = True) -> bool:
    """Make sure a queued analysis message covers these committed posts; → True when a message was sent.

    Call after the commit of the posts (`request_analysis_on_commit` does). Ids only. `gather`: the message waits
    `OTKLIK_ANALYSIS_GATHER_SECONDS` before a worker takes it (a countdown), so that the posts arriving meanwhile
    ride on it: a live stream is analysed in batches instead of one post or two per message, as two workers keeping
    up with it would otherwise take them. The worker's own requests (a continuation, posts left behind) do not wait:
    the posts are there already.
    """
    ids = [int(pk) for pk in post_ids]
    if not ids:
        return False
    low = min(ids)
    now = timezone.now()
    fresh = now - TICKET_STALE
    ticket = AnalysisTicket.objects.filter(pk=_TICKET).values_list("from_post_id", "armed_at").first()
    if ticket is None:
        AnalysisTicket.objects.bulk_create([AnalysisTicket(pk=_TICKET)], ignore_conflicts=True)
    elif ticket[0] is not None and ticket[0] <= low and ticket[1] is not None and ticket[1] > fresh:
        return False  # the queued message will take them
    armed = (
        AnalysisTicket.objects.filter(pk=_TICKET)
        .filter(Q(from_post_id=None) | Q(armed_at=None) | Q(armed_at__lte=fresh))
        .update(from_post_id=low, armed_at=now)
    )
    from otklik.intake.tasks import analyze_post

    wait = float(getattr(settings, "OTKLIK_ANALYSIS_GATHER_SECONDS", 0)) if gather else 0.0
    try:
        if wait > 0:
            analyze_post.apply_async((low,), countdown=wait)
        else:
            analyze_post.delay(low)
    except BaseException:
        if armed:  # nothing queued after all: the next post arms it again (these are left to the sweep)
            AnalysisTicket.objects.filter(pk=_TICKET, from_post_id=low, armed_at=now).update(
                from_post_id=None, armed_at=None
            )
        raise
    return True


def disarm(post_id: int) -> None:
    """The worker starts on `analyze_post(post_id)`: a ticket armed from `post_id` or above is its to honour."""
    AnalysisTicket.objects.filter(pk=_TICKET, from_post_id__gte=post_id).update(from_post_id=None, armed_at=None)


# The ids of the posts ingested inside a `dispatching_together` block.
_collected: ContextVar[list[int] | None] = ContextVar("otklik_intake_dispatch", default=None)


def request_analysis_on_commit(post_id: int) -> None:
    """After the commit of the current transaction, `request_analysis` for the post (or collect it for the
    enclosing `dispatching_together` block)."""
    collected = _collected.get()
    if collected is not None:
        collected.append(post_id)
        return
    transaction.on_commit(partial(request_analysis, [post_id]))


@contextmanager
def dispatching_together() -> Iterator[None]:
    """The posts ingested inside the block are handed to the analysis together, after the commit (one ticket
    check, at most one message); an error in the block drops them with its transaction."""
    with collecting(_collected, lambda ids: transaction.on_commit(partial(request_analysis, ids))):
        yield
