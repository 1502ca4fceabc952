"""Ingestion of posts: idempotent by (source, external id); each new post opens an incident."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import TYPE_CHECKING

from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from otklik.cases.choices import OPEN_STATUSES, EventVerb
from otklik.cases.services import create_incident, record_event
from otklik.core.errors import DomainError
from otklik.intake.choices import Channel
from otklik.intake.models import Post, Source

if TYPE_CHECKING:
    from otklik.accounts.models import User
    from otklik.org.models import Topic


def default_source(channel: str) -> Source:
    if channel not in Channel.values:
        raise DomainError(_("Unknown source «%s».") % channel, field="source")
    source, _created = Source.objects.get_or_create(
        channel=channel, account="", defaults={"name": str(Channel(channel).label)}
    )
    return source


@dataclass(frozen=True)
class IngestResult:
    post: Post
    created: bool

    @property
    def incident_id(self) -> int | None:
        return self.post.incident_id


def do_ingest_post(
    *,
    source: Source,
    external_id: str,
    text: str,
    posted_at: dt.datetime,
    author_name: str = "",
    author_id: str = "",
    url: str = "",
    thread_id: str = "",
    topic: Topic | None = None,
    actor: User | None = None,
    received_at: dt.datetime | None = None,
) -> IngestResult:
    """Store a post once; a repeat (same source and external id) returns the stored one and changes nothing.

    1. Look for the post; found → return it (`created=False`).
    2. In one transaction: create the post and its incident — or attach it to the open incident of the thread
       when the same author continues there. Two concurrent calls collide on the unique constraint: the loser
       rolls back and returns the winner's post.
    3. After commit the worker analyses the post (topic, routing).

    `received_at` backdates the new incident (imports of history, the demo stream); by default it is now.
    """
    external_id = external_id.strip()
    if not external_id:
        raise DomainError(_("The external id is empty."), field="external_id")
    if not text.strip():
        raise DomainError(_("The text is empty."), field="text")
    if timezone.is_naive(posted_at):
        posted_at = timezone.make_aware(posted_at)

    existing = Post.objects.filter(source=source, external_id=external_id).first()
    if existing is not None:
        return IngestResult(existing, False)
    try:
        with transaction.atomic():
            post = Post.objects.create(
                source=source,
                external_id=external_id,
                text=text,
                posted_at=posted_at,
                author_name=author_name.strip(),
                author_id=author_id.strip(),
                url=url.strip(),
                thread_id=thread_id.strip(),
                topic_hint=topic,
            )
            incident = _thread_incident(post)
            if incident is None:
                incident = create_incident(actor=actor, created_at=received_at)
                post.incident = incident
                post.save(update_fields=["incident"])
            else:
                post.incident = incident
                post.save(update_fields=["incident"])
                record_event(incident, EventVerb.POST_ADDED, actor=actor, after={"post": post.pk})
            from otklik.intake.tasks import analyze_post

            analyze_post.delay_on_commit(post.pk)
    except IntegrityError:
        winner = Post.objects.filter(source=source, external_id=external_id).first()
        if winner is None:
            raise
        return IngestResult(winner, False)
    return IngestResult(post, True)


def _thread_incident(post: Post):  # type: ignore[no-untyped-def]
    """The open incident of the post this one answers, when the same author writes again in his thread."""
    if not post.thread_id or not post.author_id:
        return None
    parent = (
        Post.objects.filter(source=post.source, external_id=post.thread_id, author_id=post.author_id)
        .select_related("incident")
        .first()
    )
    if parent is None or parent.incident is None or parent.incident.status not in OPEN_STATUSES:
        return None
    return parent.incident
