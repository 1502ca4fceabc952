"""Analysis of an incoming post: topic, place, routing. Run by the worker (otklik.intake.tasks.analyze_post).

Idempotent: a post is claimed with a conditional UPDATE (`pending` → `done`) inside the transaction that does the
work, so a second run (a redelivery, the sweep, a concurrent worker) finds nothing to claim and does nothing, and a
run that dies before commit leaves the post `pending` for the sweep.
"""

from __future__ import annotations

import datetime as dt
import logging
from typing import Any

from django.conf import settings
from django.db import InterfaceError, OperationalError, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from otklik.cases.choices import IncidentStatus, NoAnswerReason
from otklik.cases.models import Incident
from otklik.cases.services import (
    do_classify,
    do_mark_no_answer,
    do_route,
    do_send_to_triage,
    do_update_incident,
    holding_incident,
)
from otklik.core.rowcache import RowCache
from otklik.intake.choices import AnalysisStatus, PostKind
from otklik.intake.models import Post
from otklik.nlp.base import Classification, get_classifier
from otklik.nlp.duplicates import do_merge_duplicate
from otklik.nlp.gazetteer import get_gazetteer
from otklik.nlp.kind import KindResult, analyze_kind
from otklik.nlp.places import find_place
from otklik.org.models import Territory, Topic, TopicGroup
from otklik.org.routing import TextMatcher, find_territories, suggest_route
from otklik.sla.clocks import remember_channel

log = logging.getLogger(__name__)

# A pending post older than this is taken as lost (the task never ran) and enqueued again.
STALE_AFTER = dt.timedelta(minutes=2)
SWEEP_BATCH = 500


def analyze_post(post_id: int) -> str:
    """Analyse one post; returns what happened: routed, triage, no_answer, merged, analysed, skipped or failed.

    1. The post's kind and negativity (otklik.nlp.kind), computed before the write transaction (pure computation).
    2. Claim the post: `pending` → `done`, with its kind and negativity, in the transaction of the work (nothing to
       claim → "skipped"). A post attached to an incident that is no longer `new` is then only marked analysed: no
       re-routing. An `abusive` or `spam` post that opens a `new` incident makes it `no_answer` with that reason
       (never deleted) instead of routing.
    3. Topic: the sender's topic (confidence 1.0), else the classifier's on the texts of the incident's posts.
    4. Classify the incident.
    5. Place (otklik.nlp.places, against the gazetteer): the first address or landmark the text names becomes the
       incident's address (when it has none); its territory (the building's, the street's, the landmark's
       district), else a territory whose keywords are in the text, becomes the incident's (when it has none).
    6. The same problem as an open incident (otklik.nlp.duplicates) → merged into it ("merged").
    7. Confident and a rule applies → route by the rule (the managing company of the building leads when the
       rule says so); otherwise → triage with the reason in the note.
    An error rolls the work back and marks the post `failed` (no retry loop); a database that is momentarily
    unavailable is raised for the task's retry, the post staying `pending`.
    """
    try:
        post = Post.objects.select_related("source").filter(pk=post_id, analysis_status=AnalysisStatus.PENDING).first()
        if post is None:
            return "skipped"
        result = analyze_kind(post.text)
        with transaction.atomic():
            claimed = Post.objects.filter(pk=post_id, analysis_status=AnalysisStatus.PENDING).update(
                analysis_status=AnalysisStatus.DONE,
                analyzed_at=timezone.now(),
                kind=result.kind,
                negative=result.negative,
            )
            if not claimed:
                return "skipped"
            post.kind = result.kind
            post.negative = result.negative
            return _analyze(post, result)
    except (OperationalError, InterfaceError):
        raise
    except Exception:
        log.exception("analysis of post %s failed", post_id)
        Post.objects.filter(pk=post_id, analysis_status=AnalysisStatus.PENDING).update(
            analysis_status=AnalysisStatus.FAILED, analyzed_at=timezone.now()
        )
        return "failed"


_NO_ANSWER_KINDS = {PostKind.ABUSIVE: NoAnswerReason.ABUSIVE, PostKind.SPAM: NoAnswerReason.SPAM}


def _analyze(post: Post, result: KindResult) -> str:
    # The incident the post belongs to now (read in the transaction), locked, and only while it is `new`.
    incident = (
        Incident.objects.select_for_update(of=("self",)).filter(posts__pk=post.pk, status=IncidentStatus.NEW).first()
    )
    if incident is None:
        return "analysed"
    with holding_incident(incident):
        return _analyze_incident(post, result, incident)


