"""Analysis of an incoming post: topic, place, routing. Run by the worker (otklik.intake.tasks.analyze_post).

Idempotent: a post is claimed with a conditional UPDATE (`pending` → `done`) inside the transaction that does the
work, so a second run (a redelivery, the sweep, a concurrent worker) finds nothing to claim and does nothing, and a
run that dies before commit leaves the post `pending` for the sweep.
"""

from __future__ import annotations

import datetime as dt
import logging
from contextlib import AbstractContextManager, nullcontext
from contextvars import ContextVar
from typing import Any

from django.conf import settings
from django.db import InterfaceError, OperationalError, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from otklik.cases.choices import IncidentStatus, NoAnswerReason
from otklik.cases.models import Incident
from otklik.cases.services import (
    deferring_events,
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
from otklik.nlp.kind import KindResult, analyze_kind, analyze_kinds
from otklik.nlp.places import find_place
from otklik.notifications.services import coalescing_emails, deferring_notices
from otklik.org.models import Territory, Topic, TopicGroup
from otklik.org.routing import TextMatcher, find_territories, suggest_route
from otklik.sla import hooks as sla_hooks
from otklik.sla.clocks import deferring_clocks, remember_channel

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
            # The post's events in one INSERT, in the transaction of its work; its e-mails in one task.
            with deferring_events(), coalescing_emails():
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
    # The incident the post belongs to now (read in the transaction), locked, and only while it is `new`; with it,
    # whether it has other posts (most have not: then the post alone is its text, no query for its posts).
    found = list(Incident.objects.raw(_lock_sql(), [post.pk, post.pk, IncidentStatus.NEW.value]))
    incident = found[0] if found else None
    if incident is None:
        return "analysed"
    # The incident's own fields changed by the services (classification, place, routing…) are written by one UPDATE
    # at the end.
    with holding_incident(incident, one_update=True), _knowing_answer_clock(incident):
        return _analyze_incident(post, result, incident)


def _lock_sql() -> str:
    """`_analyze`'s read of the post's incident, as the ORM would write `Incident.objects.select_for_update(of=
    ("self",)).filter(posts__pk=post, status=status).annotate(analysis_other_posts=Exists(the incident's other
    posts)).first()` (parameters: the post, the post, the status) — written once per process from the models'
    metadata: building that query took ~15 % of a post's analysis CPU."""
    from django.db import connection

    sql = _LOCK_SQL.get(connection.vendor)
    if sql is not None:
        return sql
    quote = connection.ops.quote_name
    incidents, posts = quote(Incident._meta.db_table), quote(Post._meta.db_table)
    incident_columns = {field.name: quote(str(field.column)) for field in Incident._meta.concrete_fields}
    post_columns = {field.name: quote(str(field.column)) for field in Post._meta.concrete_fields}
    columns = ", ".join(f"{incidents}.{column}" for column in incident_columns.values())
    pk, post_pk, post_incident = incident_columns["id"], post_columns["id"], post_columns["incident"]
    sql = (
        f"SELECT {columns}, EXISTS(SELECT 1 FROM {posts} U0 WHERE U0.{post_incident} = {incidents}.{pk} "  # noqa: S608
        f"AND NOT (U0.{post_pk} = %s)) AS analysis_other_posts "
        f"FROM {incidents} INNER JOIN {posts} ON ({incidents}.{pk} = {posts}.{post_incident}) "
        f"WHERE {posts}.{post_pk} = %s AND {incidents}.{incident_columns['status']} = %s LIMIT 1"
    )
    if connection.features.has_select_for_update_of:
        sql += f" FOR UPDATE OF {incidents}"
    elif connection.features.has_select_for_update:
        sql += " FOR UPDATE"
    _LOCK_SQL[connection.vendor] = sql
    return sql


_LOCK_SQL: dict[str, str] = {}


def _knowing_answer_clock(incident: Incident) -> AbstractContextManager[None]:
    """The incident's open answer clock as the batch read it (`_batch_answer_clocks`), when the incident, now
    locked, has not changed since (same `updated_at`: every service that touches its clocks saves it)."""
    known = _batch_answer_clocks.get()
    entry = known.pop(incident.pk, None) if known is not None else None
    if entry is None or entry[0] != incident.updated_at:
        return nullcontext()
    return sla_hooks.knowing_answer_clock(incident, entry[1])


# The open answer clocks of a batch's `new` incidents, read at once (`_run_batch`): incident id → (its updated_at
# then, the clock).
_batch_answer_clocks: ContextVar[dict[int, tuple[dt.datetime, Any]] | None] = ContextVar(
    "otklik_nlp_batch_answer_clocks", default=None
)


def _analyze_incident(post: Post, result: KindResult, incident: Incident) -> str:
    # The incident's posts, in posting order, in one query: who opened it, the text, the sender's topic.
    rows: list[tuple[int, str, int | None]]
    if getattr(incident, "analysis_other_posts", True):
        rows = list(incident.posts.order_by("posted_at", "pk").values_list("pk", "text", "topic_hint_id"))
    else:
        rows = [(post.pk, post.text, post.topic_hint_id)]
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
    if do_merge_duplicate(incident, texts=texts, post_ids=[pk for pk, _text, _hint in rows]) is not None:
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
    result: Classification | None = (_classified.get() or {}).get(text)
    if result is None:
        result = get_classifier().classify(text)
    topic = _topics.get().get(result.topic_name or "")
    if topic is not None:
        return topic, topic.group, result.confidence
    group = _groups.get().get(result.group_name or "")
    return None, group, result.confidence if group is not None else 0.0


# The classifications of a batch's texts computed at once (`analyze_batch`): text → classification.
_classified: ContextVar[dict[str, Classification] | None] = ContextVar("otklik_nlp_classified", default=None)


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


def batch_size() -> int:
    """How many pending posts one analysis task takes at most (settings.OTKLIK_ANALYSIS_BATCH; 1 = one by one)."""
    return max(1, int(getattr(settings, "OTKLIK_ANALYSIS_BATCH", 1)))


def analyze_batch(post_id: int, limit: int | None = None) -> dict[int, str]:
    """Analyse the post and, with it, the pending posts that arrived after it (at most `limit` in all).

    → post id → what happened (as `analyze_post` says it). The work of each post is `analyze_post`'s, in the same
    order (of arrival) and with the same effects; what a batch shares:

    1. The claim. In one transaction the post and the next pending posts (by id: those whose own messages are
       still queued behind this one) are locked — PostgreSQL: `SELECT … FOR UPDATE SKIP LOCKED`, so concurrent
       workers take disjoint batches and leave alone a post being analysed elsewhere; SQLite: the transaction
       holds the database's write lock. The posts read are claimed together, `pending` → `done` with their kinds,
       by one conditional UPDATE (`_claim`: none can have been claimed elsewhere since they were read); then each
       one's work, one after the other, in the batch's transaction. A post analysed already is not pending, so it
       is not read: a redelivered or repeated task changes nothing.
    2. The models: the kinds of all the texts, and the topics of the texts (for the posts that open their
       incident), are computed in one pass — the TF-IDF transforms and the linear models are several times faster
       over many rows than one by one; an incident of several posts is classified on its joined text as before.
    3. One commit for the batch (the notifications and other tasks are published after it), one INSERT for the
       events of its posts (otklik.cases.services.deferring_events; a failed post's events are dropped), one for
       the clocks of the assignments its routings create (otklik.sla.clocks.deferring_clocks), one for the
       notifications of those assignments (otklik.notifications.services.deferring_notices), and one query for
       the answer clocks of its incidents, which do_classify's SLA hook would read one by one (used for an
       incident only when, locked, it is unchanged since: otklik.sla.hooks.knowing_answer_clock).

    An error in one post rolls the batch back and does it again with a savepoint per post (`_run_batch`): the
    error then rolls back that post's savepoint only and marks it `failed`; a database error (a lost
    connection, a deadlock) rolls the whole batch back — every post stays `pending` — and is raised for the
    task's retry. A worker that dies mid-batch leaves its posts `pending` and unlocked (the database ends its
    session): the redelivered message takes them again (it asks for the same post and the ones after it), and the
    sweep is the backstop. `limit` 1 (settings.OTKLIK_ANALYSIS_BATCH = 1) is `analyze_post` alone.
    """
    limit = batch_size() if limit is None else max(1, limit)
    if limit == 1:
        return {post_id: analyze_post(post_id)}
    outcomes = _run_batch(Post.objects.filter(pk__gte=post_id), limit)
    outcomes.setdefault(post_id, "skipped")  # analysed already, or being analysed by another worker
    return outcomes


def analyze_posts(post_ids: list[int], limit: int | None = None) -> dict[int, str]:
    """Analyse exactly these posts (those still pending), in batches of at most `limit` (the sweep)."""
    limit = batch_size() if limit is None else max(1, limit)
    ids = sorted(set(post_ids))
    outcomes: dict[int, str] = {}
    for start in range(0, len(ids), limit):
        chunk = ids[start : start + limit]
        if limit == 1:
            outcomes[chunk[0]] = analyze_post(chunk[0])
            continue
        outcomes.update(_run_batch(Post.objects.filter(pk__in=chunk), limit))
        for pk in chunk:
            outcomes.setdefault(pk, "skipped")
    return outcomes


class _PostFailed(Exception):
    """A post of a batch analysed without savepoints failed: the batch is rolled back and done again with them."""


def _run_batch(candidates: Any, limit: int) -> dict[int, str]:
    """The batch's work with no savepoint per post (two statements less per post); an error in one post rolls the
    whole batch back (its claim too) and the batch is done again with a savepoint per post, which fails that post
    only. Errors are rare: the second pass is the exception."""
    try:
        return _run_batch_once(candidates, limit, savepoints=False)
    except _PostFailed:
        return _run_batch_once(candidates, limit, savepoints=True)


def _run_batch_once(candidates: Any, limit: int, *, savepoints: bool) -> dict[int, str]:
    from django.db import connection

    outcomes: dict[int, str] = {}
    with transaction.atomic():
        rows = candidates.select_related("source").filter(analysis_status=AnalysisStatus.PENDING).order_by("pk")
        if connection.features.has_select_for_update_skip_locked:
            rows = rows.select_for_update(skip_locked=True, of=("self",))
        posts = list(rows[:limit])
        if not posts:
            return outcomes
        kinds = analyze_kinds([post.text for post in posts])
        unclaimed = {post.pk: (post.kind, post.negative) for post in posts}
        _claim(posts, kinds)
        texts = [post.text for post, result in zip(posts, kinds, strict=True) if result.kind not in _NO_ANSWER]
        classified = dict(zip(texts, _classify_many(texts), strict=True))
        # The answer clocks of the batch's incidents in one query (each would be read by do_classify's SLA hook).
        incident_ids = {post.incident_id for post in posts if post.incident_id is not None}
        clocks = sla_hooks.answer_clocks_of(incident_ids) if len(incident_ids) > 1 else {}
        token = _classified.set(classified)
        clocks_token = _batch_answer_clocks.set(clocks)
        try:
            # The events of the batch's posts (each post's dropped with its savepoint on an error) in one INSERT,
            # the clocks of the assignments its routings create likewise, the e-mails of their notifications in
            # one task (per EMAIL_BATCH).
            with deferring_events(), deferring_clocks(), coalescing_emails(), deferring_notices():
                for post, result in zip(posts, kinds, strict=True):
                    if savepoints:
                        outcomes[post.pk] = _analyze_in_batch(post, result, unclaimed[post.pk])
                    else:
                        outcomes[post.pk] = _analyze_without_savepoint(post, result)
        finally:
            _batch_answer_clocks.reset(clocks_token)
            _classified.reset(token)
    return outcomes


_NO_ANSWER = {kind.value for kind in _NO_ANSWER_KINDS}


def _classify_many(texts: list[str]) -> list[Classification]:
    if not texts:
        return []
    classifier = get_classifier()
    many = getattr(classifier, "classify_many", None)
    if many is None:
        return [classifier.classify(text) for text in texts]
    return list(many(texts))


def _claim(posts: list[Post], kinds: list[KindResult]) -> None:
    """Claim the batch's posts, `pending` → `done` with their kinds and negativity, in one conditional UPDATE.

    They were read `pending` under the batch's lock (PostgreSQL: their rows, FOR UPDATE; SQLite: the database's
    write lock, taken by BEGIN IMMEDIATE) in this transaction, so nobody else can have claimed one since: every
    claim succeeds (each post's own conditional UPDATE, as `analyze_post` does it, would find it pending too). A
    count that says otherwise rolls the batch back."""
    from django.db import connection

    meta = Post._meta
    fields = {field.name: field for field in meta.concrete_fields}

    def column(name: str) -> str:
        return connection.ops.quote_name(str(fields[name].column))

    table, pk = connection.ops.quote_name(meta.db_table), column("id")
    types = (
        fields["id"].rel_db_type(connection),
        fields["kind"].db_type(connection),
        fields["negative"].db_type(connection),
    )
    row = "SELECT CAST(%s AS {}) AS id, CAST(%s AS {}) AS kind, CAST(%s AS {}) AS negative".format(*types)
    # Names and types come from the model's metadata; every value goes as a parameter. One statement however many
    # rows (SQLite ≥ 3.33 and PostgreSQL: UPDATE … FROM): the ORM's CASE WHEN per row and column costs more to
    # build than the per-post UPDATEs it replaces.
    sql = (
        f"UPDATE {table} SET {column('analysis_status')} = %s, {column('analyzed_at')} = %s, "  # noqa: S608
        f"{column('kind')} = v.kind, {column('negative')} = v.negative "
        f"FROM ({' UNION ALL '.join([row] * len(posts))}) AS v "
        f"WHERE {table}.{pk} = v.id AND {table}.{column('analysis_status')} = %s"
    )
    now = fields["analyzed_at"].get_db_prep_save(timezone.now(), connection)
    params: list[Any] = [AnalysisStatus.DONE.value, now]
    for post, result in zip(posts, kinds, strict=True):
        params += [post.pk, str(result.kind), result.negative]
    params.append(AnalysisStatus.PENDING.value)
    ids = [post.pk for post in posts]
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        claimed = cursor.rowcount
    if claimed != len(ids):
        raise RuntimeError(f"{len(ids) - claimed} post(s) of the batch changed under its lock")
    for post, result in zip(posts, kinds, strict=True):
        post.analysis_status = AnalysisStatus.DONE
        post.kind = result.kind
        post.negative = result.negative


def _analyze_without_savepoint(post: Post, result: KindResult) -> str:
    """`analyze_post`'s work for one post of a locked and claimed batch, in the batch's transaction; any error but a
    database's (raised for the task's retry) becomes `_PostFailed`."""
    try:
        return _analyze(post, result)
    except (OperationalError, InterfaceError):
        raise
    except Exception as exc:
        raise _PostFailed(post.pk) from exc


def _analyze_in_batch(post: Post, result: KindResult, unclaimed: tuple[str, float | None]) -> str:
    """`analyze_post`'s work for one post of a locked and claimed batch (`_claim`), in a savepoint. A failure marks
    the post `failed` with the kind and negativity it had before the claim (`unclaimed`), as `analyze_post` leaves
    it when its claim is rolled back with the work."""
    try:
        # The post's events, clocks and e-mails are handed to the batch's blocks when its work succeeds.
        with transaction.atomic(), deferring_events(), deferring_clocks(), coalescing_emails(), deferring_notices():
            return _analyze(post, result)
    except (OperationalError, InterfaceError):
        raise
    except Exception:
        log.exception("analysis of post %s failed", post.pk)
        kind, negative = unclaimed
        Post.objects.filter(pk=post.pk, analysis_status=AnalysisStatus.DONE).update(
            analysis_status=AnalysisStatus.FAILED, analyzed_at=timezone.now(), kind=kind, negative=negative
        )
        post.analysis_status, post.kind, post.negative = AnalysisStatus.FAILED, kind, negative
        return "failed"


def sweep_unanalyzed(batch: int = SWEEP_BATCH) -> int:
    """Enqueue again the posts still pending a while after they arrived (oldest first, at most `batch`).

    They go to `otklik.nlp.tasks.analyze_stale_posts` in chunks of the analysis batch: that task is not
    deduplicated by its arguments, so a post whose own message was consumed (and recorded) without analysing it —
    it was locked by a batch whose worker then died — is taken again.
    """
    from otklik.nlp.tasks import analyze_stale_posts

    cutoff = timezone.now() - STALE_AFTER
    ids = list(
        Post.objects.filter(analysis_status=AnalysisStatus.PENDING, created_at__lt=cutoff)
        .order_by("created_at")
        .values_list("pk", flat=True)[:batch]
    )
    size = batch_size()
    for start in range(0, len(ids), size):
        analyze_stale_posts.delay(ids[start : start + size])
    return len(ids)
