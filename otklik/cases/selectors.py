"""Read side of the lifecycle: who sees which incidents and assignments, and querysets shaped for display.

Visibility (issue 2, "object-level permissions everywhere"):
- the service (operators, the head, admins) and the director see everything;
- an executor or a department head sees the incidents his department has an assignment on (a cancelled one no
  longer counts), and only his department's assignments;
- anyone else sees nothing.
"""

from __future__ import annotations

from collections.abc import Sequence
from contextlib import AbstractContextManager
from typing import TYPE_CHECKING, Any

from django.db.models import BooleanField, Exists, Expression, F, OuterRef, Prefetch, Q, QuerySet

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


class PostTextMatches(Expression):
    """A post matches the search `q` (PostgreSQL): its stored Russian full-text vector matches `q` as a web search
    («ямы» finds «яма»), or its text contains `q` — parts of words, house numbers, names — as `text__icontains`
    writes it (the expression of the trigram index `intake_post_text_trgm`).

    `intake_post.search_tsv` is a generated column kept by PostgreSQL (intake 0009), not a model field: SQLite has
    no full-text vector, and the search there is the substring match alone.
    """

    output_field = BooleanField()
    conditional = True

    def __init__(self, q: str) -> None:
        super().__init__()
        self.q = q
        self.text: Any = F("text")

    def get_source_expressions(self) -> list[Any]:
        return [self.text]

    def set_source_expressions(self, exprs: Sequence[Any]) -> None:
        (self.text,) = exprs

    def as_sql(self, compiler: Any, connection: Any) -> tuple[str, tuple[Any, ...]]:  # type: ignore[override]
        column = self.text  # a resolved Col: its table's alias in this query ("U0" in a subquery)
        alias = compiler.quote_name(column.alias)
        text_sql, text_params = compiler.compile(column)
        pattern = f"%{connection.ops.prep_for_like_query(self.q)}%"
        sql = (
            f"({alias}.{connection.ops.quote_name('search_tsv')} @@ websearch_to_tsquery('russian'::regconfig, %s)"
            f" OR UPPER({text_sql}::text) LIKE UPPER(%s))"
        )
        return sql, (self.q, *text_params, pattern)


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
    number = q.removeprefix("#").strip()
    by_number = int(number) if number.isdigit() and len(number) < 19 else None
    if full_text:
        # One set of ids, each part found by its own index (the trigram index on the address; on the posts, the
        # full-text index OR-ed with the trigram index in one bitmap; the primary key): an OR over the incident and
        # its posts would read every incident. The posts' two matches are one scan: the page flagged by the trigram
        # index is rechecked with the whole condition, and its full-text half reads the stored vector
        # (`intake_post.search_tsv`, intake 0009) before the costlier substring test — 2.4× faster than a union of
        # two scans of the same pages for a frequent word (docs/BENCHMARKS.md, sixth pass). With `from_id` each
        # post scan is AND-ed with the incident index's range.
        by_words = posts.filter(PostTextMatches(q)).values("incident_id")
        parts = [incidents.filter(address__icontains=q).values("pk"), by_words]
        if by_number is not None:
            parts.append(incidents.filter(pk=by_number).values("pk"))
        return queryset.filter(pk__in=parts[0].union(*parts[1:]))
    by_text = posts.filter(text__icontains=q).values("incident_id")
    condition = Q(address__icontains=q) | Q(pk__in=by_text)
    if by_number is not None:
        condition |= Q(pk=by_number)
    return queryset.filter(condition)
