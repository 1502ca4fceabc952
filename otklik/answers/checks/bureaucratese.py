"""`bureaucratese` (канцелярит): stock phrases and chains of verbal nouns, each highlighted.

1. Stock phrases come from `otklik/answers/data/bureaucratese.tsv` (a pattern and a plain suggestion per line:
   «в рамках» → «в / по», «осуществляется ремонт» → «ремонтируем»). A longer phrase wins over one inside it.
2. A chain of verbal nouns: a noun followed by nouns in the genitive (adjectives in the genitive may stand
   between) — three nouns or more, of which at least two are verbal nouns («проверка соблюдения порядка
   содержания», «обеспечения осуществления контроля»). Verbal nouns end in -ние/-тие/-ция/-ка of a verb.
Nothing inside quotes is flagged: a citizen's words («в рамках программы») or an act's title are not ours.
"""

from __future__ import annotations

import re
from functools import cache
from pathlib import Path

from django.utils.translation import gettext as _

from otklik.answers.checks import Context, Finding, Token, finding, parses

DATA = Path(__file__).resolve().parent.parent / "data" / "bureaucratese.tsv"
MIN_CHAIN = 3
MIN_VERBAL = 2
VERBAL_SUFFIXES = ("ние", "тие", "ция", "ация", "ирование")
# Nouns in -ка/-ок/-ж made from verbs (pymorphy3 cannot tell them from other nouns).
VERBAL_KA = frozenset(
    [
        "проверка",
        "уборка",
        "установка",
        "очистка",
        "обрезка",
        "перевозка",
        "доставка",
        "подготовка",
        "разработка",
        "обработка",
        "постановка",
        "поддержка",
        "перекладка",
        "укладка",
        "прокладка",
        "оценка",
        "отделка",
        "покраска",
        "расчистка",
        "вырубка",
        "закупка",
        "приемка",
    ]
)


@cache
def phrases() -> list[tuple[re.Pattern[str], str]]:
    rows = []
    for line in DATA.read_text(encoding="utf-8").splitlines():
        if not line.strip() or line.startswith("#"):
            continue
        pattern, _tab, suggestion = line.partition("\t")
        rows.append((re.compile(r"(?<![а-я\w])(?:" + pattern + r")(?![а-я])"), suggestion.strip()))
    return rows


def _noun(token: Token) -> tuple[bool, bool, bool, bool]:
    """(is a noun, is a genitive noun, is a genitive adjective/participle, is a verbal noun)."""
    low = token.lower
    if not low.isalpha():
        return False, False, False, False
    ps = [p for p in parses(low)[:3] if p.score >= 0.05] or list(parses(low)[:1])
    is_noun = any(p.tag.POS == "NOUN" for p in ps[:1])
    gen_noun = any(p.tag.POS == "NOUN" and "gent" in p.tag for p in ps)
    gen_adj = any(p.tag.POS in ("ADJF", "PRTF") and "gent" in p.tag for p in ps)
    lemma = token.lemma
    verbal = (is_noun or gen_noun) and (lemma.endswith(VERBAL_SUFFIXES) or lemma in VERBAL_KA)
    return is_noun, gen_noun, gen_adj, verbal


def _chains(ctx: Context) -> list[tuple[int, int]]:
    """Spans of genitive chains (see the module docstring, 2)."""
    spans: list[tuple[int, int]] = []
    toks = ctx.all_tokens
    i = 0
    while i < len(toks):
        is_noun, _g, _a, verbal = _noun(toks[i])
        if not is_noun:
            i += 1
            continue
        nouns, verbals, last = 1, int(verbal), i
        j = i + 1
        while j < len(toks):
            _n, gen_noun, gen_adj, v = _noun(toks[j])
            if gen_noun:
                nouns += 1
                verbals += int(v)
                last = j
            elif not gen_adj:
                break
            j += 1
        if nouns >= MIN_CHAIN and verbals >= MIN_VERBAL:
            spans.append((toks[i].start, toks[last].end))
            i = last + 1
        else:
            i += 1
    return spans


def check(ctx: Context) -> list[Finding]:
    lower = ctx.lower
    hits: list[tuple[int, int, str]] = []
    for regex, suggestion in phrases():
        for m in regex.finditer(lower):
            start, end = m.start(), m.end()
            while end > start and not lower[end - 1].isalnum():
                end -= 1  # a trailing comma or space of the pattern is not part of the phrase
            if ctx.in_quotes(start, end):
                continue
            if any(s <= start and end <= e for s, e, _x in hits):
                continue
            hits.append((start, end, suggestion))
    findings = [
        finding(
            "bureaucratese",
            _("«%(phrase)s» is канцелярит: say it in plain words.") % {"phrase": ctx.text[s:e]},
            s,
            e,
            suggestion,
        )
        for s, e, suggestion in hits
    ]
    for s, e in _chains(ctx):
        if ctx.in_quotes(s, e) or any(hs < e and s < he for hs, he, _x in hits):
            continue
        findings.append(
            finding(
                "bureaucratese",
                _("A chain of verbal nouns («%(phrase)s»): say it with a verb — who does what.")
                % {"phrase": ctx.text[s:e]},
                s,
                e,
            )
        )
    return findings
