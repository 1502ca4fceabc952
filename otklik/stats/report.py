"""The «Информационная справка о работе с сообщениями» for the director: one period, DOCX or XLSX (docs/STATS.md).

`build_report(start, end, filters)` gathers the content; `render_docx` / `render_xlsx` write it. The content:

1. **Figures** — exactly `compute_stats` (the dashboard's and the API's figures).
2. **Departments** — per department (the scorecard's rows): assignments, on time %, rework %, not competent %, and
   the median time to information: working hours (the city's calendar) from the assignment's creation to its
   (last) submission, over the period's assignments that were submitted.
3. **Top problems** — the topics with most incidents of the period (`TOP_PROBLEMS`), each with up to `EXAMPLES`
   example posts (the first post of the newest incidents), personal data masked (`mask_personal_data`).
4. **Spikes** of the period (`otklik.nlp.spikes`): the spikes that were active at some time in the period
   (city-wide: the filters do not apply to spikes).
5. **Overdue now** — the open incidents past their due time now (the dashboard's `overdue_now`, the same rows),
   each with the responsible department: the department whose assignment is waiting past its due time, else the
   lead department, else the feedback service itself.
6. **Proposals** — rules with thresholds (`Thresholds`), each citing its numbers: departments with most rework,
   topics whose answers get reopened, places that keep coming back, departments late most often.
"""

from __future__ import annotations

import datetime as dt
import io
from collections import defaultdict
from dataclasses import dataclass, field
from typing import Any

from django.db.models import Count, Exists, OuterRef, Q
from django.utils import timezone
from django.utils.formats import date_format
from django.utils.translation import gettext as _

from otklik.cases.choices import AssignmentStatus, EventVerb
from otklik.cases.models import Assignment, Event
from otklik.core.worktime import city_zone, get_calendar
from otklik.documents.masking import mask_personal_data
from otklik.intake.models import Post
from otklik.nlp.models import Spike
from otklik.sla.scorecard import period_bounds
from otklik.stats.selectors import (
    Stats,
    StatsFilters,
    assignments_in_period,
    compute_stats,
    incidents_in_period,
    overdue_incidents,
    percentile,
    share,
)

TOP_PROBLEMS = 5
EXAMPLES = 2
EXAMPLE_CHARS = 400
FORMATS = ("docx", "xlsx")
CONTENT_TYPES = {
    "docx": "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
    "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
}
WAITING = (AssignmentStatus.SENT, AssignmentStatus.REWORK)


@dataclass(frozen=True)
class Thresholds:
    """When a proposal is made (every rule needs both its share and its minimum count)."""

    rework_share: float = 0.2  # a department: at least this share of its assignments returned for rework …
    rework_min_assignments: int = 2  # … of at least this many assignments
    reopened_share: float = 0.2  # a topic: at least this share of its answered incidents reopened …
    reopened_min: int = 1  # … and at least this many reopened
    address_min_incidents: int = 2  # an address with at least this many incidents keeps coming back
    territory_min_incidents: int = 5  # a territory (microdistrict) with at least this many
    late_share: float = 0.2  # a department: at least this share of its judged assignments late …
    late_min_judged: int = 2  # … of at least this many judged


# --- the content ---------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Figure:
    key: str
    label: str
    value: float | int | None
    kind: str  # count, share, hours


@dataclass(frozen=True)
class DepartmentLine:
    department_id: int
    department: str
    assignments: int
    on_time_share: float | None
    rework: int
    rework_share: float | None
    declined: int
    not_competent_share: float | None
    judged: int
    late: int
    information_median_hours: float | None


@dataclass(frozen=True)
class Problem:
    topic_id: int
    topic: str
    group: str
    incidents: int
    examples: list[str]


@dataclass(frozen=True)
class SpikeLine:
    kind: str
    key: str
    window: str
    count: int
    baseline: float
    detected_at: dt.datetime
    active: bool


@dataclass(frozen=True)
class OverdueLine:
    incident_id: int
    topic: str
    address: str
    due_at: dt.datetime
    overdue_hours: float  # calendar hours past due, now
    department: str


@dataclass(frozen=True)
class Proposal:
    rule: str  # rework, reopened, place, late
    subject: str
    numbers: dict[str, Any]
    text: str


