"""Analysis of an incoming post: topic, place, routing. Run by the worker (otklik.intake.tasks.analyze_post).

Idempotent: a post is claimed with a conditional UPDATE (`pending` → `done`) inside the transaction that does the
work, so a second run (a redelivery, the sweep, a concurrent worker) finds nothing to claim and does nothing, and a
run that dies before commit leaves the post `pending` for the sweep.
"""

from __future__ import annotations

import datetime as dt
import logging

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
)
from otklik.core.rowcache import RowCache
from otklik.intake.choices import AnalysisStatus, PostKind
from otklik.intake.models import Post
from otklik.nlp.base import Classification, get_classifier
from otklik.nlp.duplicates import do_merge_duplicate
from otklik.nlp.gazetteer import get_gazetteer
from otklik.nlp.kind import analyze_kind
from otklik.nlp.places import find_place
from otklik.org.models import Territory, Topic, TopicGroup
from otklik.org.routing import TextMatcher, find_territories, suggest_route

log = logging.getLogger(__name__)

# A pending post older than this is taken as lost (the task never ran) and enqueued again.
STALE_AFTER = dt.timedelta(minutes=2)
SWEEP_BATCH = 500


def analyze_post(post_id: int) -> str:
    """Analyse one post; returns what happened: routed, triage, no_answer, merged, analysed, skipped or failed.

    1. Claim the post: `pending` → `done` in the transaction of the work (nothing to claim → "skipped").
    2. The post's kind and negativity (otklik.nlp.kind) are stored on it. A post attached to an incident that is
       no longer `new` is then only marked analysed: no re-routing. An `abusive` or `spam` post that opens a `new`
       incident makes it `no_answer` with that reason (never deleted) instead of routing.
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
        with transaction.atomic():
            now = timezone.now()
            claimed = Post.objects.filter(pk=post_id, analysis_status=AnalysisStatus.PENDING).update(
                analysis_status=AnalysisStatus.DONE, analyzed_at=now
            )
            if not claimed:
                return "skipped"
            post = Post.objects.select_related("incident", "topic_hint__group").get(pk=post_id)
            return _analyze(post)
    except (OperationalError, InterfaceError):
        raise
    except Exception:
        log.exception("analysis of post %s failed", post_id)
        Post.objects.filter(pk=post_id, analysis_status=AnalysisStatus.PENDING).update(
            analysis_status=AnalysisStatus.FAILED, analyzed_at=timezone.now()
        )
        return "failed"


_NO_ANSWER_KINDS = {PostKind.ABUSIVE: NoAnswerReason.ABUSIVE, PostKind.SPAM: NoAnswerReason.SPAM}


def _analyze(post: Post) -> str:
    result = analyze_kind(post.text)
    post.kind = result.kind
    post.negative = result.negative
    post.save(update_fields=["kind", "negative"])

    incident = post.incident
    if incident is None or incident.status != IncidentStatus.NEW:
        return "analysed"
    incident = Incident.objects.select_for_update().get(pk=incident.pk)
    if incident.status != IncidentStatus.NEW:
        return "analysed"
    reason = _NO_ANSWER_KINDS.get(PostKind(result.kind))
    if reason is not None and _opens(post, incident):
        note = _("Marked automatically: the post looks like %(kind)s (negativity %(negative).2f).") % {
            "kind": PostKind(result.kind).label,
            "negative": result.negative,
        }
        do_mark_no_answer(incident, actor=None, reason=reason, note=note)
        return "no_answer"
    text = _incident_text(incident)

    topic, group, confidence = _topic_for(incident, text)
    if topic is None and group is None:
        do_send_to_triage(incident, actor=None, note=_("The classifier found no topic in the text."))
        return "triage"
    incident = do_classify(incident, topic=topic, group=group, confidence=confidence, actor=None)

    place = find_place(text, get_gazetteer())
    if incident.territory_id is None:
        territory = Territory.objects.filter(pk=place.territory_id).first() if place.territory_id else None
        if territory is None:
            territories = find_territories(text, TextMatcher(text))
            territory = territories[0] if territories else None
        if territory is not None:
            incident = do_update_incident(incident, actor=None, territory=territory)
    if not incident.address and place:
        incident = do_update_incident(incident, actor=None, address=place.display)
    if do_merge_duplicate(incident) is not None:
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


def _opens(post: Post, incident: Incident) -> bool:
    """`post` is the first post of `incident` (the one that opened it)."""
    first = incident.posts.order_by("posted_at", "pk").values_list("pk", flat=True).first()
    return first == post.pk


def _incident_text(incident: Incident) -> str:
    texts = incident.posts.order_by("posted_at", "pk").values_list("text", flat=True)
    return "\n".join(texts)


def _topic_for(incident: Incident, text: str) -> tuple[Topic | None, TopicGroup | None, float]:
    """The sender's topic (any post of the incident) wins; else the classifier's, mapped to the DB rows."""
    hinted = (
        Post.objects.filter(incident=incident, topic_hint__isnull=False)
        .select_related("topic_hint__group")
        .order_by("posted_at", "pk")
        .first()
    )
    if hinted is not None and hinted.topic_hint is not None:
        return hinted.topic_hint, hinted.topic_hint.group, 1.0
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
