"""`{% answer_publications answer as rows %}`: an answer's publications (the outbox) as rows for the card."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import TYPE_CHECKING

from django import template

from otklik.answers.choices import PublicationStatus
from otklik.intake.choices import Channel

if TYPE_CHECKING:
    from otklik.answers.models import Answer, Publication

register = template.Library()

P = PublicationStatus

#: One colour per status, as everywhere: waiting — blue, in progress — amber, for the operator — violet,
#: failed — red, done — green.
BADGES: dict[str, str] = {
    P.PENDING: "text-bg-primary",
    P.SENDING: "text-bg-warning",
    P.MANUAL: "badge-violet",
    P.FAILED: "text-bg-danger",
    P.SENT: "text-bg-success",
}


def _web(url: str) -> str:
    url = (url or "").strip()
    return url if url.lower().startswith(("https://", "http://")) else ""


@dataclass(frozen=True)
class PublicationRow:
    publication: Publication
    pk: int
    status: str
    status_label: str
    badge: str
    channel_label: str
    author: str
    post_text: str
    post_link: str
    link: str
    attempts: int
    last_error: str
    next_attempt_at: dt.datetime | None
    sent_at: dt.datetime | None
    can_record: bool
    can_retry: bool


def publication_rows(answer: Answer) -> list[PublicationRow]:
    rows = []
    # The card prefetches them (otklik.cases.views.card.card_queryset); the outbox views read them here.
    prefetched = getattr(answer, "prefetched_publications", None)
    publications = prefetched if prefetched is not None else answer.publications.select_related("post").order_by("id")
    for p in publications:
        post = p.post
        rows.append(
            PublicationRow(
                publication=p,
                pk=p.pk,
                status=p.status,
                status_label=str(P(p.status).label),
                badge=BADGES.get(p.status, "text-bg-secondary"),
                channel_label=str(Channel(p.channel).label) if p.channel in Channel.values else p.channel,
                author=post.author_name if post is not None else "",
                post_text=(post.text[:120] if post is not None else p.thread_key),
                post_link=_web(post.url) if post is not None else "",
                link=_web(p.url),
                attempts=p.attempts,
                last_error=p.last_error,
                next_attempt_at=p.next_attempt_at if p.status == P.PENDING else None,
                sent_at=p.sent_at,
                can_record=p.status in {P.MANUAL, P.FAILED},
                can_retry=p.status == P.FAILED,
            )
        )
    return rows


@register.simple_tag
def answer_publications(answer: Answer) -> list[PublicationRow]:
    return publication_rows(answer)
