"""The first classifier: lemmatised keyword rules over the IM rubricator.

Evidence, strongest first:
- hand-written phrases per topic (`otklik/org/data/classifier_keywords.json`) and `Topic.keywords` from the DB;
- hand-written phrases per group (they point to the group only);
- the lemmas of the topic names themselves, weighted down when the lemma occurs in the topic names of several
  groups («снег» is in two groups, «лифт» in one).

A phrase matches when all its lemmas occur close together in the text, in any order.
"""

from __future__ import annotations

import json
import logging
import math
import time
from collections import defaultdict
from dataclasses import dataclass
from pathlib import Path

from django.db import DatabaseError

from otklik.nlp.base import Classification
from otklik.nlp.text import LemmaIndex, lemmas, phrase_lemmas

log = logging.getLogger(__name__)

DATA_DIR = Path(__file__).resolve().parent.parent / "org" / "data"
RUBRICATOR_PATH = DATA_DIR / "im_rubricator.json"
KEYWORDS_PATH = DATA_DIR / "classifier_keywords.json"
PRIORITY_MARK = "★"

# Words of topic names that say nothing about the subject («Нарушение правил …», «Отсутствие …»).
_GENERIC_NAME_LEMMAS_TEXT = """
    нарушение правило ненадлежащий надлежащий отсутствие проблема прочее прочий другой вопрос обращение
    необходимость необходимый установка организация содержание состояние качество предложение предложить
    изменение изменить новый объект место работа услуга жалоба поддержка низкий плохой создание отказ полный
    объем оказание просьба нехватка сокращение выполнить выполненный некачественно некачественный срок т п
    """
GENERIC_NAME_LEMMAS = frozenset(_GENERIC_NAME_LEMMAS_TEXT.split())

TOPIC_PHRASE_WEIGHT = 2.0
GROUP_PHRASE_WEIGHT = 1.2
EXTRA_LEMMA_BONUS = 0.5  # a longer phrase is more specific
NAME_LEMMA_WEIGHT = 0.6
SECONDARY_SHARE = 0.5  # further matches of the same topic count half
OTHER_TOPICS_SHARE = 0.3  # evidence for other topics of a group adds a little to the group
MIN_TOPIC_SCORE = 1.0  # one topic-name word alone does not name a topic (the group may still be clear)
STRENGTH_SCALE = 1.5  # score at which the strength of evidence reaches 1 - 1/e
DB_KEYWORDS_TTL = 300.0


def strip_mark(name: str) -> tuple[str, bool]:
    """«★ Ямы во дворах» → («Ямы во дворах», True)."""
    name = name.strip()
    if name.startswith(PRIORITY_MARK):
        return name[len(PRIORITY_MARK) :].strip(), True
    return name, False


def load_rubricator(path: Path = RUBRICATOR_PATH) -> dict[str, str]:
    """Topic name (without ★) → group name."""
    with path.open(encoding="utf-8") as f:
        raw: dict[str, str] = json.load(f)
    return {strip_mark(topic)[0]: group.strip() for topic, group in raw.items()}


@dataclass(frozen=True)
class Rule:
    lemmas: tuple[str, ...]
    group: str
    topic: str | None
    weight: float
    label: str