@dataclass
class Report:
    start: dt.date
    end: dt.date
    filters: StatsFilters
    now: dt.datetime
    stats: Stats
    figures: list[Figure] = field(default_factory=list)
    departments: list[DepartmentLine] = field(default_factory=list)
    problems: list[Problem] = field(default_factory=list)
    spikes: list[SpikeLine] = field(default_factory=list)
    overdue: list[OverdueLine] = field(default_factory=list)
    proposals: list[Proposal] = field(default_factory=list)

    @property
    def title(self) -> str:
        return _("Information note on the work with messages")

    @property
    def period_label(self) -> str:
        return _("Period: %(start)s — %(end)s") % {
            "start": date_format(self.start, "d.m.Y"),
            "end": date_format(self.end, "d.m.Y"),
        }

    @property
    def filters_label(self) -> str:
        parts = []
        if self.filters.group is not None:
            parts.append(_("group: %(name)s") % {"name": self.filters.group.name})
        if self.filters.department is not None:
            parts.append(_("lead department: %(name)s") % {"name": self.filters.department.name})
        if self.filters.channel:
            parts.append(_("source: %(name)s") % {"name": self.filters.channel})
        return "; ".join(parts)

    def filename(self, fmt: str) -> str:
        return f"spravka-{self.start.isoformat()}-{self.end.isoformat()}.{fmt}"


def build_report(
    start: dt.date,
    end: dt.date,
    filters: StatsFilters | None = None,
    *,
    now: dt.datetime | None = None,
    thresholds: Thresholds | None = None,
) -> Report:
    filters = filters or StatsFilters()
    now = now or timezone.now()
    stats = compute_stats(start, end, filters, now=now)
    report = Report(start=start, end=end, filters=filters, now=now, stats=stats)
    report.figures = figures(stats)
    report.departments = _departments(stats)
    report.problems = _problems(start, end, filters)
    report.spikes = _spikes(start, end)
    report.overdue = _overdue(filters, now)
    report.proposals = proposals(report, thresholds or Thresholds())
    return report


def figures(stats: Stats) -> list[Figure]:
    first, final = stats.first_answer, stats.final_answer
    return [
        Figure("posts", _("Posts received"), stats.posts, "count"),
        Figure("incidents", _("Incidents"), stats.incidents, "count"),
        Figure("answered", _("Answered"), stats.answered, "count"),
        Figure("on_time_share", _("On time"), stats.on_time_share, "share"),
        Figure("first_answer_median_hours", _("First answer, median, working h"), first.median_hours, "hours"),
        Figure("first_answer_p90_hours", _("First answer, 90th percentile, working h"), first.p90_hours, "hours"),
        Figure(
            "first_answer_median_calendar_hours",
            _("First answer, median, calendar h"),
            first.median_calendar_hours,
            "hours",
        ),
        Figure(
            "first_answer_p90_calendar_hours",
            _("First answer, 90th percentile, calendar h"),
            first.p90_calendar_hours,
            "hours",
        ),
        Figure("final_answer_median_hours", _("Final answer, median, working h"), final.median_hours, "hours"),
        Figure("final_answer_p90_hours", _("Final answer, 90th percentile, working h"), final.p90_hours, "hours"),
        Figure(
            "final_answer_median_calendar_hours",
            _("Final answer, median, calendar h"),
            final.median_calendar_hours,
            "hours",
        ),
        Figure(
            "final_answer_p90_calendar_hours",
            _("Final answer, 90th percentile, calendar h"),
            final.p90_calendar_hours,
            "hours",
        ),
        Figure("overdue_now", _("Overdue now"), stats.overdue_now, "count"),
        Figure("satisfied_share", _("Satisfied"), stats.satisfied_share, "share"),
        Figure("reopened_share", _("Reopened"), stats.reopened_share, "share"),
        Figure("rework_share", _("Returned for rework"), stats.rework_share, "share"),
        Figure("not_competent_share", _("Not our competence"), stats.not_competent_share, "share"),
        Figure("negative_share", _("Negative posts"), stats.negative_share, "share"),
    ]


def _departments(stats: Stats) -> list[DepartmentLine]:
    calendar = get_calendar()
    hours: dict[int, list[float]] = defaultdict(list)
    for department_id, created, submitted in (
        assignments_in_period(stats.start, stats.end, stats.filters)
        .filter(submitted_at__isnull=False)
        .values_list("department_id", "created_at", "submitted_at")
    ):
        if submitted is not None:  # filtered by the query; for the type checker
            hours[department_id].append(calendar.between(created, submitted).total_seconds() / 3600)
    return [
        DepartmentLine(
            department_id=row.department_id,
            department=row.department,
            assignments=row.assignments,
            on_time_share=row.on_time_share,
            rework=row.rework,
            rework_share=row.rework_share,
            declined=row.declined,
            not_competent_share=row.declined_share,
            judged=row.judged,
            late=row.judged - row.on_time,
            information_median_hours=percentile(hours.get(row.department_id, []), 0.5),
        )
        for row in stats.by_department
    ]


