"""Mask personal data in citizens' posts quoted in documents, exports and reports — the one masker of the project.

Reuses the patterns of the answers' quality check (`otklik.answers.checks.personal_data`): phones (every kind except
the federal hotlines, which are public), e-mails (all of them: a citizen's address is personal whatever the box),
СНИЛС, passports, personal ИНН and account numbers, the number of a flat («кв. 15» → «кв. [скрыто]»: the house
stays, the problem is often about it). A name introduced as «Я, Иванов Иван Иванович», «меня зовут Иван Петров»,
«С уважением, Петрова А.», «Подпись:» or «ФИО:» (up to three capitalised words and initials) becomes «[имя скрыто]».
Used by the media briefs, the periodic report's example posts, the XLSX exports of the inbox, the board and the
assignments, and the personal-data service (otklik.privacy).
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

_NAME = r"[А-ЯЁ][а-яё]+(?:-[А-ЯЁ][а-яё]+)?"
_INITIALS = r"(?:\s+[А-ЯЁ]\.\s?(?:[А-ЯЁ]\.)?)?"
# «Я, Иванов Иван Иванович», «меня зовут Иван Петров», «с уважением, Петрова А.», «Я Петрова А.В.»: the words after
# the introduction (group 1).
NAME_RE = re.compile(
    r"(?:(?<![\w])[Яя],?|[Мм]еня\s+зовут|[Сс]\s+уважением,?|[Пп]одпись:?|ФИО:?)\s+"
    r"(" + _NAME + r"(?:\s+" + _NAME + r"){0,2}" + _INITIALS + r"|[А-ЯЁ]\.\s?(?:[А-ЯЁ]\.)?)"
)
_FLAT_NUMBER = re.compile(r"\d{1,4}[а-я]?$")


def _same_length_lower(text: str) -> str:
    """`text.lower()` keeping every index in place (the few letters whose lower case is longer stay as they are)."""
    return "".join(ch.lower() if len(ch.lower()) == 1 else ch for ch in text)


def _merge(spans: list[tuple[int, int, str]]) -> list[tuple[int, int, str]]:
    """Overlapping spans merged (a merged span is a name only if all its parts are)."""
    merged: list[tuple[int, int, str]] = []
    for start, end, mask in sorted(spans):
        if merged and start < merged[-1][1]:
            last_start, last_end, last_mask = merged[-1]
            merged[-1] = (last_start, max(end, last_end), last_mask if last_mask == mask else MASK)
        else:
            merged.append((start, end, mask))
    return merged


def _masked_spans(text: str) -> list[tuple[int, int, str]]:
    lower = _same_length_lower(text)
    spans: list[tuple[int, int, str]] = []
    for pattern in (SNILS_RE, PASSPORT_RE, INN_RE, ACCOUNT_RE, EMAIL_RE):
        spans.extend((m.start(), m.end(), MASK) for m in pattern.finditer(lower))
    spans.extend((start, end, MASK) for start, end, kind in phone_spans(lower) if kind != "hotline")
    for m in FLAT_RE.finditer(lower):
        number = _FLAT_NUMBER.search(m.group())
        spans.append((m.start() + number.start(), m.end(), MASK) if number else (m.start(), m.end(), MASK))
    spans.extend((m.start(1), m.end(1), NAME_MASK) for m in NAME_RE.finditer(text))
    return _merge(spans)


def mask_personal_data(text: str) -> str:
    """`text` with its personal data replaced by «[скрыто]» and an introduced name by «[имя скрыто]»."""
    parts: list[str] = []
    position = 0
    for start, end, mask in _masked_spans(text):
        parts += [text[position:start], mask]
        position = end
    parts.append(text[position:])
    return "".join(parts)
