"""Every version of an answer's text is kept (issue 6): drafted, edited, submitted, returned, approved, published.

`keep_version` is called by the services in otklik.answers.services inside their transaction, with the answer row
locked, so numbers (1, 2, …) never collide. `versions(answer)` reads them back; `version_rows(answer)` adds, for the
card's «Версии текста» block (templates/answers/_versions.html), a word diff against the previous version.
"""

from __future__ import annotations

import difflib
import re
from dataclasses import dataclass
from typing import TYPE_CHECKING

from django.db.models import Max, QuerySet
from django.utils.html import escape
from django.utils.safestring import SafeString, mark_safe

from otklik.answers.models import AnswerVersion

if TYPE_CHECKING:
    from otklik.accounts.models import User
    from otklik.answers.models import Answer

# Words with the whitespace after them: a diff by these tokens keeps line breaks where they were.
_TOKEN_RE = re.compile(r"\S+\s*|\s+")


def keep_version(answer: Answer, *, reason: str, actor: User | None, comment: str = "") -> AnswerVersion:
    """Store the answer's current text and promised date as its next version (the caller holds the row lock)."""
    last = AnswerVersion.objects.filter(answer=answer).aggregate(n=Max("number"))["n"] or 0
    return AnswerVersion.objects.create(
        answer=answer,
        number=last + 1,
        text=answer.text,
        promised_date=answer.promised_date,
        reason=reason,
        comment=comment,
        author=actor,
    )


def versions(answer: Answer) -> QuerySet[AnswerVersion]:
    """The answer's versions, oldest first, with their authors."""
    return AnswerVersion.objects.filter(answer=answer).select_related("author").order_by("number")


def _tokens(text: str) -> list[str]:
    return _TOKEN_RE.findall(text)


def diff_words(old: str, new: str) -> SafeString:
    """`new` as HTML with the words inserted since `old` in <ins> and the deleted ones in <del>; all text escaped."""
    a, b = _tokens(old), _tokens(new)
    out: list[str] = []
    matcher = difflib.SequenceMatcher(a=a, b=b, autojunk=False)
    for op, i1, i2, j1, j2 in matcher.get_opcodes():
        if op == "equal":
            out.append(escape("".join(b[j1:j2])))
            continue
        if op in {"delete", "replace"}:
            out.append(f'<del class="answer-diff-del">{escape("".join(a[i1:i2]))}</del>')
        if op in {"insert", "replace"}:
            out.append(f'<ins class="answer-diff-ins">{escape("".join(b[j1:j2]))}</ins>')
    return mark_safe("".join(out))  # noqa: S308 — every piece of text above is escaped


@dataclass
class VersionRow:
    version: AnswerVersion
    changed: bool
    diff: SafeString


def version_rows(answer: Answer) -> list[VersionRow]:
    """Each version with its diff against the previous one (the first one: its whole text, escaped)."""
    rows: list[VersionRow] = []
    previous: AnswerVersion | None = None
    # The card prefetches them (otklik.cases.views.card.card_queryset), oldest first with their authors.
    prefetched = getattr(answer, "prefetched_versions", None)
    for version in prefetched if prefetched is not None else versions(answer):
        if previous is None:
            rows.append(VersionRow(version, True, mark_safe(escape(version.text))))  # noqa: S308 — escaped
        else:
            changed = version.text != previous.text or version.promised_date != previous.promised_date
            rows.append(VersionRow(version, changed, diff_words(previous.text, version.text)))
        previous = version
    return rows
