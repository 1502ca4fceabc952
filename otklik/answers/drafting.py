"""Drafting answers from templates (otklik.answers.models.AnswerTemplate).

Interface used by the card's editor (otklik.cases.views.card):
    draft_texts(incident, *, posts, lead_info, lead_name) -> {kind: text}
One first text per kind of answer.

1. For each kind the most specific active template wins: one for the incident's topic, then one for its group
   (and no topic), then a general one (neither). Among equally specific templates the first by name (then id).
2. Its `{{ variable }}` placeholders are filled from the incident (`incident_context`) by `render_template`, a
   tiny renderer of our own: a template is text written by people, never code run by the Django template engine.
3. A kind without a template keeps its built-in text (`builtin_texts`).

A variable the drafter cannot fill (no promised date yet, no accepted information) becomes a bracketed marker
(«[дата]») the operator must replace; the quality checks flag the missing date meanwhile. An empty name of the
citizen disappears with the comma before it: «Здравствуйте, {{ citizen }}!» → «Здравствуйте!».
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Iterable, Mapping
from typing import TYPE_CHECKING, Any

from django.conf import settings
from django.db.models import Q
from django.utils import timezone
from django.utils.functional import Promise
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from otklik.answers.choices import AnswerKind

if TYPE_CHECKING:
    from otklik.answers.models import AnswerTemplate
    from otklik.cases.models import Incident
    from otklik.intake.models import Post

DATE_FORMAT = "%d.%m.%Y"

# name → what it stands for (the editor's help); the order is the order of the help.
VARIABLES: dict[str, Promise] = {
    "citizen": gettext_lazy(
        "the citizen's name as written by the author of the first post (only the first name of «Name Surname»)"
    ),
    "address": gettext_lazy("the address of the incident"),
    "department": gettext_lazy("the lead department"),
    "deadline": gettext_lazy("the date by which the service answers (dd.mm.yyyy)"),
    "promised_date": gettext_lazy("the date promised in the intermediate answer (dd.mm.yyyy)"),
    "information": gettext_lazy("the lead department's accepted information"),
    "topic": gettext_lazy("the topic of the incident"),
    "number": gettext_lazy("the number of the incident"),
    "contacts": gettext_lazy("the service's contacts (setting OTKLIK_SERVICE_CONTACTS)"),
    "today": gettext_lazy("today's date (dd.mm.yyyy)"),
}

# `{{ name }}` with any spaces inside the braces.
PLACEHOLDER_RE = re.compile(r"\{\{\s*([^{}]*?)\s*\}\}")
_EMPTY = "\x00"


def template_variables() -> dict[str, str]:
    """Variable name → its description, for the editor's help."""
    return {name: str(description) for name, description in VARIABLES.items()}


def variables_used(text: str) -> list[str]:
    """The names of the placeholders in `text`, in order of first appearance (unknown names included)."""
    return list(dict.fromkeys(m.group(1) for m in PLACEHOLDER_RE.finditer(text or "")))


def unknown_variables(text: str) -> list[str]:
    return [name for name in variables_used(text) if name not in VARIABLES]


def template_errors(text: str) -> list[str]:
    """What is wrong with a template's text, in words the head of the service understands ([] when fine).

    1. An unknown variable (a typo, a Django-style filter) — named, with the list of the known ones.
    2. Braces left over once the placeholders are taken out: «{{ citizen » or «{ citizen }».
    3. Django template tags «{% … %}»: not supported (templates are plain text with variables).
    """
    text = text or ""
    errors: list[str] = []
    known = ", ".join(f"{{{{ {name} }}}}" for name in VARIABLES)
    for name in unknown_variables(text):
        errors.append(
            _("Unknown variable %(variable)s: use one of %(known)s.")
            % {"variable": f"{{{{ {name or '…'} }}}}", "known": known}
        )
    rest = PLACEHOLDER_RE.sub("", text)
    if "{%" in rest or "%}" in rest:
        errors.append(
            _("Template tags %(tag)s are not supported: write plain text with variables like %(example)s.")
            % {"tag": "{% … %}", "example": "{{ citizen }}"}
        )
    elif "{" in rest or "}" in rest:
        errors.append(
            _("Unpaired braces: a variable is written as %(example)s, two braces on each side.")
            % {"example": "{{ citizen }}"}
        )
    return errors


