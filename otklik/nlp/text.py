"""Text normalisation shared by the classifier and the router: tokens, lemmas, phrase matching.

pymorphy3 is slow on its own (~130 texts/s) and fast with a word → lemma cache (~700/s): every lemma goes
through `lemma()`, which caches.
"""

from __future__ import annotations

import html
import itertools
import re
from collections import defaultdict
from collections.abc import Sequence
from functools import cache, lru_cache

import pymorphy3
from razdel import tokenize

_TAG_RE = re.compile(r"<[^>]+>")
_WORD_RE = re.compile(r"\w", re.UNICODE)

# Lemmas that carry no evidence about a topic (function words and fillers of complaints).
_STOP_LEMMAS_TEXT = """
    и в во ни что он она оно они я ты мы вы с со как а то так но да к у же за бы по только мне вот от из о об
    еще уже ли если или быть был до ведь там тут потом себя сам ничего может мочь где есть надо для их чем
    чтоб чтобы под тогда кто этот тот потому какой совсем здесь почти мой наш ваш сейчас куда зачем никогда
    можно при наконец хоть после над через про много перед такой более всегда конечно между свой весь который
    очень просто даже ну вообще это все всё уж ж вон еще опять снова сколько когда почему какой-то кто-то
    который-то пожалуйста просить здравствуйте добрый уважаемый
    """
STOP_LEMMAS = frozenset(_STOP_LEMMAS_TEXT.split())
# Negations stay: «нет горячей воды» and «горячая вода есть» are different evidence.

# pymorphy3's scores split some common nouns between two normal forms; these are the ones that matter here.
LEMMA_OVERRIDES = {"ям": "яма", "газа": "газ"}


@cache
def morph() -> pymorphy3.MorphAnalyzer:
    return pymorphy3.MorphAnalyzer()


def normalize(text: str) -> str:
    """Unescape and strip HTML (portal and IM exports carry it), lowercase, ё → е."""
    text = _TAG_RE.sub(" ", html.unescape(text or ""))
    return text.lower().replace("ё", "е")


@lru_cache(maxsize=200_000)
def lemma(word: str) -> str:
    """The normal form of a lowercase word; the form with the highest summed score over pymorphy3's parses."""
    if not word.isalpha() and not any(ch.isalpha() for ch in word):
        return word
    totals: dict[str, float] = defaultdict(float)
    order: list[str] = []
    for parse in morph().parse(word):
        if parse.normal_form not in totals:
            order.append(parse.normal_form)
        totals[parse.normal_form] += parse.score
    if not order:
        return word
    best = max(order, key=lambda form: totals[form])  # max keeps the first of equals: pymorphy3's own order
    best = best.replace("ё", "е")
    return LEMMA_OVERRIDES.get(best, best)


def tokens(text: str) -> list[str]:
    """Lowercase word tokens (razdel), punctuation dropped."""
    return list(_tokens(text))


def lemmas(text: str, *, keep_stop: bool = False) -> list[str]:
    """Lemmas of the words of `text`, stop words dropped unless `keep_stop`."""
    return list(_lemmas(text, keep_stop))


# The last texts' tokens and lemmas are remembered: one post's text is read by several steps of the analysis
# (kind, topic, duplicates, routing), each of which would tokenise it again.
@lru_cache(maxsize=4096)
def _tokens(text: str) -> tuple[str, ...]:
    return tuple(t.text for t in tokenize(normalize(text)) if _WORD_RE.search(t.text))


@lru_cache(maxsize=4096)
def _lemmas(text: str, keep_stop: bool) -> tuple[str, ...]:
    result = [lemma(t) for t in _tokens(text)]
    if keep_stop:
        return tuple(result)
    return tuple(lem for lem in result if lem not in STOP_LEMMAS)


@lru_cache(maxsize=50_000)
def phrase_lemmas(phrase: str) -> tuple[str, ...]:
    """A keyword phrase as lemmas, stop words dropped (as they are dropped from texts); may be empty; remembered
    (the routing rules' and territories' keywords are looked up for every post)."""
    return tuple(lemmas(phrase))


class LemmaIndex:
    """Positions of each lemma in one text, for repeated phrase look-ups."""

    def __init__(self, text_lemmas: Sequence[str]) -> None:
        self.positions: dict[str, list[int]] = defaultdict(list)
        for i, lem in enumerate(text_lemmas):
            self.positions[lem].append(i)

    def __contains__(self, lem: str) -> bool:
        return lem in self.positions

    def has_phrase(self, phrase: Sequence[str], slack: int = 2) -> bool:
        """All lemmas of `phrase` occur, in any order, within a span of len(phrase) + `slack` words."""
        if not phrase:
            return False
        if any(lem not in self.positions for lem in phrase):
            return False
        if len(phrase) == 1:
            return True
        span = len(phrase) + slack
        lists = [self.positions[lem] for lem in phrase]
        combos = 1
        for positions in lists:
            combos *= len(positions)
        if combos > 4096:  # a very long text repeating the words: presence is evidence enough
            return True
        for combo in itertools.product(*lists):
            if len(set(combo)) == len(combo) and max(combo) - min(combo) < span:
                return True
        return False
