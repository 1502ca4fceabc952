"""The quality gate of answers: one module per rule, each `check(ctx) -> list[Finding]`.

`run_checks(text, complaint, attachments=…)` runs every rule on one draft and returns its findings sorted by start.
A finding names a code, a severity (`error` blocks publishing, `warning` does not), a Russian explanation, a span
and a suggestion where one exists. Spans are character (code point) offsets into `text`, `end` exclusive; a finding
about something missing (no greeting, a text too short) has `start = end = 0`.

Severities default per code (`DEFAULT_SEVERITY`) and can be changed or switched off by the setting
`OTKLIK_ANSWER_CHECK_SEVERITY = {"code": "error" | "warning" | "off"}`.

The rules work on a `Context` that tokenises and lemmatises the text once (razdel; pymorphy3 through the cached
`otklik.nlp.text.lemma` / `morph()`), so each rule stays cheap: the editor runs them live as the operator types.
"""

from __future__ import annotations

import importlib
import re
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from functools import cache, cached_property, lru_cache
from typing import Any

from django.conf import settings
from razdel import sentenize, tokenize

from otklik.nlp.text import lemma, morph

ERROR = "error"
WARNING = "warning"
OFF = "off"

# code → default severity (issue 6).
DEFAULT_SEVERITY: dict[str, str] = {
    "greeting_missing": WARNING,
    "deadline_missing": ERROR,
    "evidence_missing": ERROR,
    "bureaucratese": WARNING,
    "legal_overload": WARNING,
    "personal_data": ERROR,
    "profanity": ERROR,
    "too_long": WARNING,
    "too_short": WARNING,
    "rating_request_after_refusal": WARNING,
    "spelling": WARNING,
}
CODES = tuple(DEFAULT_SEVERITY)

# The rule modules, in the order they run (the order of findings is by span anyway).
MODULES = (
    "greeting",
    "deadline",
    "evidence",
    "bureaucratese",
    "legal",
    "personal_data",
    "profanity",
    "length",
    "rating",
    "spelling",
)


@dataclass
class Finding:
    code: str
    severity: str
    message: str
    start: int = 0
    end: int = 0
    suggestion: str = ""

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass(frozen=True)
class Token:
    text: str
    start: int
    end: int

    @property
    def lower(self) -> str:
        return fold(self.text)

    @property
    def lemma(self) -> str:
        return lemma(self.lower)


_WORDISH = re.compile(r"\w")
# Quotes a citizen's or an act's words: «…», „…“, “…”, "…".
_QUOTE_RE = re.compile(r"«[^«»]*»|„[^„“”]*[“”]|“[^“”]*”|\"[^\"\n]*\"")


def fold(text: str) -> str:
    """Lowercase and ё → е, keeping every character at its offset (a lowercase that changes length is skipped)."""
    return "".join(ch if len(low := ch.lower()) != 1 else low for ch in text).replace("ё", "е")


@lru_cache(maxsize=100_000)
def parses(word: str) -> tuple[Any, ...]:
    """pymorphy3's parses of a lowercase word, cached (parsing is the slow part)."""
    return tuple(morph().parse(word))


@dataclass
class Context:
    """One draft and what the rules need of it, computed once."""

    text: str
    complaint: str = ""
    attachments: int = 0
    _memo: dict[str, Any] = field(default_factory=dict, repr=False)

    @cached_property
    def lower(self) -> str:
        """`text` lowercased with ё → е; same length, so offsets carry over."""
        return fold(self.text)

    @cached_property
    def tokens(self) -> list[Token]:
        """Word tokens (razdel) with their offsets; punctuation dropped."""
        return [Token(t.text, t.start, t.stop) for t in tokenize(self.text) if _WORDISH.search(t.text)]

    @cached_property
    def all_tokens(self) -> list[Token]:
        """Every razdel token, punctuation included (chains stop at a comma)."""
        return [Token(t.text, t.start, t.stop) for t in tokenize(self.text)]

    @cached_property
    def lemmas(self) -> list[str]:
        return [t.lemma for t in self.tokens]

    @cached_property
    def sentences(self) -> list[tuple[int, int]]:
        """(start, end) of each sentence (razdel)."""
        return [(s.start, s.stop) for s in sentenize(self.text)]

    @cached_property
    def quoted(self) -> list[tuple[int, int]]:
        """Spans inside quotes, the quote marks included."""
        return [(m.start(), m.end()) for m in _QUOTE_RE.finditer(self.text)]

    def in_quotes(self, start: int, end: int) -> bool:
        return any(qs <= start and end <= qe for qs, qe in self.quoted)

    def sentence_of(self, pos: int) -> tuple[int, int]:
        for start, end in self.sentences:
            if start <= pos < end:
                return start, end
        return 0, len(self.text)

    def sentence_starts(self) -> set[int]:
        """Offsets of the first word of each sentence (and of each line)."""
        starts = set()
        for start, _end in self.sentences:
            starts.add(start)
        for m in re.finditer(r"\n\s*", self.text):
            starts.add(m.end())
        return starts


def severity_for(code: str) -> str:
    overrides = getattr(settings, "OTKLIK_ANSWER_CHECK_SEVERITY", None) or {}
    value = overrides.get(code, DEFAULT_SEVERITY[code])
    return value if value in (ERROR, WARNING, OFF) else DEFAULT_SEVERITY[code]


def finding(code: str, message: str, start: int = 0, end: int = 0, suggestion: str = "") -> Finding:
    """A finding with the code's default severity (run_checks applies the settings)."""
    return Finding(code, DEFAULT_SEVERITY[code], str(message), start, end, suggestion)


@cache
def _rules() -> tuple[Callable[[Context], list[Finding]], ...]:
    return tuple(importlib.import_module(f"{__name__}.{name}").check for name in MODULES)


def run_checks(text: str, complaint: str = "", *, attachments: int = 0) -> list[Finding]:
    """Every rule on one draft: the findings sorted by start (then end, then code); codes set to "off" dropped."""
    ctx = Context(text=text or "", complaint=complaint or "", attachments=max(int(attachments or 0), 0))
    findings: list[Finding] = []
    for rule in _rules():
        for item in rule(ctx):
            severity = severity_for(item.code)
            if severity == OFF:
                continue
            item.severity = severity
            findings.append(item)
    findings.sort(key=lambda f: (f.start, f.end, f.code))
    return findings


def has_errors(findings: list[Finding]) -> bool:
    return any(f.severity == ERROR for f in findings)


def warm_up() -> None:
    """Load the dictionaries (the Russian hunspell dictionary takes ~3 s) so the first live check is fast."""
    from otklik.answers.checks import spelling

    spelling.hunspell()
    run_checks("Здравствуйте! Проверка словаря.")