def render_template(text: str, context: Mapping[str, Any]) -> str:
    """`text` with each known `{{ name }}` replaced by `context[name]` (missing → empty); unknown ones stay as
    written. Pure string substitution: nothing in `text` or in the values is interpreted.

    An empty value takes the comma before it away when punctuation follows («Здравствуйте, {{ citizen }}!» →
    «Здравствуйте!») and leaves a single space between words.
    """

    def replace(match: re.Match[str]) -> str:
        name = match.group(1)
        if name not in VARIABLES:
            return match.group(0)
        value = context.get(name)
        value = "" if value is None else str(value)
        return value if value.strip() else _EMPTY

    out = PLACEHOLDER_RE.sub(replace, text or "")
    if _EMPTY not in out:
        return out
    out = re.sub(r"[ \t]*,[ \t]*" + _EMPTY + r"(?=[ \t]*[!.?,;:])", "", out)
    out = re.sub(r"([ \t]*)" + _EMPTY + r"([ \t]*)", lambda m: " " if m.group(1) and m.group(2) else "", out)
    return out


# --- the context of an incident ---------------------------------------------------------------------------


def first_name(author: str) -> str:
    """«Иван Петров» → «Иван»; a nickname or a single name stays as written."""
    words = (author or "").split()
    return words[0] if len(words) == 2 else (author or "").strip()


def format_date(value: dt.date | dt.datetime | None) -> str:
    if value is None:
        return ""
    if isinstance(value, dt.datetime):
        value = timezone.localdate(value) if timezone.is_aware(value) else value.date()
    return value.strftime(DATE_FORMAT)


def missing_markers() -> dict[str, str]:
    """What stands in for a value the drafter does not have: the operator sees what to fill in."""
    return {
        "address": _("[address]"),
        "department": _("[department]"),
        "deadline": _("[date]"),
        "promised_date": _("[date]"),
        "information": _("[what was done: the department's information]"),
    }


def _promised_date(incident: Incident) -> dt.date | None:
    """The promised date of the latest intermediate answer (published first, then any other) of the incident."""
    from otklik.answers.choices import AnswerStatus

    intermediate = [
        a for a in incident.answers.all() if a.kind == AnswerKind.INTERMEDIATE and a.promised_date is not None
    ]
    if not intermediate:
        return None
    published = [a for a in intermediate if a.status == AnswerStatus.PUBLISHED]
    latest = max(published or intermediate, key=lambda a: (a.created_at, a.pk))
    return latest.promised_date


def incident_context(
    incident: Incident, *, posts: list[Post], lead_info: str, lead_name: str, markers: bool = True
) -> dict[str, str]:
    """The values of the variables for one incident (`markers`: brackets for what is unknown, else empty)."""
    author = posts[0].author_name if posts else ""
    topic = incident.topic.name if incident.topic_id and incident.topic else ""
    values = {
        "citizen": first_name(author),
        "address": incident.address.strip(),
        "department": (lead_name or "").strip(),
        "deadline": format_date(incident.due_at),
        "promised_date": format_date(_promised_date(incident)),
        "information": (lead_info or "").strip(),
        "topic": topic,
        "number": str(incident.pk or ""),
        "contacts": str(getattr(settings, "OTKLIK_SERVICE_CONTACTS", "") or "").strip(),
        "today": format_date(timezone.localdate()),
    }
    if markers:
        for name, marker in missing_markers().items():
            if not values[name]:
                values[name] = marker
    return values


def incident_group_id(incident: Incident) -> int | None:
    if incident.group_id:
        return incident.group_id
    if incident.topic_id and incident.topic is not None:
        return incident.topic.group_id
    return None


def pick_templates(
    templates: Iterable[AnswerTemplate], *, topic_id: int | None, group_id: int | None
) -> dict[str, Any]:
    """The most specific template per kind among `templates` (active ones, already filtered or not)."""

    def rank(t: AnswerTemplate) -> int | None:
        if t.topic_id is not None:
            return 0 if topic_id is not None and t.topic_id == topic_id else None
        if t.group_id is not None:
            return 1 if group_id is not None and t.group_id == group_id else None
        return 2

    best: dict[str, tuple[tuple[int, str, int], AnswerTemplate]] = {}
    for t in templates:
        if not t.is_active:
            continue
        r = rank(t)
        if r is None:
            continue
        key = (r, t.name.casefold(), t.pk or 0)
        if t.kind not in best or key < best[t.kind][0]:
            best[t.kind] = (key, t)
    return {kind: item[1] for kind, item in best.items()}


