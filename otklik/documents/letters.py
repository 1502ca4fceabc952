"""Letter drafts from editable templates (issue 8): a request for information to a department, a notice of an overdue
assignment to the department head, a summary to the deputy head of the city.

A template's text holds variables `{{ name }}`; each kind allows its own set (`VARIABLES`). The substitution is a
plain regular expression, not the Django template language: the head edits the text, and a letter must not be able
to reach anything but the listed facts. An unknown variable is a form error when the template is saved.
The DOCX: the letterhead, the date and a number placeholder, the addressee (right), the subject, the body, the
signature of the head of the service.
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass
from typing import TYPE_CHECKING

from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from docx.enum.text import WD_ALIGN_PARAGRAPH
from docx.shared import Pt

from otklik.accounts.choices import Role
from otklik.accounts.models import User
from otklik.cases.models import Assignment
from otklik.documents.choices import LetterKind
from otklik.documents.docx_utils import letterhead, start_document, to_bytes
from otklik.documents.models import LetterTemplate
from otklik.intake.choices import Channel

if TYPE_CHECKING:
    from otklik.stats.selectors import StatsFilters

VARIABLE_RE = re.compile(r"\{\{\s*([A-Za-z_][A-Za-z0-9_]*)\s*\}\}")

_COMMON = {
    "city": gettext_lazy("the city's name"),
    "today": gettext_lazy("today's date"),
    "service_head": gettext_lazy("the head of the feedback service"),
}
_ASSIGNMENT = {
    "department": gettext_lazy("the department"),
    "head": gettext_lazy("the head of the department"),
    "incident": gettext_lazy("the incident: number, topic and address"),
    "request": gettext_lazy("what the service asks"),
    "due": gettext_lazy("the due time"),
    "topic": gettext_lazy("the topic"),
    "address": gettext_lazy("the address"),
}
#: kind → variable → what it holds (shown next to the editor).
VARIABLES: dict[str, dict[str, object]] = {
    LetterKind.INFO_REQUEST: {**_COMMON, **_ASSIGNMENT},
    LetterKind.OVERDUE_NOTICE: {**_COMMON, **_ASSIGNMENT, "overdue": gettext_lazy("how long it is overdue")},
    LetterKind.SUMMARY_DEPUTY: {
        **_COMMON,
        "period": gettext_lazy("the period"),
        "figures": gettext_lazy("the figures of the period"),
        "deputy": gettext_lazy("the deputy head of the city"),
    },
}

# Letters are official Russian documents: their default texts are data (the head edits them), not UI strings.
DEFAULTS: dict[str, tuple[str, str, str]] = {
    LetterKind.INFO_REQUEST: (
        "Запрос информации в подразделение",
        "О предоставлении информации по обращению {{ incident }}",
        "Уважаемый(ая) {{ head }}!\n\n"
        "В Службу обратной связи поступило обращение жителей: {{ incident }}.\n\n"
        "Просим предоставить информацию: {{ request }}\n\n"
        "Срок предоставления информации — до {{ due }}. Информацию направьте через систему «Отклик».",
    ),
    LetterKind.OVERDUE_NOTICE: (
        "Уведомление о просрочке поручения",
        "О просроченном поручении по обращению {{ incident }}",
        "Уважаемый(ая) {{ head }}!\n\n"
        "Сообщаем, что {{ department }} не предоставил(о) информацию по обращению {{ incident }} "
        "в установленный срок — до {{ due }} (просрочка: {{ overdue }}).\n\n"
        "Запрошено: {{ request }}\n\n"
        "Просим обеспечить предоставление информации незамедлительно и принять меры к недопущению нарушения сроков.",
    ),
    LetterKind.SUMMARY_DEPUTY: (
        "Сводка заместителю главы города",
        "О работе с сообщениями жителей за {{ period }}",
        "Уважаемый(ая) {{ deputy }}!\n\n"
        "Направляем сводку о работе с сообщениями жителей в социальных сетях за {{ period }}.\n\n"
        "{{ figures }}\n\n"
        "Подробная информационная справка доступна на панели показателей системы «Отклик».",
    ),
}


def variables_in(text: str) -> list[str]:
    return [m.group(1) for m in VARIABLE_RE.finditer(text)]


def unknown_variables(kind: str, text: str) -> list[str]:
    allowed = VARIABLES.get(kind, {})
    return sorted({name for name in variables_in(text) if name not in allowed})


def fill(text: str, values: dict[str, str]) -> str:
    """Substitute the variables; one without a value becomes «—» (an unknown one is kept as written)."""

    def replace(match: re.Match[str]) -> str:
        name = match.group(1)
        if name in values:
            return values[name] or "—"
        return match.group(0)

    return VARIABLE_RE.sub(replace, text)


def ensure_templates() -> int:
    """Create the missing default templates (idempotent; never overwrites the head's edits); → how many created."""
    created = 0
    for kind, (name, subject, body) in DEFAULTS.items():
        _obj, was_created = LetterTemplate.objects.get_or_create(
            kind=kind, defaults={"name": name, "subject": subject, "body": body}
        )
        created += int(was_created)
    return created


def get_template(kind: str) -> LetterTemplate:
    template = LetterTemplate.objects.filter(kind=kind).first()
    if template is None:
        ensure_templates()
        template = LetterTemplate.objects.get(kind=kind)
    return template


def _local(moment: dt.datetime | None) -> str:
    return timezone.localtime(moment).strftime("%d.%m.%Y %H:%M") if moment else ""


def service_head() -> User | None:
    return User.objects.filter(role=Role.HEAD, is_active=True).order_by("pk").first()


def department_head(department_id: int) -> User | None:
    return User.objects.filter(role=Role.DEPT_HEAD, department_id=department_id, is_active=True).order_by("pk").first()


def _common() -> dict[str, str]:
    from otklik.documents.docx_utils import city_name

    head = service_head()
    return {
        "city": city_name(),
        "today": timezone.localdate().strftime("%d.%m.%Y"),
        "service_head": head.display_name if head else "",
    }


def _overdue(due: dt.datetime | None, now: dt.datetime) -> str:
    if not due or due >= now:
        return ""
    hours = int((now - due).total_seconds() // 3600)
    days, hours = divmod(hours, 24)
    return _("%(days)s d %(hours)s h") % {"days": days, "hours": hours} if days else _("%(hours)s h") % {"hours": hours}


def assignment_values(assignment: Assignment) -> dict[str, str]:
    incident = assignment.incident
    head = department_head(assignment.department_id)
    described = [f"№{incident.pk}"]
    if incident.topic_id:
        described.append(f"«{incident.topic}»")
    if incident.address:
        described.append(incident.address)
    return {
        **_common(),
        "department": assignment.department.name,
        "head": head.display_name if head else "",
        "incident": ", ".join(described),
        "request": assignment.request,
        "due": _local(assignment.due_at),
        "topic": str(incident.topic) if incident.topic_id else "",
        "address": incident.address,
        "overdue": _overdue(assignment.due_at, timezone.now()),
    }


@dataclass
class Letter:
    kind: str
    subject: str
    body: str
    addressee: list[str]
    filename: str


def letter_for_assignment(kind: str, assignment: Assignment) -> Letter:
    template = get_template(kind)
    values = assignment_values(assignment)
    addressee = [_("To the head of %(department)s") % {"department": values["department"]}]
    if values["head"]:
        addressee.append(values["head"])
    return Letter(
        kind=kind,
        subject=fill(template.subject, values),
        body=fill(template.body, values),
        addressee=addressee,
        filename=f"{kind.replace('_', '-')}-{assignment.incident_id}-{assignment.pk}.docx",
    )


def summary_values(
    start: dt.date, end: dt.date, deputy: str = "", filters: StatsFilters | None = None
) -> dict[str, str]:
    """The letter's values; the figures by the dashboard's rules under `filters` (group, department, source)."""
    from otklik.stats.selectors import StatsFilters, compute_stats  # noqa: PLC0415 - app boundary

    filters = filters or StatsFilters()
    stats = compute_stats(start, end, filters)

    def percent(value: float | None) -> str:
        return "—" if value is None else f"{round(value * 100)} %"

    scope = []
    if filters.group is not None:
        scope.append(_("group: %(name)s") % {"name": filters.group.name})
    if filters.department is not None:
        scope.append(_("department: %(name)s") % {"name": filters.department.name})
    if filters.channel:
        scope.append(_("source: %(name)s") % {"name": Channel(filters.channel).label})
    lines = [_("Figures only for %(scope)s.") % {"scope": "; ".join(scope)}] if scope else []
    lines += [
        _("Posts received: %(n)s") % {"n": stats.posts},
        _("Incidents: %(n)s") % {"n": stats.incidents},
        _("Answered: %(n)s") % {"n": stats.answered},
        _("Answered on time: %(share)s") % {"share": percent(stats.on_time_share)},
        _("Overdue now: %(n)s") % {"n": stats.overdue_now},
        _("Reopened: %(share)s") % {"share": percent(stats.reopened_share)},
        _("Returned to departments for rework: %(share)s") % {"share": percent(stats.rework_share)},
        _("Negative posts: %(share)s") % {"share": percent(stats.negative_share)},
    ]
    worst = sorted(
        (r for r in stats.by_department if r.on_time_share is not None), key=lambda r: (r.on_time_share, -r.assignments)
    )[:3]
    for row in worst:
        lines.append(
            _("%(department)s: %(n)s assignments, on time %(share)s")
            % {"department": row.department, "n": row.assignments, "share": percent(row.on_time_share)}
        )
    period = f"{start.strftime('%d.%m.%Y')} — {end.strftime('%d.%m.%Y')}"
    return {**_common(), "period": period, "figures": "\n".join(lines), "deputy": deputy}


def summary_letter(start: dt.date, end: dt.date, deputy: str = "", filters: StatsFilters | None = None) -> Letter:
    template = get_template(LetterKind.SUMMARY_DEPUTY)
    values = summary_values(start, end, deputy, filters)
    addressee = [_("To the deputy head of the city")]
    if deputy:
        addressee.append(deputy)
    return Letter(
        kind=LetterKind.SUMMARY_DEPUTY,
        subject=fill(template.subject, values),
        body=fill(template.body, values),
        addressee=addressee,
        filename=f"summary-{start.isoformat()}-{end.isoformat()}.docx",
    )


def sample_values(kind: str) -> dict[str, str]:
    """Example values for the preview of a template."""
    values = {name: f"[{label}]" for name, label in VARIABLES.get(kind, {}).items()}
    values.update(_common())
    return values


def render_docx(letter: Letter) -> bytes:
    document = start_document()
    letterhead(document)
    dated = document.add_paragraph(_("%(date)s № ________") % {"date": timezone.localdate().strftime("%d.%m.%Y")})
    dated.paragraph_format.space_after = Pt(12)
    for line in letter.addressee:
        paragraph = document.add_paragraph(line)
        paragraph.alignment = WD_ALIGN_PARAGRAPH.RIGHT
        paragraph.paragraph_format.space_after = Pt(0)
    document.add_paragraph()
    if letter.subject:
        title = document.add_paragraph()
        title.alignment = WD_ALIGN_PARAGRAPH.CENTER
        title.add_run(letter.subject).bold = True
    for block in letter.body.split("\n\n"):
        if block.strip():
            paragraph = document.add_paragraph()
            lines = block.strip().split("\n")
            for index, line in enumerate(lines):
                run = paragraph.add_run(line)
                if index < len(lines) - 1:
                    run.add_break()
    document.add_paragraph()
    head = service_head()
    signature = document.add_paragraph(_("Head of the feedback service"))
    signature.add_run("\t\t\t_____________ ")
    signature.add_run(head.display_name if head else "")
    return to_bytes(document)
