"""Mask personal data in citizens' posts quoted in documents (media briefs, reports).

Reuses the patterns of the answers' quality check (`otklik.answers.checks.personal_data`): phones (every kind except
the federal hotlines, which are public), e-mails (all of them: a citizen's address is personal whatever the box),
flat-level addresses, СНИЛС, passports, personal ИНН and account numbers. A name introduced as «Я, Иванов Иван
Иванович, …» (the usual opening of a complaint) is masked too: the capitalised words after «Я,» up to the next comma.
"""

from __future__ import annotations

import re

from otklik.answers.checks.personal_data import (
    ACCOUNT_RE,
    EMAIL_RE,
    FLAT_RE,
    INN_RE,
    PASSPORT_RE,
    SNILS_RE,
    phone_spans,
)

MASK = "[скрыто]"
NAME_MASK = "[имя скрыто]"

# «Я, Иванов Иван Иванович,» / «Я Петрова А.В.,» — up to three capitalised words or initials after «Я».
NAME_AFTER_I_RE = re.compile(
    r"(?<![\w])(Я,?\s+)((?:[А-ЯЁ][а-яё]+(?:-[А-ЯЁ][а-яё]+)?|[А-ЯЁ]\.\s?(?:[А-ЯЁ]\.)?)"
    r"(?:\s+(?:[А-ЯЁ][а-яё]+|[А-ЯЁ]\.\s?(?:[А-ЯЁ]\.)?)){0,2})(?=\s*[,.;:!?)\n]|\s+(?:прожива|пиш|обраща|прош))"
)


def personal_spans(text: str) -> list[tuple[int, int]]:
    """Character spans of personal data in `text` (overlaps merged), sorted."""
    lower = text.lower()
    spans: list[tuple[int, int]] = []
    for pattern in (SNILS_RE, PASSPORT_RE, INN_RE, ACCOUNT_RE, EMAIL_RE, FLAT_RE):
        spans.extend((m.start(), m.end()) for m in pattern.finditer(lower))
    spans.extend((start, end) for start, end, kind in phone_spans(lower) if kind != "hotline")
    spans.sort()
    merged: list[tuple[int, int]] = []
    for start, end in spans:
        if merged and start < merged[-1][1]:
            merged[-1] = (merged[-1][0], max(end, merged[-1][1]))
        else:
            merged.append((start, end))
    return merged


def mask_personal_data(text: str) -> str:
    """`text` with its personal data replaced by «[скрыто]» and a self-introduced name by «[имя скрыто]»."""
    if len(text.lower()) != len(text):  # a rare letter whose lower case is longer: offsets would drift
        text = "".join(ch if len(ch.lower()) == 1 else "?" for ch in text)
    parts: list[str] = []
    position = 0
    for start, end in personal_spans(text):
        parts.append(text[position:start])
        parts.append(MASK)
        position = end
    parts.append(text[position:])
    masked = "".join(parts)
    return NAME_AFTER_I_RE.sub(lambda m: m.group(1) + NAME_MASK, masked)