def _problems(start: dt.date, end: dt.date, filters: StatsFilters) -> list[Problem]:
    incidents = incidents_in_period(start, end, filters).filter(topic__isnull=False)
    top = list(
        incidents.values("topic_id", "topic__name", "topic__group__name")
        .annotate(n=Count("pk"))
        .order_by("-n", "topic__name")[:TOP_PROBLEMS]
    )
    examples: dict[int, list[str]] = defaultdict(list)
    seen: set[int] = set()
    posts = (
        Post.objects.filter(incident__in=incidents.filter(topic_id__in=[row["topic_id"] for row in top]))
        .order_by("-incident__created_at", "-incident_id", "posted_at", "pk")
        .values_list("incident_id", "incident__topic_id", "text")
    )
    for incident_id, topic_id, text in posts.iterator():
        if incident_id in seen or len(examples[topic_id]) >= EXAMPLES:
            continue
        seen.add(incident_id)
        masked = mask_personal_data(" ".join(text.split()))
        if len(masked) > EXAMPLE_CHARS:
            masked = masked[: EXAMPLE_CHARS - 1].rstrip() + "…"
        examples[topic_id].append(masked)
    return [
        Problem(
            topic_id=row["topic_id"],
            topic=row["topic__name"],
            group=row["topic__group__name"] or "",
            incidents=row["n"],
            examples=examples.get(row["topic_id"], []),
        )
        for row in top
    ]


def _spikes(start: dt.date, end: dt.date) -> list[SpikeLine]:
    since, until = period_bounds(start, end)
    rows = Spike.objects.filter(detected_at__lt=until).filter(
        Q(is_active=True) | Q(ended_at__gte=since) | Q(ended_at__isnull=True, last_seen_at__gte=since)
    )
    return [
        SpikeLine(
            kind=spike.get_kind_display(),
            key=spike.key,
            window=spike.get_window_display(),
            count=spike.count,
            baseline=spike.baseline,
            detected_at=spike.detected_at,
            active=spike.is_active,
        )
        for spike in rows.order_by("-count", "-detected_at")
    ]


def _overdue(filters: StatsFilters, now: dt.datetime) -> list[OverdueLine]:
    incidents = list(
        overdue_incidents(filters, now).select_related("topic", "lead_department").order_by("due_at", "pk")
    )
    waiting: dict[int, list[str]] = defaultdict(list)
    for incident_id, name in (
        Assignment.objects.filter(incident__in=[i.pk for i in incidents], status__in=WAITING, due_at__lt=now)
        .order_by("due_at", "pk")
        .values_list("incident_id", "department__name")
    ):
        if name not in waiting[incident_id]:
            waiting[incident_id].append(name)
    lines = []
    for incident in incidents:
        if incident.due_at is None:  # excluded by the query; for the type checker
            continue
        department = ", ".join(waiting.get(incident.pk, [])) or (
            incident.lead_department.name if incident.lead_department else _("Feedback service")
        )
        lines.append(
            OverdueLine(
                incident_id=incident.pk,
                topic=incident.topic.name if incident.topic else "",
                address=incident.address,
                due_at=incident.due_at,
                overdue_hours=(now - incident.due_at).total_seconds() / 3600,
                department=department,
            )
        )
    return lines


# --- proposals -----------------------------------------------------------------------------------------------------


def percent(value: float | None) -> str:
    return "—" if value is None else f"{round(value * 100)} %"


