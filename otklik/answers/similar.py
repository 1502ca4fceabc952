"""The published answers of other incidents about the same problem: the editor offers their wording to reuse.

Similarity is between complaints (this incident's posts and the posts of incidents answered before), not between
answers: an answer is worth borrowing when it answered the same problem.

1. Candidates: cosine of TF-IDF vectors of the complaints' lemmas (otklik.nlp.text.lemmas, stop words dropped,
   sublinear tf), the top `CANDIDATES`.
2. Ranking: the mean of that cosine and the cosine of the complaints' sentence embeddings (otklik.nlp.embeddings,
   USE v3; only the candidates and the query are embedded, ~2 ms a text, remembered by the embeddings module).
   Measured on the NLP corpus (1 075 posts with a topic, leave-one-out): the nearest post has the same topic for
   35.7 % with the lemmas alone, 36.6 % with the embeddings alone, 41.3 % with this cascade (10 or 30 candidates
   alike) — topics are fine-grained; the group agrees for 55 %.

The index covers the incidents of the last `MAX_ANSWERS` published answers (one entry per incident: its latest
published answer) and lives in the process. A look-up first asks the database for the count and the newest
publication time of the published answers in the index's window — published since its oldest answer (`floor`; all
of them while there are fewer than `MAX_ANSWERS`) — one query on the partial index `answer_published_recent`
(~1 ms at 800,000 answers, where counting them all took ~190 ms), at most every OTKLIK_SIMILAR_CHECK_SECONDS per
process and at once after an answer was saved in this process. New answers are added to the index incrementally
(the vocabulary of the last full build; a full rebuild after `REBUILD_AFTER` additions), any other change in the
window (an answer gone or unpublished, one published with an older time) rebuilds it; a change older than the
window cannot concern the index and is not looked at. `invalidate()` drops it (tests; a process that knows better).
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from django.conf import settings
from django.db.models import Count, Max

from otklik.answers.choices import AnswerStatus
from otklik.answers.models import Answer
from otklik.nlp.text import lemmas

logger = logging.getLogger(__name__)

#: The index covers the incidents of at most this many of the newest published answers.
MAX_ANSWERS = 5000
#: Candidates taken by the lemma TF-IDF for the embeddings to rank.
CANDIDATES = 10
#: How many answers the editor shows.
LIMIT = 3
#: Below this mixed score an answer is not offered (unrelated problems share a stock word or two).
MIN_SCORE = 0.2
#: A complaint is cut to this many characters (its first sentences name the problem).
COMPLAINT_CHARS = 1000
#: Added answers after which the index is built again (the vocabulary and the IDF follow the new answers).
REBUILD_AFTER = 500
#: The snippet shown in the panel.
SNIPPET_CHARS = 280


@dataclass(frozen=True)
class SimilarAnswer:
    answer: Answer
    score: float
    snippet: str


@dataclass
class _Index:
    answer_ids: list[int]
    incident_ids: list[int]
    complaints: list[str]
    vectorizer: Any
    matrix: Any  # scipy.sparse CSR, one L2-normalised row per entry
    alive: np.ndarray
    total: int  # published answers in the window (since `floor`) when the index was last brought up to date
    newest: Any  # the newest `published_at` seen
    floor: Any = None  # the oldest `published_at` of the build's answers when it took `MAX_ANSWERS`; None: all
    added: int = 0
    row_of_incident: dict[int, int] = field(default_factory=dict)


_lock = threading.Lock()
_index: _Index | None = None


def invalidate() -> None:
    """Forget the index: the next look-up builds it again."""
    global _index, _checked_at
    with _lock:
        _index = None
        _checked_at = None


class _Reset:
    """Lets `otklik.core.rowcache.reset_all()` (run before every test) drop the index with the other caches."""

    def reset(self, **_kwargs: Any) -> None:
        invalidate()


def _register_reset() -> None:
    from otklik.core import rowcache

    rowcache._caches.append(_Reset())


_register_reset()


def _published() -> Any:
    return Answer.objects.filter(status=AnswerStatus.PUBLISHED)


def _window_state(floor: Any) -> tuple[int, Any]:
    """(count, newest `published_at`) of the published answers since `floor` (all of them when None)."""
    answers = _published() if floor is None else _published().filter(published_at__gte=floor)
    state = answers.aggregate(total=Count("pk"), newest=Max("published_at"))
    return state["total"], state["newest"]


def _complaint_texts(incident_ids: Iterable[int]) -> dict[int, str]:
    """The posts of each incident joined, in posting order, cut to `COMPLAINT_CHARS` (queries of 900 ids)."""
    from otklik.intake.models import Post

    ids = list(incident_ids)
    parts: dict[int, list[str]] = {}
    for i in range(0, len(ids), 900):
        rows = (
            Post.objects.filter(incident_id__in=ids[i : i + 900])
            .order_by("posted_at", "pk")
            .values_list("incident_id", "text")
        )
        for incident_id, text in rows:
            parts.setdefault(incident_id, []).append(text)
    return {k: "\n".join(v)[:COMPLAINT_CHARS] for k, v in parts.items()}


def complaint_of(incident: Any) -> str:
    """The complaint of one incident as the index sees it (its posts' text)."""
    return _complaint_texts([incident.pk]).get(incident.pk, "")


def _document(text: str) -> str:
    return " ".join(lemmas(text))


def _latest_per_incident(rows: Iterable[tuple[int, int, Any]]) -> dict[int, tuple[int, Any]]:
    """incident id → (answer id, published_at) of its newest published answer; `rows` come newest first."""
    latest: dict[int, tuple[int, Any]] = {}
    for answer_id, incident_id, published_at in rows:
        latest.setdefault(incident_id, (answer_id, published_at))
    return latest


def _vectorizer() -> Any:
    from sklearn.feature_extraction.text import TfidfVectorizer

    return TfidfVectorizer(analyzer=str.split, sublinear_tf=True, dtype=np.float32)


def _build() -> _Index:
    """1. The newest `MAX_ANSWERS` published answers, one per incident. 2. Their complaints' lemmas. 3. TF-IDF."""
    started = time.perf_counter()
    rows = _published().order_by("-published_at", "-pk").values_list("pk", "incident_id", "published_at")
    rows = list(rows[:MAX_ANSWERS])
    floor = rows[-1][2] if len(rows) == MAX_ANSWERS else None
    # The window's state as the next check will ask it (answers published since the rows were read make it differ:
    # they are added then).
    total, _newest = _window_state(floor) if floor is not None else (len(rows), None)
    latest = _latest_per_incident(rows)
    texts = _complaint_texts(latest)
    answer_ids, incident_ids, complaints = [], [], []
    for incident_id, (answer_id, _published_at) in latest.items():
        text = texts.get(incident_id, "")
        if text.strip():
            answer_ids.append(answer_id)
            incident_ids.append(incident_id)
            complaints.append(text)
    vectorizer = _vectorizer()
    docs = [_document(t) for t in complaints]
    if any(docs):
        matrix = vectorizer.fit_transform(docs)
    else:  # nothing to learn a vocabulary from: an empty index
        vectorizer = None
        matrix = None
    newest = rows[0][2] if rows else None
    index = _Index(
        answer_ids=answer_ids,
        incident_ids=incident_ids,
        complaints=complaints,
        vectorizer=vectorizer,
        matrix=matrix,
        alive=np.ones(len(answer_ids), dtype=bool),
        total=total,
        newest=newest,
        floor=floor,
        row_of_incident={inc: row for row, inc in enumerate(incident_ids)},
    )
    logger.info(
        "similar answers: index of %d incidents built in %.2f s", len(answer_ids), time.perf_counter() - started
    )
    return index


def _add(index: _Index, total: int, newest: Any) -> _Index | None:
    """Bring the index up to date with the answers published since it was built; None when it must be rebuilt."""
    from scipy.sparse import vstack

    # A new index object: readers outside the lock keep a consistent one (lists, matrix and mask of one state).
    index = _Index(
        answer_ids=list(index.answer_ids),
        incident_ids=list(index.incident_ids),
        complaints=list(index.complaints),
        vectorizer=index.vectorizer,
        matrix=index.matrix,
        alive=index.alive.copy(),
        total=index.total,
        newest=index.newest,
        floor=index.floor,
        added=index.added,
        row_of_incident=dict(index.row_of_incident),
    )
    known = set(index.answer_ids)
    rows = list(
        _published()
        .filter(published_at__gte=index.newest)
        .order_by("-published_at", "-pk")
        .values_list("pk", "incident_id", "published_at")
    )
    fresh = [r for r in rows if r[0] not in known]
    if index.total + len(fresh) != total or index.vectorizer is None:
        return None  # an answer was removed, or unpublished, or published with an older time: rebuild
    if index.added + len(fresh) > REBUILD_AFTER:
        return None
    latest = _latest_per_incident(fresh)
    texts = _complaint_texts(latest)
    new_rows = []
    for incident_id, (answer_id, _published_at) in latest.items():
        text = texts.get(incident_id, "")
        if not text.strip():
            continue
        old = index.row_of_incident.get(incident_id)
        if old is not None:
            index.alive[old] = False  # the incident's newer answer replaces the older one
        index.row_of_incident[incident_id] = len(index.answer_ids)
        index.answer_ids.append(answer_id)
        index.incident_ids.append(incident_id)
        index.complaints.append(text)
        new_rows.append(text)
    if new_rows:
        index.matrix = vstack([index.matrix, index.vectorizer.transform([_document(t) for t in new_rows])]).tocsr()
        index.alive = np.concatenate([index.alive, np.ones(len(new_rows), dtype=bool)])
    index.total = total
    index.newest = newest
    index.added += len(fresh)
    return index


def answers_changed(**_kwargs: Any) -> None:
    """An answer was saved or deleted in this process: the next look-up asks the database at once."""
    global _checked_at
    _checked_at = None


# When this process last asked the database whether its index is current (time.monotonic()).
_checked_at: float | None = None


def current_index() -> _Index:
    """The process's index, brought up to date with the database (one aggregate query when nothing changed).

    The question (the count and the newest time of the published answers in the index's window) is asked at most
    once every OTKLIK_SIMILAR_CHECK_SECONDS per process: an answer published by another process is offered up to
    that many seconds later; one published or changed in this process at once (`answers_changed`, on the Answer's
    signals).
    """
    global _index, _checked_at
    check_every = float(getattr(settings, "OTKLIK_SIMILAR_CHECK_SECONDS", 0))
    now = time.monotonic()
    index = _index
    if index is not None and _checked_at is not None and now - _checked_at < check_every:
        return index
    if index is None:
        with _lock:
            if _index is None:
                _index = _build()
            _checked_at = now
            return _index
    total, newest = _window_state(index.floor)
    _checked_at = now
    with _lock:
        index = _index
        if index is not None and (index.total, index.newest) == (total, newest):
            return index
        updated = _add(index, total, newest) if index is not None and index.newest is not None else None
        if updated is None:
            updated = _build()
        _index = updated
        return updated


def warm_up() -> None:
    """Build the index now (≈ 5 s for 5 000 answers on one core, mostly lemmatising), not on the first card."""
    current_index()


def _embedding_scores(query: str, texts: list[str]) -> np.ndarray | None:
    try:
        from otklik.nlp.embeddings import embed

        vectors = embed([query, *texts])
    except Exception:  # the encoder is optional here: the lemma ranking stands alone
        logger.exception("similar answers: embeddings unavailable, ranking by lemmas only")
        return None
    return np.asarray(vectors[1:] @ vectors[0], dtype=np.float32)


def nearest(text: str, *, exclude_incident: int | None = None, limit: int = LIMIT) -> list[tuple[int, float]]:
    """(answer id, score) of the published answers whose incidents' complaints are nearest to `text`, best first.

    1. Lemma TF-IDF cosine over the index → the top `CANDIDATES` with a shared lemma.
    2. Their score: the mean of that cosine and the embeddings' cosine; below `MIN_SCORE` dropped.
    """
    text = (text or "")[:COMPLAINT_CHARS]
    doc = _document(text)
    if not doc:
        return []
    index = current_index()
    if index.vectorizer is None or index.matrix is None or not index.answer_ids:
        return []
    query = index.vectorizer.transform([doc])
    scores = np.asarray((index.matrix @ query.T).toarray()).ravel()
    scores[~index.alive] = 0.0
    if exclude_incident is not None:
        row = index.row_of_incident.get(exclude_incident)
        if row is not None:
            scores[row] = 0.0
    order = np.argsort(-scores, kind="stable")[:CANDIDATES]
    candidates = [int(i) for i in order if scores[i] > 0.0 and index.incident_ids[i] != exclude_incident]
    if not candidates:
        return []
    lexical = scores[candidates]
    semantic = _embedding_scores(text, [index.complaints[i] for i in candidates])
    mixed = lexical if semantic is None else (lexical + semantic) / 2
    ranked = sorted(zip(candidates, mixed, strict=True), key=lambda pair: -pair[1])
    return [(index.answer_ids[i], float(score)) for i, score in ranked if score >= MIN_SCORE][:limit]


def _snippet(text: str) -> str:
    text = " ".join(text.split())
    if len(text) <= SNIPPET_CHARS:
        return text
    cut = text[:SNIPPET_CHARS].rsplit(" ", 1)[0]
    return f"{cut}…"


def similar_answers(incident: Any, *, limit: int = LIMIT) -> list[SimilarAnswer]:
    """Up to `limit` published answers of other incidents nearest to this incident's complaint, best first."""
    found = nearest(complaint_of(incident), exclude_incident=incident.pk, limit=limit)
    if not found:
        return []
    answers = Answer.objects.select_related("incident__topic", "incident__group").in_bulk([pk for pk, _ in found])
    result = []
    for pk, score in found:
        answer = answers.get(pk)
        # The index may be a moment behind: an answer no longer published is not offered.
        if answer is None or answer.status != AnswerStatus.PUBLISHED or answer.incident_id == incident.pk:
            continue
        result.append(SimilarAnswer(answer=answer, score=score, snippet=_snippet(answer.text)))
    return result
