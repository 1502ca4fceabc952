"""The department scorecard: how each department answers the service's requests in a period.

For the assignments created in [from, to] (city days): how many, the share answered on time (information
submitted — or the assignment declined — before its due time; still open and past due counts as late), the mean
and median time to the first information in working and in calendar hours, the share returned for rework at least
once, the share declined as not their competence, and the extensions asked for and approved.

Rework by criteria: every return (a rework comment) of those assignments counts once under each criterion it names
(formal, no date, no evidence, contradictory, other — otklik.cases.choices.ReworkCriterion); a return naming none
counts as "no criterion given".
"""

from __future__ import annotations

import datetime as dt
import statistics
from dataclasses import dataclass, field
from typing import Any

from django.db.models import Count, Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from otklik.cases.choices import AssignmentStatus, ReworkCriterion
from otklik.cases.models import Assignment, ReworkComment
from otklik.core.worktime import city_zone, get_calendar
from otklik.org.models import Department
from otklik.sla.models import ExtensionRequest

#: Short names of the criteria for the table (the full ones are ReworkCriterion's labels, shown on hover).
CRITERION_SHORT: dict[str, Any] = {
    ReworkCriterion.FORMAL: _("formal"),
    ReworkCriterion.NO_DATE: _("no date"),
    ReworkCriterion.NO_EVIDENCE: _("no evidence"),
    ReworkCriterion.CONTRADICTORY: _("contradictory"),
    ReworkCriterion.OTHER: _("other"),
}


@dataclass(frozen=True)
class CriterionCount:
    code: str
    short: str
    label: str
    count: int


def _no_criteria() -> dict[str, int]:
    return dict.fromkeys(ReworkCriterion.values, 0)


@dataclass
class DepartmentScore:
    department: Department
    assignments: int = 0
    on_time: int = 0
    late: int = 0
    rework: int = 0
    declined: int = 0
    extensions: int = 0
    extensions_approved: int = 0
    returns: int = 0
    returns_without_criteria: int = 0
    criteria: dict[str, int] = field(default_factory=_no_criteria)
    working_hours: list[float] = field(default_factory=list)
    calendar_hours: list[float] = field(default_factory=list)

    @property
    def judged(self) -> int:
        return self.on_time + self.late

    @property
    def on_time_share(self) -> float | None:
        return self.on_time / self.judged if self.judged else None

    @property
    def rework_share(self) -> float | None:
        return self.rework / self.assignments if self.assignments else None

    @property
    def declined_share(self) -> float | None:
        return self.declined / self.assignments if self.assignments else None

    @property
    def criteria_counts(self) -> list[CriterionCount]:
        """Returns per criterion, in the order of ReworkCriterion (zeros included)."""
        return [
            CriterionCount(code, str(CRITERION_SHORT[code]), str(ReworkCriterion(code).label), self.criteria[code])
            for code in ReworkCriterion.values
        ]

    @property
    def median_working_hours(self) -> float | None:
        return statistics.median(self.working_hours) if self.working_hours else None

    @property
    def mean_working_hours(self) -> float | None:
        return statistics.fmean(self.working_hours) if self.working_hours else None

    @property
    def median_calendar_hours(self) -> float | None:
        return statistics.median(self.calendar_hours) if self.calendar_hours else None

    @property
    def mean_calendar_hours(self) -> float | None:
        return statistics.fmean(self.calendar_hours) if self.calendar_hours else None


def period_bounds(start: dt.date, end: dt.date) -> tuple[dt.datetime, dt.datetime]:
    zone = city_zone()
    return (
        dt.datetime.combine(start, dt.time.min, tzinfo=zone),
        dt.datetime.combine(end + dt.timedelta(days=1), dt.time.min, tzinfo=zone),
    )


def scorecard(start: dt.date, end: dt.date, now: dt.datetime | None = None) -> list[DepartmentScore]:
    """One row per department with assignments in the period, the least punctual first."""
    now = now or timezone.now()
    since, until = period_bounds(start, end)
    calendar = get_calendar()
    rows: dict[int, DepartmentScore] = {}
    assignments = (
        Assignment.objects.filter(created_at__gte=since, created_at__lt=until)
        .exclude(status=AssignmentStatus.CANCELLED)
        .select_related("department")
        .annotate(reworks=Count("rework_comments"))
        .order_by("pk")
    )
    for assignment in assignments:
        row = rows.setdefault(assignment.department_id, DepartmentScore(assignment.department))
        row.assignments += 1
        if assignment.reworks:
            row.rework += 1
        declined = assignment.status == AssignmentStatus.DECLINED
        if declined:
            row.declined += 1
        answered_at = assignment.submitted_at or (assignment.updated_at if declined else None)
        if assignment.due_at is not None:
            if answered_at is not None:
                if answered_at <= assignment.due_at:
                    row.on_time += 1
                else:
                    row.late += 1
            elif now > assignment.due_at:
                row.late += 1
        if assignment.submitted_at is not None:
            row.working_hours.append(
                calendar.between(assignment.created_at, assignment.submitted_at).total_seconds() / 3600
            )
            row.calendar_hours.append((assignment.submitted_at - assignment.created_at).total_seconds() / 3600)
    _count_criteria(rows, since, until)
    extensions = (
        ExtensionRequest.objects.filter(
            clock__assignment__created_at__gte=since, clock__assignment__created_at__lt=until
        )
        .values("clock__assignment__department")
        .annotate(total=Count("pk"), approved=Count("pk", filter=Q(status="approved")))
    )
    for item in extensions:
        found = rows.get(item["clock__assignment__department"])
        if found is not None:
            found.extensions = item["total"]
            found.extensions_approved = item["approved"]
    return sorted(
        rows.values(),
        key=lambda r: (r.on_time_share if r.on_time_share is not None else 2.0, -r.assignments, r.department.name),
    )


def _count_criteria(rows: dict[int, DepartmentScore], since: dt.datetime, until: dt.datetime) -> None:
    """Add each department's returns for rework, per criterion, of the assignments counted in `rows`."""
    comments = (
        ReworkComment.objects.filter(assignment__created_at__gte=since, assignment__created_at__lt=until)
        .exclude(assignment__status=AssignmentStatus.CANCELLED)
        .values_list("assignment__department_id", "criteria")
    )
    known = set(ReworkCriterion.values)
    for department_id, criteria in comments.iterator():
        row = rows.get(department_id)
        if row is None:
            continue
        row.returns += 1
        named = {code for code in criteria if code in known} if isinstance(criteria, list) else set()
        if not named:
            row.returns_without_criteria += 1
        for code in named:
            row.criteria[code] += 1
