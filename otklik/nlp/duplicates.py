"""Step 5: a new incident about the same problem as an open one is merged into it.

Similarity is the cosine of the two texts' lemma sets (|A ∩ B| / √(|A|·|B|)), the address span, numbers, stop
words and prepositions removed first: the place is a condition of its own, and a house number or «на» shared by two
different problems must not make them look alike. Measured on ten hand-written pairs (five retellings of the same
problem, five other problems at the same house): same-problem pairs score 0.34–0.77, different problems 0.0 (0.17–0.2
before prepositions were dropped). The Jaccard index ranks them the same but squeezes the gap (0.20–0.60 vs 0.0);
TF-IDF over a candidate set of a few incidents has no stable IDF. The threshold, 0.3, sits in the gap.
"""

from __future__ import annotations

import datetime as dt
import math
from contextlib import nullcontext
from functools import lru_cache
from typing import Any, NamedTuple

from django.utils.translation import gettext as _

from otklik.cases.choices import OPEN_STATUSES
from otklik.cases.models import Incident
from otklik.nlp.address import Address, extract_address
from otklik.nlp.text import lemmas

#: Cosine of the lemma sets at or above which two texts are taken as the same problem.
SIMILARITY_THRESHOLD = 0.3
# Prepositions the shared stop list keeps (it serves the classifier too).
_EXTRA_STOP = frozenset({"на", "в", "у", "около", "возле", "во", "же"})
#: How far back an open incident is looked for.
WINDOW_HOURS = 72
#: At most this many candidates are compared (the newest first).
MAX_CANDIDATES = 300


def _texts(incident: Incident) -> list[str]:
    return list(incident.posts.order_by("posted_at", "pk").values_list("text", flat=True))


@lru_cache(maxsize=20_000)
def _address(text: str) -> Address | None:
    """extract_address, remembered per text: an open incident is compared with every new post for days."""
    return extract_address(text)


@lru_cache(maxsize=20_000)
def _text_lemmas(text: str) -> frozenset[str]:
    found = _address(text)
    if found is not None and found.raw:
        text = text.replace(found.raw, " ")
    return frozenset(lem for lem in lemmas(text) if not lem.isdigit() and lem not in _EXTRA_STOP)


def incident_address(incident: Incident | _Candidate, texts: list[str] | None = None) -> Address | None:
    """The incident's address (its field, else the first post's text) when it names a street and a house."""
    found = _address(incident.address) if incident.address else None
    if found is None:
        if texts is None:
            if not isinstance(incident, Incident):
                raise TypeError("a candidate is compared with its texts")
            texts = _texts(incident)
        found = _address(texts[0]) if texts else None
    if found is None or not found.street or not found.house:
        return None
    return found


def street_key(incident: Incident | _Candidate, texts: list[str]) -> str:
    """The street (or microdistrict) the incident is about, house or not («микрорайон 9», «улица Чапаева»)."""
    found = _address(incident.address) if incident.address else None
    if found is None and texts:
        found = _address(texts[0])
    if found is None or not found.street:
        return ""
    return f"{found.street_type} {found.street}".lower().replace("ё", "е")


def place_key(address: Address | None) -> str:
    """`street_type street, house` («улица Ленина, 7а»; ё → е); empty without a street and a house."""
    if address is None or not address.street or not address.house:
        return ""
    return f"{address.street_type} {address.street}, {address.house.lower()}".replace("ё", "е")


def lemma_set(texts: list[str]) -> frozenset[str]:
    """The lemmas of the texts, each text's address span cut out first."""
    result: set[str] = set()
    for text in texts:
        result |= _text_lemmas(text)
    return frozenset(result)


def similarity(a: frozenset[str], b: frozenset[str]) -> float:
    """Cosine of two sets: |A ∩ B| / √(|A|·|B|); 0 when one is empty."""
    if not a or not b:
        return 0.0
    return len(a & b) / math.sqrt(len(a) * len(b))


def _same_subject(a: Incident, b: Incident | _Candidate) -> bool:
    if a.topic_id is not None and b.topic_id is not None:
        return a.topic_id == b.topic_id
    return a.group_id is not None and a.group_id == b.group_id


