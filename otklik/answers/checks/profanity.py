"""`profanity`: obscene words, masked or not, and insults — the lexicon of `otklik.nlp.kind`, imported."""

from __future__ import annotations

from django.utils.translation import gettext as _

from otklik.answers.checks import Context, Finding, finding
from otklik.nlp.kind import INSULT_LEMMAS, MASKED_RE, OBSCENE_RE

_MASKS = "*@#$%"


def _whole_word(text: str, start: int, end: int) -> tuple[int, int]:
    """Widen a match to the whole word, mask characters included («пизд» → «пизд*ц»)."""
    while start > 0 and (text[start - 1].isalpha() or text[start - 1] in _MASKS):
        start -= 1
    while end < len(text) and (text[end].isalpha() or text[end] in _MASKS):
        end += 1
    return start, end


def check(ctx: Context) -> list[Finding]:
    lower = ctx.lower
    spans: list[tuple[int, int]] = []
    for m in [*OBSCENE_RE.finditer(lower), *MASKED_RE.finditer(lower)]:
        start, end = _whole_word(lower, m.start(), m.end())
        if not any(s < end and start < e for s, e in spans):
            spans.append((start, end))
    for token in ctx.tokens:
        if token.lemma in INSULT_LEMMAS and not any(s < token.end and token.start < e for s, e in spans):
            spans.append((token.start, token.end))
    return [
        finding("profanity", _("Rude or obscene language: an official answer cannot contain it."), s, e)
        for s, e in sorted(spans)
    ]