def _analyze_incident(post: Post, result: KindResult, incident: Incident) -> str:
    # The incident's posts, in posting order, in one query: who opened it, the text, the sender's topic.
    rows = list(incident.posts.order_by("posted_at", "pk").values_list("pk", "text", "topic_hint_id"))
    if len(rows) == 1 and rows[0][0] == post.pk:
        remember_channel(incident.pk, post.source.channel)  # the deadline policies ask for it
    reason = _NO_ANSWER_KINDS.get(PostKind(result.kind))
    if reason is not None and rows and rows[0][0] == post.pk:
        note = _("Marked automatically: the post looks like %(kind)s (negativity %(negative).2f).") % {
            "kind": PostKind(result.kind).label,
            "negative": result.negative,
        }
        do_mark_no_answer(incident, actor=None, reason=reason, note=note)
        return "no_answer"
    texts = [text for _pk, text, _hint in rows]
    text = "\n".join(texts)
    hint = next((hint for _pk, _text, hint in rows if hint is not None), None)

    topic, group, confidence = _topic_for(text, hint)
    if topic is None and group is None:
        do_send_to_triage(incident, actor=None, note=_("The classifier found no topic in the text."))
        return "triage"
    incident = do_classify(incident, topic=topic, group=group, confidence=confidence, actor=None)

    place = find_place(text, get_gazetteer())
    changes: dict[str, Any] = {}
    if incident.territory_id is None:
        territory = _territories.get().get(place.territory_id) if place.territory_id else None
        if territory is None:
            territories = find_territories(text, TextMatcher(text))
            territory = territories[0] if territories else None
        if territory is not None:
            changes["territory"] = territory
    if not incident.address and place:
        changes["address"] = place.display
    if changes:
        incident = do_update_incident(incident, actor=None, **changes)
    if do_merge_duplicate(incident, texts=texts) is not None:
        return "merged"

    threshold = settings.OTKLIK_CLASSIFIER_THRESHOLD
    if confidence < threshold:
        note = _("Low classification confidence (%(confidence).2f < %(threshold).2f): choose the topic.") % {
            "confidence": confidence,
            "threshold": threshold,
        }
        do_send_to_triage(incident, actor=None, note=note)
        return "triage"
    suggestion = suggest_route(incident, text, place=place)
    if suggestion is None:
        what = topic.name if topic is not None else group.name if group is not None else ""
        note = _("No routing rule applies to «%(what)s»: choose the department.") % {"what": what}
        do_send_to_triage(incident, actor=None, note=note)
        return "triage"
    do_route(
        incident,
        actor=None,
        lead=suggestion.lead,
        co_executors=suggestion.co_executors,
        due_hours=suggestion.due_hours,
        rule=suggestion.rule,
    )
    return "routed"


def _topic_for(text: str, hint_id: int | None) -> tuple[Topic | None, TopicGroup | None, float]:
    """The sender's topic (any post of the incident) wins; else the classifier's, mapped to the DB rows."""
    if hint_id is not None:
        hinted = _topics_by_id.get().get(hint_id)
        if hinted is not None:
            return hinted, hinted.group, 1.0
    result: Classification = get_classifier().classify(text)
    topic = _topics.get().get(result.topic_name or "")
    if topic is not None:
        return topic, topic.group, result.confidence
    group = _groups.get().get(result.group_name or "")
    return None, group, result.confidence if group is not None else 0.0


# Active topics and all groups by name, read once a minute per process (at once after a save in this process).
_topics: RowCache[dict[str, Topic]] = RowCache(
    lambda: {t.name: t for t in Topic.objects.filter(is_active=True).select_related("group")},
    ["org.Topic", "org.TopicGroup"],
)
_groups: RowCache[dict[str, TopicGroup]] = RowCache(
    lambda: {g.name: g for g in TopicGroup.objects.all()}, ["org.TopicGroup"]
)
# Every topic (the sender's may be an inactive one) and every territory by id, likewise.
_topics_by_id: RowCache[dict[int, Topic]] = RowCache(
    lambda: {t.pk: t for t in Topic.objects.select_related("group")}, ["org.Topic", "org.TopicGroup"]
)
_territories: RowCache[dict[int, Territory]] = RowCache(
    lambda: {t.pk: t for t in Territory.objects.all()}, ["org.Territory"]
)


def sweep_unanalyzed(batch: int = SWEEP_BATCH) -> int:
    """Enqueue again the posts still pending a while after they arrived (oldest first, at most `batch`)."""
    from otklik.intake.tasks import analyze_post as analyze_task

    cutoff = timezone.now() - STALE_AFTER
    ids = list(
        Post.objects.filter(analysis_status=AnalysisStatus.PENDING, created_at__lt=cutoff)
        .order_by("created_at")
        .values_list("pk", flat=True)[:batch]
    )
    for post_id in ids:
        analyze_task.delay(post_id)
    return len(ids)