class KeywordClassifier:
    """See the module docstring. Stateless after construction except for the cached DB keywords."""

    def __init__(
        self,
        rubricator: dict[str, str] | None = None,
        keywords: dict[str, dict] | None = None,
        *,
        use_db_keywords: bool = True,
    ) -> None:
        self.topics = rubricator if rubricator is not None else load_rubricator()
        if keywords is None:
            with KEYWORDS_PATH.open(encoding="utf-8") as f:
                keywords = {k: v for k, v in json.load(f).items() if not k.startswith("_")}
        self.groups = sorted(set(self.topics.values()))
        self.rules = _unique(self._name_rules() + self._hand_rules(keywords))
        self.use_db_keywords = use_db_keywords
        self._db_rules: list[Rule] = []
        self._db_loaded_at: float | None = None

    # --- building -----------------------------------------------------------------------------------------

    def _name_rules(self) -> list[Rule]:
        groups_of: dict[str, set[str]] = defaultdict(set)
        topic_lemmas: dict[str, set[str]] = {}
        for topic, group in self.topics.items():
            found = {lem for lem in lemmas(topic) if len(lem) > 2 and lem not in GENERIC_NAME_LEMMAS}
            topic_lemmas[topic] = found
            for lem in found:
                groups_of[lem].add(group)
        rules = []
        for topic, found in topic_lemmas.items():
            for lem in sorted(found):
                weight = NAME_LEMMA_WEIGHT / len(groups_of[lem])
                rules.append(Rule((lem,), self.topics[topic], topic, weight, lem))
        return rules

    def _phrase_rule(self, phrase: str, group: str, topic: str | None) -> Rule | None:
        lems = phrase_lemmas(phrase)
        if not lems:
            return None
        base = TOPIC_PHRASE_WEIGHT if topic else GROUP_PHRASE_WEIGHT
        return Rule(lems, group, topic, base + EXTRA_LEMMA_BONUS * (len(lems) - 1), phrase)

    def _hand_rules(self, keywords: dict[str, dict]) -> list[Rule]:
        rules: list[Rule] = []
        for group, entry in keywords.items():
            if group not in self.groups:
                log.warning("classifier keywords: unknown group %r", group)
                continue
            for phrase in entry.get("group", []):
                if rule := self._phrase_rule(phrase, group, None):
                    rules.append(rule)
            for topic, phrases in entry.get("topics", {}).items():
                if self.topics.get(topic) != group:
                    log.warning("classifier keywords: %r is not a topic of %r", topic, group)
                    continue
                for phrase in phrases:
                    if rule := self._phrase_rule(phrase, group, topic):
                        rules.append(rule)
        return rules

    def _current_db_rules(self) -> list[Rule]:
        """Rules from `Topic.keywords` (edited in the admin), re-read at most every few minutes."""
        if not self.use_db_keywords:
            return []
        now = time.monotonic()
        if self._db_loaded_at is not None and now - self._db_loaded_at < DB_KEYWORDS_TTL:
            return self._db_rules
        from otklik.org.models import Topic

        rules: list[Rule] = []
        try:
            rows = list(
                Topic.objects.filter(is_active=True).exclude(keywords="").values_list("name", "group__name", "keywords")
            )
        except DatabaseError:
            log.warning("classifier: topic keywords could not be read", exc_info=True)
            rows = []
        for name, group, words in rows:
            for phrase in words.split(","):
                if phrase.strip() and (rule := self._phrase_rule(phrase, group, name)):
                    rules.append(rule)
        self._db_rules = _unique(rules)
        self._db_loaded_at = now
        return rules

    def refresh(self) -> None:
        """Re-read `Topic.keywords` on the next call."""
        self._db_loaded_at = None

    # --- classifying ----------------------------------------------------------------------------------------

    def classify(self, text: str) -> Classification:
        """Score every group and topic by the matched rules.

        1. Lemmatise the text; match every rule (a phrase: all its lemmas close together).
        2. A topic scores its best match plus half of the others; a group scores its direct phrases, its best
           topic, and a little of its other topics.
        3. The best group wins; its best topic is the topic if its evidence is more than one name word.
        4. Confidence = strength of the evidence (saturating in the score) × the margin over the runner-up.
        """
        index = LemmaIndex(lemmas(text))
        matched = [r for r in [*self.rules, *self._current_db_rules()] if index.has_phrase(r.lemmas)]
        group_direct: dict[str, float] = defaultdict(float)
        group_lemmas: dict[str, set[str]] = defaultdict(set)
        for rule in matched:
            if rule.topic is None:
                group_direct[rule.group] += rule.weight
                group_lemmas[rule.group].update(rule.lemmas)
        topic_hits: dict[str, list[float]] = defaultdict(list)
        novel_hits: dict[str, list[float]] = defaultdict(list)
        for rule in matched:
            if rule.topic is not None:
                topic_hits[rule.topic].append(rule.weight)
                # The same words already counted for the group choose the topic but add nothing to the group.
                if not set(rule.lemmas) <= group_lemmas[rule.group]:
                    novel_hits[rule.topic].append(rule.weight)
        why = [
            f"«{r.label}» → {r.topic or r.group} (+{r.weight:.2f})" for r in sorted(matched, key=lambda r: -r.weight)
        ]

        topic_scores = {t: _combine(ws) for t, ws in topic_hits.items()}
        group_topics: dict[str, list[float]] = defaultdict(list)
        for topic, weights in novel_hits.items():
            group_topics[self.topics[topic]].append(_combine(weights))
        group_scores: dict[str, float] = {}
        for group in set(group_direct) | {self.topics[t] for t in topic_scores}:
            scores = group_topics.get(group, [])
            best = max(scores, default=0.0)
            group_scores[group] = group_direct.get(group, 0.0) + best + OTHER_TOPICS_SHARE * (sum(scores) - best)

        if not group_scores:
            return Classification(None, None, 0.0, {}, ())
        ranked = sorted(group_scores.items(), key=lambda item: (-item[1], item[0]))
        group, s1 = ranked[0]
        s2 = ranked[1][1] if len(ranked) > 1 else 0.0
        candidates = [
            (score, t) for t, score in topic_scores.items() if self.topics[t] == group and score >= MIN_TOPIC_SCORE
        ]
        best_topic = max(candidates)[1] if candidates else None
        strength = 1.0 - math.exp(-s1 / STRENGTH_SCALE)
        margin = (s1 - s2) / s1 if s1 > 0 else 0.0
        confidence = round(strength * (0.5 + 0.5 * margin), 3)
        return Classification(
            topic_name=best_topic,
            group_name=group,
            confidence=confidence,
            scores={g: round(s, 3) for g, s in ranked},
            why=tuple(why),
        )


def _unique(rules: list[Rule]) -> list[Rule]:
    """One rule per (lemmas, group, topic): «двор» and «во дворе» are the same evidence; the heavier one stays."""
    best: dict[tuple[tuple[str, ...], str, str | None], Rule] = {}
    for rule in rules:
        key = (tuple(sorted(rule.lemmas)), rule.group, rule.topic)
        if key not in best or rule.weight > best[key].weight:
            best[key] = rule
    return list(best.values())


def _combine(weights: list[float]) -> float:
    ordered = sorted(weights, reverse=True)
    return ordered[0] + SECONDARY_SHARE * sum(ordered[1:])