def find_duplicate(
    incident: Incident, *, window_hours: float = WINDOW_HOURS, texts: list[str] | None = None
) -> Incident | None:
    """The open incident, created within the window before this one, most similar to it about the same problem
    (see `duplicate_of`); None when there is none."""
    pk = duplicate_of(incident, window_hours=window_hours, texts=texts)
    return Incident.objects.get(pk=pk) if pk is not None else None


def duplicate_of(
    incident: Incident, *, window_hours: float = WINDOW_HOURS, texts: list[str] | None = None
) -> int | None:
    """The id of the open incident, created within the window before this one, most similar to it about the same
    problem.

    A candidate must be open (not merged), created before `incident` (ties: the lower id), have texts at least
    `SIMILARITY_THRESHOLD` alike, and share the place (street and house) or the topic (the group when a topic is
    missing); two incidents whose places are both known and differ are never the same problem. The most similar one
    wins; None when there is none. `texts`: the incident's post texts in posting order, when the caller has them.
    """
    texts = _texts(incident) if texts is None else texts
    words = lemma_set(texts)
    if not words:
        return None
    address = incident_address(incident, texts)
    place = place_key(address)
    street = street_key(incident, texts)
    start = incident.created_at - dt.timedelta(hours=window_hours)
    # Only incidents that can pass the subject-or-place test below are read, with their texts, in one query.
    rows = _candidates(incident, start, street=address.street if address is not None and place else None)
    candidates: list[_Candidate] = []
    texts_by_incident: dict[int, list[str]] = {}
    for pk, candidate_address, topic_id, group_id, text in rows:
        if pk not in texts_by_incident:
            candidates.append(_Candidate(pk, candidate_address, topic_id, group_id))
            texts_by_incident[pk] = []
        if text is not None:
            texts_by_incident[pk].append(text)

    def passes(candidate: _Candidate, candidate_texts: list[str]) -> bool:
        candidate_place = place_key(incident_address(candidate, candidate_texts))
        if place and candidate_place and place != candidate_place:
            return False  # two known, different places: two problems, whatever the topic
        candidate_street = street_key(candidate, candidate_texts)
        if street and candidate_street and street != candidate_street:
            return False  # two different streets (or microdistricts), houses known or not
        return bool(place and place == candidate_place) or _same_subject(incident, candidate)

    # A candidate whose own address field names its place is judged by it, not by its texts.
    best: tuple[float, _Candidate] | None = None
    for candidate in candidates:
        candidate_texts = texts_by_incident[candidate.pk]
        known = bool(candidate.address) and _address(candidate.address) is not None
        if not passes(candidate, [] if known else candidate_texts):
            continue
        score = similarity(words, lemma_set(candidate_texts))
        if score >= SIMILARITY_THRESHOLD and (best is None or score > best[0]):
            best = (score, candidate)
    return best[1].pk if best is not None else None


def _candidates(
    incident: Incident, start: dt.datetime, *, street: str | None
) -> list[tuple[int, str, int | None, int | None, str | None]]:
    """The open incidents `find_duplicate` compares with `incident`, newest first (at most MAX_CANDIDATES), each
    with its post texts in posting order: rows (id, address, topic, group, a post's text or None when it has none).

    A candidate is open, not merged, created in [start, incident) (a tie in time: the lower id) and one of: the
    same address field; the same topic, or no topic and the same group (the group when `incident` has no topic);
    with `street` (the incident's place is known to the house), an address field naming the street, or none at all.

    As the ORM would write `Incident.objects.filter(...).filter(Q(address=…) | Q(topic_id=…) | …).order_by(
    "-created_at", "-pk")[:MAX_CANDIDATES]` joined with the candidates' posts; written once per process and shape
    from the models' metadata: building that query and its posts' took about a third of the duplicate search."""
    from django.db import connection

    clauses: list[str] = []
    params: list[Any] = []
    if incident.address:
        clauses.append("address")
        params.append(incident.address)
    if incident.topic_id is not None:
        clauses.append("topic" if incident.group_id is not None else "topic_no_group")
        params += [incident.topic_id] + ([incident.group_id] if incident.group_id is not None else [])
    elif incident.group_id is not None:
        clauses.append("group")
        params.append(incident.group_id)
    if street is not None:
        clauses.append("street")
        params.append(f"%{connection.ops.prep_for_like_query(street)}%")
    if not clauses:
        return []  # nothing can pass the subject-or-place test
    created = Incident._meta.get_field("created_at")
    start_value, created_value = (
        created.get_db_prep_value(value, connection) for value in (start, incident.created_at)
    )
    params = [*OPEN_STATUSES, start_value, created_value, created_value, incident.pk, *params]
    with connection.cursor() as cursor:
        cursor.execute(_candidates_sql(connection, tuple(clauses)), params)
        return list(cursor.fetchall())