def choose_templates(incident: Incident) -> dict[str, AnswerTemplate]:
    """The template each kind of answer of `incident` is drafted from (a kind without one is absent). One query."""
    from otklik.answers.models import AnswerTemplate

    topic_id = incident.topic_id
    group_id = incident_group_id(incident)
    condition = Q(topic__isnull=True, group__isnull=True)
    if group_id is not None:
        condition |= Q(topic__isnull=True, group_id=group_id)
    if topic_id is not None:
        condition |= Q(topic_id=topic_id)
    candidates = AnswerTemplate.objects.filter(condition, is_active=True)
    return pick_templates(candidates, topic_id=topic_id, group_id=group_id)


def builtin_texts(posts: list[Post], lead_info: str, lead_name: str) -> dict[str, str]:
    """A first text for each kind of answer: the citizen's name and the lead department's accepted information.

    The fallback of a kind that has no template (`draft_texts`).
    """
    name = first_name(posts[0].author_name) if posts and posts[0].author_name else ""
    greeting = _("Hello, %(name)s!") % {"name": name} if name else _("Hello!")
    thanks = _("Thank you for your message.")
    info = lead_info.strip()
    department = lead_name or _("the responsible department")
    return {
        AnswerKind.PRIMARY: " ".join(
            [
                greeting,
                thanks,
                _("We have passed it to %(department)s and will answer here as soon as we have the details.")
                % {"department": department},
            ]
        ),
        AnswerKind.INTERMEDIATE: " ".join(
            p
            for p in [
                greeting,
                thanks,
                info,
                _("The work is planned; we will report the result by the promised date."),
            ]
            if p
        ),
        AnswerKind.FINAL: " ".join(p for p in [greeting, thanks, info] if p),
        AnswerKind.REFUSAL: " ".join(
            [
                greeting,
                thanks,
                _("Unfortunately, this question is outside the competence of the city administration."),
            ]
        ),
    }


def draft_texts(incident: Incident, *, posts: list[Post], lead_info: str, lead_name: str) -> dict[str, str]:
    texts: dict[str, str] = dict(builtin_texts(posts, lead_info, lead_name))
    chosen = choose_templates(incident)
    if chosen:
        context = incident_context(incident, posts=posts, lead_info=lead_info, lead_name=lead_name)
        for kind, template in chosen.items():
            texts[AnswerKind(kind)] = render_template(template.text, context)
    return texts


# --- a sample incident for the editor's preview and the tests ---------------------------------------------


def sample_context(kind: str = AnswerKind.FINAL) -> dict[str, str]:
    """Believable values of every variable: the preview without a real incident, and the templates' tests.

    The department's information fits the kind: work done for most kinds, the reason for a refusal.
    """
    today = timezone.localdate()
    if kind == AnswerKind.REFUSAL:
        information = (
            "Этот дом обслуживает товарищество собственников жилья, поэтому ремонт трубы решает его правление."
        )
    elif kind == AnswerKind.INTERMEDIATE:
        information = "Управляющая компания нашла утечку в подвале и заказала новую трубу."
    else:
        information = (
            "Управляющая компания сообщила: участок трубы в подвале заменили, горячая вода в доме есть с "
            f"{format_date(today - dt.timedelta(days=1))}."
        )
    return {
        "citizen": "Анна",
        "address": "ул. Ленина, 5",
        "department": "Департамент ЖКХ",
        "deadline": format_date(today + dt.timedelta(days=3)),
        "promised_date": format_date(today + dt.timedelta(days=14)),
        "information": information,
        "topic": "Отсутствие горячей воды",
        "number": "1024",
        "contacts": str(getattr(settings, "OTKLIK_SERVICE_CONTACTS", "") or "").strip(),
        "today": format_date(today),
    }


SAMPLE_COMPLAINT = "Третий день нет горячей воды на улице Ленина 5, когда дадут?"
