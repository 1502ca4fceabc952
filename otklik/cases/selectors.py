"""Read side of the lifecycle: who sees which incidents and assignments, and querysets shaped for display.

Visibility (issue 2, "object-level permissions everywhere"):
- the service (operators, the head, admins) and the director see everything;
- an executor or a department head sees the incidents his department has an assignment on (a cancelled one no
  longer counts), and only his department's assignments;
- anyone else sees nothing.
"""

from __future__ import annotations

from contextlib import AbstractContextManager
from typing import TYPE_CHECKING

from django.db.models import Exists, OuterRef, Prefetch, Q, QuerySet

from otklik.cases.choices import AssignmentStatus
from otklik.cases.models import Assignment, Attachment, Incident
from otklik.core.pg import local_settings

if TYPE_CHECKING:
    from otklik.accounts.models import User


def _department_assignments(department_id: int) -> QuerySet[Assignment]:
    return Assignment.objects.filter(department_id=department_id).exclude(status=AssignmentStatus.CANCELLED)


def visible_incidents(user: User) -> QuerySet[Incident]:
    """Incidents `user` may see (not yet prefetched; see `incidents_for_display`)."""
    if not user.is_authenticated or not user.is_active:
        return Incident.objects.none()
    if user.can_read_all:
        return Incident.objects.all()
    if user.is_department_user and user.department_id is not None:
        return Incident.objects.filter(
            Exists(_department_assignments(user.department_id).filter(incident=OuterRef("pk")))
        )
    return Incident.objects.none()


def visible_assignments(user: User) -> QuerySet[Assignment]:
    if not user.is_authenticated or not user.is_active:
        return Assignment.objects.none()
    if user.can_read_all:
        return Assignment.objects.all()
    if user.is_department_user and user.department_id is not None:
        return _department_assignments(user.department_id)
    return Assignment.objects.none()


def visible_attachments(user: User) -> QuerySet[Attachment]:
    return Attachment.objects.filter(assignment__in=visible_assignments(user))


def assignments_for_display(user: User) -> QuerySet[Assignment]:
    """Visible assignments with their department, assignee and attachments loaded in a fixed number of queries."""
    return (
        visible_assignments(user)
        .select_related("department", "assignee")
        .prefetch_related(Prefetch("attachments", queryset=Attachment.objects.order_by("created_at", "id")))
        .order_by("created_at", "id")
    )


def incidents_for_display(user: User) -> QuerySet[Incident]:
    """Visible incidents with everything the API shows loaded in a fixed number of queries (no N+1).

    A department user sees only his department's assignments inside an incident.
    """
    from otklik.answers.models import Answer
    from otklik.intake.models import Post

    return (
        visible_incidents(user)
        .select_related("topic", "group", "lead_department", "owner")
        .prefetch_related(
            Prefetch("posts", queryset=Post.objects.select_related("source").order_by("posted_at", "id")),
            Prefetch("assignments", queryset=assignments_for_display(user)),
            Prefetch("answers", queryset=Answer.objects.order_by("created_at", "id")),
        )
    )


def incidents_of_department(queryset: QuerySet[Incident], department_id: int) -> QuerySet[Incident]:
    """Incidents the department leads or has an assignment on (a cancelled one no longer counts)."""
    return queryset.filter(
        Q(lead_department_id=department_id)
        | Exists(_department_assignments(department_id).filter(incident=OuterRef("pk")))
    )


def bitmap_scans() -> AbstractContextManager[None]:
    """Run the queries of the block without plain index scans (PostgreSQL's `enable_indexscan = off` for the block).

    A search in a window of the newest incidents (`search_incidents(from_id=…)`) is fast when each post index's
    matches are AND-ed with the incident range as bitmaps (~100 ms for a frequent word at 1M posts); PostgreSQL
    prefers walking the range of the incident index and testing every post's text instead, costing the substring
    test as free — it is not (`UPPER` of a long Cyrillic text per row: 4–6× slower; docs/BENCHMARKS.md). Index-only
    and bitmap scans stay allowed. The setting is put back at the end of the block.
    """
    return local_settings(enable_indexscan="off")


def search_incidents(
    queryset: QuerySet[Incident],
    q: str,
    *,
    full_text: bool,
    from_id: int | None = None,
    before_id: int | None = None,
) -> QuerySet[Incident]:
    """Text search over the posts' text and the address; `#123` or `123` also finds the incident by id.

    On PostgreSQL (`full_text=True`) a Russian full-text match (word forms: «ямы» finds «яма») is added to the
    plain substring match, which stays for parts of words, house numbers and names. `from_id` / `before_id` keep
    only the incidents numbered from / before them (the inbox looks for the newest matches in such windows).
    """
    from otklik.intake.models import Post

    q = q.strip()
    if not q:
        return queryset
    posts = Post.objects.filter(incident__isnull=False)
    incidents = Incident.objects.all()
    if from_id is not None:
        queryset = queryset.filter(pk__gte=from_id)
        posts = posts.filter(incident_id__gte=from_id)
        incidents = incidents.filter(pk__gte=from_id)
    if before_id is not None:
        queryset = queryset.filter(pk__lt=before_id)
        posts = posts.filter(incident_id__lt=before_id)
        incidents = incidents.filter(pk__lt=before_id)
    by_text = posts.filter(text__icontains=q).values("incident_id")
    number = q.removeprefix("#").strip()
    by_number = int(number) if number.isdigit() and len(number) < 19 else None
    if full_text:
        from django.contrib.postgres.search import SearchQuery, SearchVector

        # One set of ids, each part found by its own index (the trigram index on the address; the full-text and the
        # trigram indexes on the posts; the primary key): an OR of the conditions would read every incident, and an
        # OR of the two post conditions makes PostgreSQL recheck every post of a page flagged by the trigram index
        # with both — stemming its text again (3.5× slower for a frequent word; docs/BENCHMARKS.md). With `from_id`
        # each post scan is AND-ed with the incident index's range.
        by_words = (
            posts.annotate(search=SearchVector("text", config="russian"))
            .filter(search=SearchQuery(q, config="russian", search_type="websearch"))
            .values("incident_id")
        )
        parts = [incidents.filter(address__icontains=q).values("pk"), by_words, by_text]
        if by_number is not None:
            parts.append(incidents.filter(pk=by_number).values("pk"))
        return queryset.filter(pk__in=parts[0].union(*parts[1:]))
    condition = Q(address__icontains=q) | Q(pk__in=by_text)
    if by_number is not None:
        condition |= Q(pk=by_number)
    return queryset.filter(condition)
