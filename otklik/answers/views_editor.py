"""The answer editor's live parts on the incident card (HTMX partials; the service only):

- `POST /incidents/<pk>/answers/check/` — the quality checks of the text being typed (`text`, from the editor's
  form), against the incident's complaint: the findings with their messages and suggestions, and the text with
  each finding's span marked. Nothing is stored.
- `GET /incidents/<pk>/answers/similar/` — «Похожие ответы»: published answers of other incidents about the
  same problem (otklik.answers.similar), each with a button that inserts its text into the editor.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, cast

from django.shortcuts import get_object_or_404, render
from django.utils.html import escape, format_html
from django.utils.safestring import SafeString, mark_safe
from django.views.decorators.http import require_GET, require_POST

from otklik.answers.checks import ERROR, WARNING, Finding, run_checks
from otklik.answers.services import acts_as_head, attachment_count, complaint_text
from otklik.answers.similar import similar_answers
from otklik.cases.models import Incident
from otklik.cases.selectors import visible_incidents
from otklik.core.decorators import service_required

if TYPE_CHECKING:
    from django.http import HttpRequest, HttpResponse

    from otklik.accounts.models import User

#: The longest text checked live (the API's limit); the rest is not looked at.
MAX_CHARS = 20_000
_RANK = {ERROR: 2, WARNING: 1}


@dataclass(frozen=True)
class Segment:
    """A piece of the text between two span boundaries and the findings that cover it."""

    text: str
    findings: tuple[Finding, ...]


def segments(text: str, findings: list[Finding]) -> list[Segment]:
    """Cut `text` at every finding's start and end: each piece is covered by a fixed set of findings.

    Overlapping and nested spans need nothing special: a piece covered by two findings lists both. Spans are
    clamped to the text; empty spans (something missing) mark nothing.
    """
    spans = []
    for item in findings:
        start, end = max(0, min(item.start, len(text))), max(0, min(item.end, len(text)))
        if start < end:
            spans.append((start, end, item))
    cuts = sorted({0, len(text), *(s for s, _e, _f in spans), *(e for _s, e, _f in spans)})
    result = []
    for left, right in zip(cuts, cuts[1:], strict=False):
        covering = tuple(f for s, e, f in spans if s <= left and right <= e)
        result.append(Segment(text[left:right], covering))
    return result


def highlight(text: str, findings: list[Finding]) -> SafeString:
    """The text, escaped, with each finding's span in `<mark class="finding finding-<severity>" data-code=…>`.

    A piece covered by several findings is one mark: the most severe one's class, every code and message.
    """
    parts = []
    for piece in segments(text, findings):
        if not piece.findings:
            parts.append(escape(piece.text))
            continue
        worst = max(piece.findings, key=lambda f: _RANK.get(f.severity, 0))
        codes = " ".join(dict.fromkeys(f.code for f in piece.findings))
        title = " · ".join(dict.fromkeys(f.message for f in piece.findings))
        parts.append(
            format_html(
                '<mark class="finding finding-{}" data-code="{}" title="{}">{}</mark>',
                worst.severity,
                codes,
                title,
                piece.text,
            )
        )
    return mark_safe("".join(parts))  # noqa: S308 - every piece is escaped above


def _incident(request: HttpRequest, pk: int) -> Incident:
    return get_object_or_404(visible_incidents(cast("User", request.user)), pk=pk)


def _quote(text: str, item: Finding) -> str:
    """The flagged words to show before the message, unless the message quotes them already."""
    quote = text[item.start : item.end].strip()[:80]
    return "" if not quote or quote in item.message else quote


@service_required
@require_POST
def check_answer(request: HttpRequest, pk: int) -> HttpResponse:
    incident = _incident(request, pk)
    text = request.POST.get("text", "")[:MAX_CHARS]
    # The same complaint and evidence as the publishing gate (otklik.answers.services): the same verdict.
    findings = (
        run_checks(text, complaint_text(incident), attachments=attachment_count(incident)) if text.strip() else []
    )
    errors = sum(1 for f in findings if f.severity == ERROR)
    context = {
        "incident": incident,
        "text": text,
        "findings": findings,
        "items": [{"finding": f, "quote": _quote(text, f)} for f in findings],
        "highlighted": highlight(text, findings),
        "marked": any(f.start < f.end for f in findings),
        "errors": errors,
        "warnings": len(findings) - errors,
        "is_head": acts_as_head(cast("User", request.user)),
        "empty": not text.strip(),
    }
    return render(request, "answers/_editor_findings.html", context)


@service_required
@require_GET
def similar(request: HttpRequest, pk: int) -> HttpResponse:
    incident = _incident(request, pk)
    return render(
        request,
        "answers/_editor_similar.html",
        {"incident": incident, "similar": similar_answers(incident)},
    )