def proposals(report: Report, limits: Thresholds) -> list[Proposal]:
    found: list[Proposal] = []
    by_rework = sorted(report.departments, key=lambda d: (-(d.rework_share or 0), d.department))
    for d in by_rework:
        if d.assignments >= limits.rework_min_assignments and (d.rework_share or 0) >= limits.rework_share:
            numbers = {"rework": d.rework, "assignments": d.assignments, "share": d.rework_share}
            found.append(
                Proposal(
                    "rework",
                    d.department,
                    numbers,
                    _(
                        "%(department)s: %(rework)s of %(assignments)s assignments (%(share)s) were returned for "
                        "rework. Proposal: go through the returned information with the department's head and agree "
                        "what a complete answer must contain (dates, what is done, by whom)."
                    )
                    % {**numbers, "department": d.department, "share": percent(d.rework_share)},
                )
            )
    for row in _topic_rows(report):
        answered, reopened = row["answered"], row["reopened"]
        rate = share(reopened, answered)
        if reopened >= limits.reopened_min and rate is not None and rate >= limits.reopened_share:
            numbers = {"reopened": reopened, "answered": answered, "share": rate}
            found.append(
                Proposal(
                    "reopened",
                    row["topic__name"],
                    numbers,
                    _(
                        "Topic «%(topic)s»: %(reopened)s of %(answered)s answered incidents (%(share)s) were "
                        "reopened. Proposal: check that the answers on this topic report work actually done, and "
                        "have the department confirm the result before the final answer."
                    )
                    % {**numbers, "topic": row["topic__name"], "share": percent(rate)},
                )
            )
    for place in report.stats.addresses:
        if place.incidents >= limits.address_min_incidents:
            found.append(_place_proposal(place.name, place.incidents))
    for place in report.stats.territories:
        if place.incidents >= limits.territory_min_incidents:
            found.append(_place_proposal(place.name, place.incidents))
    by_late = sorted(report.departments, key=lambda d: (-(share(d.late, d.judged) or 0), -d.late, d.department))
    for d in by_late:
        rate = share(d.late, d.judged)
        if d.judged >= limits.late_min_judged and rate is not None and rate >= limits.late_share:
            numbers = {"late": d.late, "judged": d.judged, "share": rate}
            found.append(
                Proposal(
                    "late",
                    d.department,
                    numbers,
                    _(
                        "%(department)s: %(late)s of %(judged)s assignments (%(share)s) were late. Proposal: "
                        "remind the department's head of the deadlines, agree a deputy for absences, and review "
                        "the deadlines set for its typical requests."
                    )
                    % {**numbers, "department": d.department, "share": percent(rate)},
                )
            )
    return found


def _topic_rows(report: Report) -> list[dict[str, Any]]:
    """Per topic, of the period's answered incidents, those reopened (the same rule as `reopened_share`)."""
    rows: Any = (
        incidents_in_period(report.start, report.end, report.filters)
        .filter(answered_at__isnull=False, topic__isnull=False)
        .annotate(was_reopened=Exists(Event.objects.filter(incident=OuterRef("pk"), verb=EventVerb.REOPENED)))
        .values("topic_id", "topic__name")
        .annotate(answered=Count("pk"), reopened=Count("pk", filter=Q(was_reopened=True)))
        .order_by("-reopened", "topic__name")
    )
    return list(rows)


def _place_proposal(name: str, count: int) -> Proposal:
    return Proposal(
        "place",
        name,
        {"incidents": count},
        _(
            "%(place)s: %(count)s incidents in the period — the place keeps coming back. Proposal: a site inspection "
            "with the responsible departments and a lasting solution instead of answers case by case."
        )
        % {"place": name, "count": count},
    )


# --- rendering -----------------------------------------------------------------------------------------------------


def _local(moment: dt.datetime) -> str:
    return moment.astimezone(city_zone()).strftime("%d.%m.%Y %H:%M")


def _hours(value: float | None) -> str:
    return "—" if value is None else f"{value:.1f}".replace(".", ",")


def format_value(value: float | int | None, kind: str) -> str:
    if kind == "share":
        return percent(value)
    if kind == "hours":
        return _hours(value)
    return "—" if value is None else str(value)


def tables(report: Report) -> list[tuple[str, list[str], list[list[Any]], list[str]]]:
    """(title, header, rows of raw values, kinds per column) for every table; both renderers use them.
    Kinds: text, count, share, hours, datetime."""
    figure_rows = [[f.label, f.value, f.kind] for f in report.figures]
    return [
        (
            _("Figures"),
            [_("Figure"), _("Value")],
            [[label, value] for label, value, _kind in figure_rows],
            ["text", "mixed"],
        ),
        (
            _("Departments"),
            [
                _("Department"),
                _("Assignments"),
                _("On time"),
                _("Returned for rework"),
                _("Not our competence"),
                _("Median time to information, working h"),
            ],
            [
                [
                    d.department,
                    d.assignments,
                    d.on_time_share,
                    d.rework_share,
                    d.not_competent_share,
                    d.information_median_hours,
                ]
                for d in report.departments
            ],
            ["text", "count", "share", "share", "share", "hours"],
        ),
        (
            _("Top problems"),
            [_("Topic"), _("Group"), _("Incidents"), _("Examples (personal data masked)")],
            [[p.topic, p.group, p.incidents, "\n".join(f"«{e}»" for e in p.examples)] for p in report.problems],
            ["text", "text", "count", "text"],
        ),
        (
            _("Spikes"),
            [_("Kind"), _("Topic or place"), _("Window"), _("Posts"), _("Weekly average"), _("Detected")],
            [[s.kind, s.key, s.window, s.count, round(s.baseline, 1), s.detected_at] for s in report.spikes],
            ["text", "text", "text", "count", "hours", "datetime"],
        ),
        (
            _("Overdue now"),
            [_("Incident"), _("Topic"), _("Address"), _("Due"), _("Overdue, h"), _("Responsible department")],
            [
                [f"#{o.incident_id}", o.topic, o.address, o.due_at, round(o.overdue_hours, 1), o.department]
                for o in report.overdue
            ],
            ["text", "text", "text", "datetime", "hours", "text"],
        ),
        (
            _("Proposals"),
            ["№", _("Proposal")],
            [[n, p.text] for n, p in enumerate(report.proposals, start=1)],
            ["count", "text"],
        ),
    ]