def _candidates_sql(connection: Any, clauses: tuple[str, ...]) -> str:
    key = (connection.vendor, clauses)
    sql = _CANDIDATES_SQL.get(key)
    if sql is not None:
        return sql
    from otklik.intake.models import Post

    quote = connection.ops.quote_name
    incidents, posts = quote(Incident._meta.db_table), quote(Post._meta.db_table)
    i = {field.name: f"{incidents}.{quote(str(field.column))}" for field in Incident._meta.concrete_fields}
    p = {field.name: f"P.{quote(str(field.column))}" for field in Post._meta.concrete_fields}
    address_field = Incident._meta.get_field("address")
    like = connection.operators["icontains"] % "%s"
    address_cast = connection.ops.lookup_cast("icontains", address_field.get_internal_type()) % i["address"]
    conditions = {
        "address": f"{i['address']} = %s",
        "topic": f"{i['topic']} = %s OR ({i['topic']} IS NULL AND {i['group']} = %s)",
        "topic_no_group": f"{i['topic']} = %s OR ({i['topic']} IS NULL AND {i['group']} IS NULL)",
        "group": f"{i['group']} = %s",
        "street": f"{address_cast} {like} OR {i['address']} = ''",
    }
    relevant = " OR ".join(f"({conditions[clause]})" for clause in clauses)
    statuses = ", ".join(["%s"] * len(OPEN_STATUSES))
    inner = (
        f"SELECT {i['id']} AS id, {i['address']} AS address, {i['topic']} AS topic_id, "  # noqa: S608
        f"{i['group']} AS group_id, "
        f"{i['created_at']} AS created_at FROM {incidents} "
        f"WHERE {i['status']} IN ({statuses}) AND {i['merged_into']} IS NULL AND {i['created_at']} >= %s "
        f"AND ({i['created_at']} < %s OR ({i['created_at']} = %s AND {i['id']} < %s)) AND ({relevant}) "
        f"ORDER BY {i['created_at']} DESC, {i['id']} DESC LIMIT {int(MAX_CANDIDATES)}"
    )
    sql = (
        f"SELECT C.id, C.address, C.topic_id, C.group_id, {p['text']} FROM ({inner}) C "  # noqa: S608
        f"LEFT JOIN {posts} P ON {p['incident']} = C.id "
        f"ORDER BY C.created_at DESC, C.id DESC, {p['posted_at']} ASC, {p['id']} ASC"
    )
    _CANDIDATES_SQL[key] = sql
    return sql


_CANDIDATES_SQL: dict[tuple[str, tuple[str, ...]], str] = {}


class _Candidate(NamedTuple):
    """An open incident compared with the new one: only the fields the comparison reads (no model instances for
    the dozens of candidates of every post; the winner is read whole)."""

    pk: int
    address: str
    topic_id: int | None
    group_id: int | None


def do_merge_duplicate(
    incident: Incident,
    *,
    window_hours: float = WINDOW_HOURS,
    texts: list[str] | None = None,
    post_ids: list[int] | None = None,
) -> Incident | None:
    """Merge `incident` into its duplicate (see `find_duplicate`) by the system; returns the target or None.
    `post_ids`: the incident's posts, read by the caller under the incident's lock (see do_merge)."""
    from otklik.cases.services import do_merge, holding_incident, is_held

    pk = duplicate_of(incident, window_hours=window_hours, texts=texts)
    if pk is None:
        return None
    note = _("Automatically: the same question as #%(id)s.") % {"id": pk}
    # The worker's analysis holds `incident` locked: the target is then locked after it, as do_merge would lock it,
    # read once and held too, so that do_merge does not read it again.
    held = is_held(incident)
    target = (Incident.objects.select_for_update() if held else Incident.objects).get(pk=pk)
    with holding_incident(target) if held else nullcontext():
        do_merge(incident, into=target, actor=None, note=note, post_ids=post_ids)
    return target