def _cell_text(value: Any, kind: str, row_kind: str = "") -> str:
    if isinstance(value, dt.datetime):
        return _local(value)
    if kind == "mixed":
        kind = row_kind
    if kind in {"share", "hours", "count"}:
        return format_value(value, kind)
    return "" if value is None else str(value)


def render_docx(report: Report) -> bytes:
    from docx import Document
    from docx.shared import Pt

    document = Document()
    document.core_properties.title = report.title
    document.add_heading(report.title, level=0)
    document.add_paragraph(report.period_label)
    if report.filters_label:
        document.add_paragraph(report.filters_label)
    document.add_paragraph(_("Prepared %(moment)s") % {"moment": _local(report.now)})
    kinds_of_figures = [f.kind for f in report.figures]
    for title, header, rows, kinds in tables(report):
        document.add_heading(title, level=1)
        if not rows:
            document.add_paragraph(_("None in the period."))
            continue
        table = document.add_table(rows=1, cols=len(header))
        table.style = "Table Grid"
        for cell, text in zip(table.rows[0].cells, header, strict=True):
            run = cell.paragraphs[0].add_run(text)
            run.bold = True
        for index, row in enumerate(rows):
            cells = table.add_row().cells
            for column, (value, kind) in enumerate(zip(row, kinds, strict=True)):
                row_kind = kinds_of_figures[index] if kind == "mixed" else ""
                cells[column].text = _cell_text(value, kind, row_kind)
        for row in table.rows:
            for cell in row.cells:
                for paragraph in cell.paragraphs:
                    for run in paragraph.runs:
                        run.font.size = Pt(9)
    buffer = io.BytesIO()
    document.save(buffer)
    return buffer.getvalue()


def render_xlsx(report: Report) -> bytes:
    from openpyxl import Workbook
    from openpyxl.styles import Alignment, Font
    from openpyxl.utils import get_column_letter

    workbook = Workbook()
    workbook.remove(workbook.active)
    kinds_of_figures = [f.kind for f in report.figures]
    for title, header, rows, kinds in tables(report):
        sheet = workbook.create_sheet(title=title[:31])
        sheet.append(header)
        for cell in sheet[1]:
            cell.font = Font(bold=True)
        for index, row in enumerate(rows, start=2):
            for column, (value, kind) in enumerate(zip(row, kinds, strict=True), start=1):
                cell_kind = kinds_of_figures[index - 2] if kind == "mixed" else kind
                if isinstance(value, dt.datetime):
                    value = value.astimezone(city_zone()).replace(tzinfo=None)
                cell = sheet.cell(row=index, column=column, value=value)
                if cell_kind == "share":
                    cell.number_format = "0.0%"
                elif cell_kind == "hours":
                    cell.number_format = "0.0"
                elif isinstance(value, dt.datetime):
                    cell.number_format = "DD.MM.YYYY HH:MM"
                if isinstance(value, str) and "\n" in value:
                    cell.alignment = Alignment(wrap_text=True, vertical="top")
        for column, name in enumerate(header, start=1):
            values = [name, *(row[column - 1] for row in rows)]
            longest = max(len(line) for v in values for line in _cell_text(v, "text").split("\n"))
            sheet.column_dimensions[get_column_letter(column)].width = min(max(10, longest + 2), 80)
        sheet.freeze_panes = "A2"
    buffer = io.BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()


def render(report: Report, fmt: str) -> bytes:
    if fmt == "docx":
        return render_docx(report)
    if fmt == "xlsx":
        return render_xlsx(report)
    raise ValueError(f"format must be one of {FORMATS}")
