"""The operator's inbox (issue 3, "Operator 1"; UX.md "Inbox").

Saved views with counters on the left, search and filters on top (all in the URL), the list with time left, paging,
a counter of new items polled by HTMX, bulk actions (route by the rules, "no answer needed", merge) and the export of
the filtered list to XLSX. The service works here; the director reads (no checkboxes, no bulk actions).
"""

from __future__ import annotations

import datetime as dt
import logging
import re
from collections.abc import Callable, Iterable, Iterator
from contextlib import AbstractContextManager, nullcontext
from dataclasses import dataclass, field
from functools import partial
from typing import TYPE_CHECKING, Any

from django.conf import settings
from django.contrib import messages
from django.core.exceptions import EmptyResultSet, PermissionDenied
from django.core.paginator import Page, Paginator
from django.db import connection
from django.db.models import (
    BigIntegerField,
    BooleanField,
    Count,
    F,
    Func,
    IntegerField,
    Max,
    OuterRef,
    Q,
    QuerySet,
    Subquery,
    Value,
)
from django.db.models.expressions import RawSQL
from django.db.models.functions import Coalesce, Substr
from django.http import HttpRequest, HttpResponse, HttpResponseBadRequest
from django.shortcuts import redirect, render
from django.utils import timezone
from django.utils.formats import number_format
from django.utils.html import escape, format_html
from django.utils.safestring import SafeString, mark_safe
from django.utils.text import capfirst
from django.utils.translation import gettext as _
from django.utils.translation import pgettext_lazy
from django.views.decorators.http import require_GET, require_http_methods

from otklik.cases import selectors
from otklik.cases.choices import OPEN_STATUSES, IncidentStatus
from otklik.cases.forms_inbox import BulkAction, BulkActionForm, InboxFilterForm
from otklik.cases.models import Incident, channel_mark
from otklik.cases.services import do_mark_no_answer, do_merge, do_route
from otklik.core.decorators import reader_required
from otklik.core.errors import DomainError
from otklik.core.htmx import is_region_request, render_page
from otklik.core.pg import local_settings
from otklik.core.worktime import city_zone
from otklik.core.xlsx import Link, export_filename, wants_xlsx, xlsx_response
from otklik.documents.masking import mask_personal_data
from otklik.intake.choices import Channel
from otklik.intake.models import Post
from otklik.org.routing import suggest_route

if TYPE_CHECKING:
    from otklik.accounts.models import User

log = logging.getLogger(__name__)

S = IncidentStatus
PAGE_SIZE = 50
EXPORT_LIMIT = 10_000
SNIPPET_CHARS = 160

# --- saved views ----------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class SavedView:
    code: str
    label: Any
    icon: str


VIEWS: tuple[SavedView, ...] = (
    SavedView("new", pgettext_lazy("inbox view", "New"), "bi-inbox"),
    SavedView("triage", pgettext_lazy("inbox view", "Needs triage"), "bi-funnel"),
    SavedView("routed", pgettext_lazy("inbox view", "Waiting for information"), "bi-hourglass-split"),
    SavedView("ready", pgettext_lazy("inbox view", "Ready to answer"), "bi-chat-left-text"),
    SavedView("overdue", pgettext_lazy("inbox view", "Overdue"), "bi-exclamation-triangle"),
    SavedView("mine", pgettext_lazy("inbox view", "Mine"), "bi-person"),
    SavedView("all", pgettext_lazy("inbox view", "All"), "bi-collection"),
)
VIEW_CODES = frozenset(v.code for v in VIEWS)
DEFAULT_VIEW = "all"


def view_conditions(user: User, now: dt.datetime) -> dict[str, Q | None]:
    """The condition of each saved view (None: no condition). The list and its counter use the same one."""
    open_ = Q(status__in=list(OPEN_STATUSES))
    return {
        "new": Q(status=S.NEW),
        "triage": Q(status=S.TRIAGE),
        "routed": Q(status=S.ROUTED),
        "ready": Q(status__in=[S.ANSWERING, S.APPROVAL]),
        "overdue": open_ & Q(due_at__lt=now),
        "mine": open_ & Q(owner_id=user.pk),
        "all": None,
    }


# --- sorting ------------------------------------------------------------------------------------------------

SORTS: dict[str, tuple[Any, ...]] = {
    "due": (F("due_at").asc(nulls_last=True), "id"),
    "-created": ("-created_at", "-id"),
    "created": ("created_at", "id"),
}


def default_sort(view: str) -> str:
    """Open work is sorted by urgency (the nearest deadline first); "all" is the stream, newest first."""
    return "-created" if view == "all" else "due"


# --- the query ------------------------------------------------------------------------------------------------


@dataclass
class InboxQuery:
    """What the URL asks for: a saved view, filters, search and sorting, applied to the incidents `user` sees."""

    user: User
    view: str
    sort: str
    form: InboxFilterForm
    filters: dict[str, Any]
    now: dt.datetime = field(default_factory=timezone.now)
    # Set by `shown()`: whether the search matched more incidents than it keeps.
    search_capped: bool = False
    _search_ids: list[int] | None = field(default=None, repr=False)
    _narrowed_queryset: QuerySet[Incident] | None = field(default=None, repr=False)

    @classmethod
    def from_request(cls, request: HttpRequest) -> InboxQuery:
        params = request.GET
        view = params.get("view") or DEFAULT_VIEW
        if view not in VIEW_CODES:
            view = DEFAULT_VIEW
        sort = params.get("sort") or default_sort(view)
        if sort not in SORTS:
            sort = default_sort(view)
        form = InboxFilterForm(params)
        return cls(user=request.user, view=view, sort=sort, form=form, filters=form.valid_data())  # type: ignore[arg-type]

    def filtered(self, *, from_id: int | None = None, before_id: int | None = None) -> QuerySet[Incident]:
        """Visible incidents narrowed by the filters and the search (not by the saved view): every match (the export,
        the new-items poll); with `from_id` / `before_id`, only the incidents numbered from / before them."""
        queryset = self._narrowed()
        q = self.search_text
        if q:
            queryset = selectors.search_incidents(
                queryset, q, full_text=connection.vendor == "postgresql", from_id=from_id, before_id=before_id
            )
        else:
            if from_id is not None:
                queryset = queryset.filter(pk__gte=from_id)
            if before_id is not None:
                queryset = queryset.filter(pk__lt=before_id)
        return queryset

    @property
    def search_text(self) -> str:
        return (self.filters.get("q") or "").strip()

    def shown(self) -> QuerySet[Incident]:
        """What the page lists and counts: `filtered()`, but a search keeps only its newest matches.

        A search over a city's history may match tens of thousands of incidents; its match set (a union of several
        index scans) is worked out once per request — the ids of the OTKLIK_INBOX_SEARCH_LIMIT newest (highest
        numbered) matching incidents — and the counters and the list read that id list; `search_capped` says
        whether more matched.
        """
        if not self.search_text:
            return self.filtered()
        if self._search_ids is None:
            self._search_ids = self._newest_matches(settings.OTKLIK_INBOX_SEARCH_LIMIT)
        return Incident.objects.filter(id_among(self._search_ids))

    def _newest_matches(self, limit: int) -> list[int]:
        """The ids of the `limit` newest (highest numbered) incidents matching the filters and the search.

        A frequent word matches tens of thousands of posts, and reading them all is what a search costs; its newest
        `limit` matches lie among the newest incidents. So the search looks in a window of the newest incidents
        first (OTKLIK_INBOX_SEARCH_WINDOW numbers); short of `limit` matches, in the incidents just before it, as many
        as should hold the rest at the rate found (+25 %); then in all the older ones. Each step reads only its own
        range, so a search never costs more than looking everywhere at once; the ids found are the same.
        """
        window = settings.OTKLIK_INBOX_SEARCH_WINDOW
        top = Incident.objects.order_by("-pk").values_list("pk", flat=True).first() if window else None
        found: list[int] = []
        before_id: int | None = None
        searched = 0  # how many incident numbers the steps so far covered
        for step in range(3):
            from_id = top - searched - window + 1 if top is not None and step < 2 else None
            if from_id is not None and from_id <= 1:
                from_id = None
            found += self._matches(limit + 1 - len(found), from_id=from_id, before_id=before_id)
            if len(found) > limit or from_id is None:
                break
            searched += window
            before_id = from_id
            # Matches are spread over the history about evenly: the next step takes as many numbers as should hold
            # the rest at the rate found so far.
            rate = len(found) / searched
            window = int(1.25 * (limit + 1 - len(found)) / rate) if found else window * 8
        self.search_capped = len(found) > limit
        return found[:limit]

    def _matches(self, count: int, *, from_id: int | None, before_id: int | None) -> list[int]:
        """The ids of the `count` newest matches numbered from `from_id` (when given) and before `before_id`."""
        newest = self.filtered(from_id=from_id, before_id=before_id).order_by("-pk").values_list("pk", flat=True)
        if from_id is None and before_id is None:
            return list(newest[:count])
        with selectors.bitmap_scans():
            return list(newest[:count])

    def _narrowed(self) -> QuerySet[Incident]:
        """Visible incidents narrowed by the filters (not by the search, not by the saved view); built once per
        request (a filter by an old period's rows reads its bounds: `otklik.stats.selectors._among`)."""
        if self._narrowed_queryset is None:
            self._narrowed_queryset = self._build_narrowed()
        return self._narrowed_queryset

    def _build_narrowed(self) -> QuerySet[Incident]:
        queryset = selectors.visible_incidents(self.user)
        f = self.filters
        if f.get("ids"):
            queryset = queryset.filter(pk__in=f["ids"])
        if f.get("group"):
            queryset = queryset.filter(group=f["group"])
        if f.get("department"):
            queryset = queryset.filter(lead_department=f["department"])
        if f.get("territory"):
            queryset = queryset.filter(territory=f["territory"])
        if f.get("channel"):
            # An incident is of a channel when one of its posts comes from a source of it: the channels of its posts
            # are kept on the incident (`Incident.channels`), so the test reads the row (or the open incidents'
            # index) instead of looking for a post per incident.
            queryset = queryset.filter(channels__contains=channel_mark(f["channel"]))
        zone = city_zone()
        if f.get("date_from"):
            queryset = queryset.filter(created_at__gte=dt.datetime.combine(f["date_from"], dt.time(0), tzinfo=zone))
        if f.get("date_to"):
            end = dt.datetime.combine(f["date_to"] + dt.timedelta(days=1), dt.time(0), tzinfo=zone)
            queryset = queryset.filter(created_at__lt=end)
        return self._dashboard_filters(queryset)

    def _dashboard_filters(self, queryset: QuerySet[Incident]) -> QuerySet[Incident]:
        """The hidden filters the dashboard's figures link to, by the stats' own rules (docs/STATS.md)."""
        from otklik.stats.selectors import filter_on_time  # noqa: PLC0415 - app boundary

        f = self.filters
        if f.get("answered") == "1":
            queryset = queryset.filter(answered_at__isnull=False)
        if f.get("on_time") in ("1", "0"):
            queryset = filter_on_time(queryset, on_time=f["on_time"] == "1", now=self.now)
        if f.get("reopened") == "1":
            # Reopened at least once (a `reopened` event, as the stats count them): `do_reopen` sets `reopened_at`
            # with the event, and the migration that added the field set it from the events before it.
            queryset = queryset.filter(reopened_at__isnull=False)
        if f.get("merged") == "0":
            queryset = queryset.exclude(status=S.MERGED)
        if f.get("address"):
            queryset = queryset.filter(address=f["address"])
        return self._population_filters(queryset)

    def _population_filters(self, queryset: QuerySet[Incident]) -> QuerySet[Incident]:
        """Posts, negative posts, first answer, final answer period and satisfied (docs/STATS.md, "Click-through")."""
        from otklik.stats.selectors import (  # noqa: PLC0415 - app boundary
            filter_assigned,
            filter_final_answered,
            filter_posts_in,
        )

        f = self.filters
        if f.get("posts_from") or f.get("posts_to") or f.get("negative") == "1":
            queryset = filter_posts_in(
                queryset,
                *_day_bounds(f.get("posts_from"), f.get("posts_to")),
                negative=f.get("negative") == "1",
                channel=f.get("channel") or "",
            )
        if f.get("first_answered") == "1":
            queryset = queryset.filter(first_answered_at__isnull=False)
        if f.get("final_from") or f.get("final_to") or f.get("satisfied") == "1":
            queryset = filter_final_answered(
                queryset, *_day_bounds(f.get("final_from"), f.get("final_to")), satisfied=f.get("satisfied") == "1"
            )
        if f.get("assigned_to"):
            queryset = filter_assigned(
                queryset, f["assigned_to"], *_day_bounds(f.get("assigned_from"), f.get("assigned_to_date"))
            )
        return queryset

    def hidden_chips(self, request: HttpRequest) -> list[tuple[str, str]]:
        """(label, the URL without it) for each hidden filter in force: an operator sees why the list is short."""
        f = self.filters
        labels = {
            "answered": {"1": _("answered")},
            "on_time": {"1": _("on time"), "0": _("late")},
            "reopened": {"1": _("reopened")},
            "merged": {"0": _("without merged")},
        }
        chips = []
        for name, by_value in labels.items():
            value = f.get(name) or ""
            if value in by_value:
                chips.append((str(by_value[value]), _url("/inbox/", request, drop=("page", name))))
        if f.get("address"):
            chips.append(
                (
                    _("address: %(address)s") % {"address": f["address"]},
                    _url("/inbox/", request, drop=("page", "address")),
                )
            )
        for flag, label in (
            ("negative", _("negative posts")),
            ("first_answered", _("first answer published")),
            ("satisfied", _("satisfied")),
        ):
            if f.get(flag) == "1":
                chips.append((str(label), _url("/inbox/", request, drop=("page", flag))))
        for prefix, label in (("posts", _("posts written")), ("final", _("final answer published"))):
            start, end = f.get(f"{prefix}_from"), f.get(f"{prefix}_to")
            if start or end:
                days = " – ".join(day.strftime("%d.%m.%Y") if day else "…" for day in (start, end))
                chips.append(
                    (f"{label}: {days}", _url("/inbox/", request, drop=("page", f"{prefix}_from", f"{prefix}_to")))
                )
        if f.get("assigned_to"):
            start, end = f.get("assigned_from"), f.get("assigned_to_date")
            days = " – ".join(day.strftime("%d.%m.%Y") if day else "…" for day in (start, end))
            chips.append(
                (
                    _("assigned to %(department)s: %(days)s") % {"department": f["assigned_to"].name, "days": days},
                    _url("/inbox/", request, drop=("page", "assigned_to", "assigned_from", "assigned_to_date")),
                )
            )
        if f.get("ids"):
            chips.append(
                (_("selected incidents: %(n)s") % {"n": len(f["ids"])}, _url("/inbox/", request, drop=("page", "ids")))
            )
        return chips

    def condition(self) -> Q | None:
        return view_conditions(self.user, self.now)[self.view]

    def matching(self, *, shown: bool = False) -> QuerySet[Incident]:
        """The incidents of the current view (unordered): every match, or (`shown`) those the page shows."""
        queryset = self.shown() if shown else self.filtered()
        condition = self.condition()
        return queryset.filter(condition) if condition is not None else queryset

    def listing(self, *, shown: bool = False) -> QuerySet[Incident]:
        return self.matching(shown=shown).order_by(*SORTS[self.sort])

    def counters(self) -> dict[str, int]:
        """How many incidents each saved view holds under the current filters (one query), each counted only up to
        OTKLIK_INBOX_COUNT_CAP: a larger count comes back as cap + 1 (`is_capped`) and is shown «10 000+».

        Unfiltered, each view is counted by its own `SELECT COUNT(*) FROM (SELECT … LIMIT cap + 1)`, a scalar
        subquery reading the view's index (status, due date, owner) and stopping at the cap, instead of counting a
        city's whole history. Under any filter, the open views are counted in one pass over the open incidents
        (`_counters_in_one_pass`). A search's match set is a short id list (`shown`): its views are counted exactly,
        by one aggregate.
        """
        conditions = view_conditions(self.user, self.now)
        shown = self.shown().order_by()
        if self.search_text:
            aggregates: dict[str, Any] = {
                code: Count("pk", filter=condition) if condition is not None else Count("pk")
                for code, condition in conditions.items()
            }
            return {code: int(value or 0) for code, value in shown.aggregate(**aggregates).items()}
        cap = settings.OTKLIK_INBOX_COUNT_CAP
        if self.has_filters:
            return self._counters_in_one_pass(shown, conditions, cap)
        parts: list[str] = []
        params: list[Any] = []
        for condition in conditions.values():
            counted = capped_count_sql(shown.filter(condition) if condition is not None else shown, cap)
            if counted is None:
                parts.append("0")
                continue
            parts.append(f"({counted[0]})")
            params.extend(counted[1])
        with connection.cursor() as cursor:
            cursor.execute("SELECT " + ", ".join(parts), params)
            row = cursor.fetchone()
        return {code: int(value or 0) for code, value in zip(conditions, row, strict=True)}

    def _counters_in_one_pass(
        self, shown: QuerySet[Incident], conditions: dict[str, Q | None], cap: int
    ) -> dict[str, int]:
        """The open views counted exactly in one pass over the open incidents (each evaluating the filters once),
        "all" up to the cap by a scalar subquery of the same query.

        The open incidents are read from their own index (`incident_open_due`, holding every column the views and
        the column filters test: no table rows read), so a filter costs one test per open incident, not one index
        walk per view (1M posts, routed + group + territory: 6 bitmap ANDs over the group and territory indexes,
        ~100 ms, → 7 ms)."""
        aggregates: dict[str, Any] = {
            code: Count("pk", filter=condition) for code, condition in conditions.items() if condition is not None
        }
        # "all": newest first along the (created_at, id) index, so that with the LIMIT the planner walks it and
        # probes a per-incident filter until the cap, rather than first reading every row the filter's table has
        # (every incident clock for «late»). A source too: the row's `channels` is tested (1M posts, MAX, the
        # smallest channel: ~40 ms, against ~75 ms scanning the table unordered after the backfill moved its rows).
        # Under a filter by a period's rows, another order (`_capped_count_order`).
        ordered = shown.order_by(*self._capped_count_order())
        counted = capped_count_sql(ordered, cap)
        total: Any = (
            Value(0) if counted is None else RawSQL(counted[0], counted[1], output_field=IntegerField())  # noqa: S611 - compiled by Django
        )
        # Max() makes the subquery legal in an aggregate; Coalesce gives it when no open incident matches.
        aggregates["all"] = Coalesce(Max(total), total)
        open_ones = shown.filter(status__in=list(OPEN_STATUSES))
        with self._counters_plan():
            counts = {code: int(value or 0) for code, value in open_ones.aggregate(**aggregates).items()}
        return {code: counts[code] for code in conditions}

    def _counters_plan(self) -> AbstractContextManager[None]:
        """Under a filter by the rows of a past period (bounded ids, `_period_rows`): the incidents in the bounds are
        probed against the period's rows one by one (by the rows' incident index) instead of hashing all the
        period's rows, twice — the open incidents in the bounds are a few hundred and the count stops at the cap
        (1M posts, two months' posts ten months back: ~95 → ~55 ms). Not under the «satisfied» filter: its rows
        (the answers after which the citizen was satisfied, `stats_answer_final_satisfied`) are a fifth of the
        period's final answers and hashed in a few milliseconds (1M posts, ten months back: ~110 → ~55 ms)."""
        if self._period_rows() == "past" and self.filters.get("satisfied") != "1":
            return local_settings(enable_hashjoin="off", enable_mergejoin="off")
        return nullcontext()

    def _capped_count_order(self) -> tuple[str, ...]:
        """The order in which the «all» counter's capped subquery reads its incidents.

        Newest first by creation as a rule (above). Not under a filter by the posts, final answers or assignments of
        a period (the dashboard's click-through): its incidents are a set PostgreSQL builds from the period's rows,
        and in that order it read and sorted every incident of the city (1M posts, a month's posts: ~100 ms). For a
        recent period, by number from the newest: the set's incidents are among the newest, and PostgreSQL merges
        the two in that order and stops at the cap (~30 ms); for a past one, unordered: the filter bounds the ids
        (`otklik.stats.selectors._among`) and PostgreSQL stops at the cap within them (~60 ms, against ~150 ms from
        the newest)."""
        return {None: SORTS["-created"], "recent": ("-pk",), "past": ()}[self._period_rows()]

    def _period_rows(self) -> str | None:
        """Whether a filter keeps the incidents of a period's rows (`_population_filters`: posts, final answers,
        assignments): None if not; "past" when such a period ended PAST_PERIOD ago or more (its ids are bounded,
        `otklik.stats.selectors._among`); else "recent"."""
        from otklik.stats.selectors import is_past_period  # noqa: PLC0415 - app boundary

        f = self.filters
        keys = ("posts_from", "posts_to", "final_from", "final_to", "assigned_to")
        if not (any(f.get(key) for key in keys) or f.get("negative") == "1" or f.get("satisfied") == "1"):
            return None
        ends = [_day_bounds(None, f.get(key))[1] for key in ("posts_to", "final_to", "assigned_to_date")]
        return "past" if any(end is not None and is_past_period(end) for end in ends) else "recent"

    @property
    def counts_later(self) -> bool:
        """Whether the page's counters come after its list, in a request of their own (`inbox_counts`): under a
        filter by a period's rows (the dashboard's click-through, not a search), where counting the views is most
        of the page's cost (1M posts, ten months back: the posts' or the satisfied answers' incidents, ~50–80 ms;
        the posts of the month ~25 ms since `Incident.last_post_at`) and the list alone is a few indexed reads."""
        return not self.search_text and self._period_rows() is not None

    @property
    def has_filters(self) -> bool:
        return any(value not in (None, "") for value in self.filters.values())


class _AnyOf(Func):
    """`expression = ANY(array)` (PostgreSQL): a long list of ids as one parameter, not thousands."""

    arg_joiner = " = ANY("
    template = "(%(expressions)s))"
    output_field = BooleanField()


def capped_count_sql(queryset: QuerySet[Incident], cap: int) -> tuple[str, list[Any]] | None:
    """`SELECT COUNT(*) FROM (<the queryset's ids> LIMIT cap + 1)` with its parameters: a count that stops at the
    cap; None when nothing can match (a user who sees nothing)."""
    try:
        sql, params = queryset.values("pk")[: cap + 1].query.sql_with_params()
    except EmptyResultSet:
        return None
    return f"SELECT COUNT(*) FROM ({sql}) capped", list(params)  # noqa: S608 - compiled by Django


def id_among(ids: list[int]) -> Q | _AnyOf:
    """The condition «the incident's id is one of `ids`» (a list of up to a few thousand ids)."""
    if connection.vendor != "postgresql" or not ids:
        return Q(pk__in=ids)
    # One text parameter, '{1,2,…}', cast by the server: handed a list, Django prepares and psycopg dumps each
    # element (5,000 ids of a search: ~20 ms per list, the page holds two).
    literal = "{" + ",".join(str(int(pk)) for pk in ids) + "}"
    return _AnyOf(F("pk"), RawSQL("%s::bigint[]", (literal,), output_field=BigIntegerField()))  # noqa: S611 - a parameter


def _day_bounds(start: dt.date | None, end: dt.date | None) -> tuple[dt.datetime | None, dt.datetime | None]:
    """[start 00:00, the day after end 00:00) in the city's time zone; an open bound stays None."""
    zone = city_zone()
    since = dt.datetime.combine(start, dt.time(0), tzinfo=zone) if start else None
    until = dt.datetime.combine(end + dt.timedelta(days=1), dt.time(0), tzinfo=zone) if end else None
    return since, until


def with_first_post(queryset: QuerySet[Incident], *, text_chars: int | None) -> QuerySet[Incident]:
    """Annotate the first post's text (cut to `text_chars`) and channel: no query per row."""
    posts = Post.objects.filter(incident=OuterRef("pk")).order_by("posted_at", "id")
    text: Any = Subquery(posts.values("text")[:1])
    if text_chars is not None:
        text = Substr(text, 1, text_chars)
    return queryset.annotate(first_text=text, first_channel=Subquery(posts.values("source__channel")[:1]))


def is_capped(count: int) -> bool:
    """Whether a view's counter stopped at OTKLIK_INBOX_COUNT_CAP (its real count is larger)."""
    return count > settings.OTKLIK_INBOX_COUNT_CAP


def count_label(count: int) -> str:
    """A view's counter as shown: the number, or «10 000+» past the cap."""
    if is_capped(count):
        return number_format(settings.OTKLIK_INBOX_COUNT_CAP, force_grouping=True) + "+"
    return str(count)


class CountedPaginator(Paginator):
    """A paginator told its count (the counters query already counted the view), saving a COUNT query.

    Past the counters' cap (`capped`) the number of pages is unknown: a page reads one id more than it shows to
    know whether there is a next one, however deep it is; a page past the end falls back to an exact count and
    the last page.
    """

    def __init__(self, object_list: Any, per_page: int, *, count: int, capped: bool = False) -> None:
        super().__init__(object_list, per_page)
        self.capped = capped
        self.__dict__["count"] = count

    def get_page(self, number: Any) -> Page:
        if not self.capped:
            return super().get_page(number)
        try:
            number = max(int(number), 1)
        except (TypeError, ValueError):
            number = 1
        bottom = (number - 1) * self.per_page
        items = list(self.object_list[bottom : bottom + self.per_page + 1])
        if not items and number > 1:  # past the end: count exactly, show the last page
            self.capped = False
            self.__dict__["count"] = self.object_list.count()  # type: ignore[attr-defined]
            self.__dict__.pop("num_pages", None)
            return super().get_page(number)
        return OpenEndedPage(items[: self.per_page], number, self, has_next=len(items) > self.per_page)


class OpenEndedPage(Page):
    """A page of a list counted only up to the cap: it knows whether a next page exists, not how many there are."""

    def __init__(self, object_list: Any, number: int, paginator: Paginator, *, has_next: bool) -> None:
        super().__init__(object_list, number, paginator)
        self._has_next = has_next

    def has_next(self) -> bool:
        return self._has_next

    def has_other_pages(self) -> bool:
        return self.has_previous() or self.has_next()

    def next_page_number(self) -> int:
        return self.number + 1

    def previous_page_number(self) -> int:
        return self.number - 1

    def end_index(self) -> int:
        return (self.number - 1) * self.paginator.per_page + len(self.object_list)


# --- rows -------------------------------------------------------------------------------------------------------

CHANNEL_ICONS: dict[str, str] = {
    Channel.VK: "bi-people-fill",
    Channel.OK: "bi-person-circle",
    Channel.TELEGRAM: "bi-telegram",
    Channel.MAX: "bi-chat-dots",
    Channel.IM: "bi-clipboard-data",
    Channel.POS: "bi-bank",
    Channel.EMAIL: "bi-envelope",
    Channel.API: "bi-plug",
}

# Words of an address that say what kind of place it is, not which one: never highlighted alone.
ADDRESS_GENERIC_WORDS = frozenset(
    {
        *("улица", "ул", "проспект", "пр", "пр-т", "просп", "переулок", "пер", "дом", "д", "город", "г"),
        *("микрорайон", "мкр", "мкрн", "корпус", "корп", "строение", "стр", "квартира", "кв", "проезд"),
        *("бульвар", "б-р", "шоссе", "ш", "площадь", "пл", "набережная", "наб", "тупик", "поселок", "пос"),
        *("посёлок", "район", "р-н", "область", "обл", "округ", "село", "деревня"),
    }
)


def place_pattern(address: str) -> re.Pattern[str] | None:
    """A pattern finding the incident's address in a post: the whole address, or its own words (with a house number).

    1. The address as it is («ул. Ленина, 5»).
    2. Each word of it that is not a generic word («улица», «д.») and has three letters or more, as a stem
       (the last letters may differ: «Ленина» finds «Ленина», «Ленинский»), optionally followed by a house number.
    """
    address = address.strip()
    if not address:
        return None
    alternatives = [re.escape(address)]
    for word in re.findall(r"[^\W\d_][\w-]*", address):
        if word.lower() in ADDRESS_GENERIC_WORDS or len(word) < 3:
            continue
        stem = word[: max(3, len(word) - 2)]
        alternatives.append(rf"(?<!\w){re.escape(stem)}\w*(?:[\s,]+(?:д\.?|дом)?\s*\d+[а-яa-z]?(?:/\d+)?)?")
    return re.compile("|".join(alternatives), re.IGNORECASE)


def highlight_place(text: str, address: str) -> tuple[SafeString, bool]:
    """`text` escaped, with the places of `address` marked; and whether anything was marked."""
    pattern = place_pattern(address)
    if pattern is None:
        return SafeString(escape(text)), False
    parts: list[str] = []
    position = 0
    for match in pattern.finditer(text):
        if match.start() == match.end():
            continue
        parts.append(escape(text[position : match.start()]))
        parts.append(format_html('<mark class="place">{}</mark>', match.group(0)))
        position = match.end()
    parts.append(escape(text[position:]))
    return mark_safe("".join(parts)), position > 0  # noqa: S308 - every part is escaped above


def first_line(text: str | None, limit: int = SNIPPET_CHARS) -> str:
    """The first non-empty line of `text`, cut to `limit` characters with «…»."""
    line = next((line.strip() for line in (text or "").splitlines() if line.strip()), "")
    return line[:limit].rstrip() + "…" if len(line) > limit else line


@dataclass(frozen=True)
class Row:
    incident: Incident
    snippet: SafeString
    address_in_text: bool
    channel: str
    channel_label: str
    icon: str
    checked: bool


def make_row(incident: Incident, checked: frozenset[int]) -> Row:
    snippet, found = highlight_place(first_line(getattr(incident, "first_text", "")), incident.address)
    channel = getattr(incident, "first_channel", None) or ""
    label = str(Channel(channel).label) if channel in Channel.values else ""
    return Row(
        incident=incident,
        snippet=snippet,
        address_in_text=found,
        channel=channel,
        channel_label=label,
        icon=CHANNEL_ICONS.get(channel, "bi-question-circle"),
        checked=incident.pk in checked,
    )


# --- pages ------------------------------------------------------------------------------------------------------


def _url(path: str, request: HttpRequest, *, drop: Iterable[str] = ("page",), **extra: str) -> str:
    """`path` with the current query string (filters, view, sort), less `drop`, plus `extra`."""
    params = request.GET.copy()
    for key in drop:
        params.pop(key, None)
    for key, value in extra.items():
        params[key] = value
    encoded = params.urlencode()
    return f"{path}?{encoded}" if encoded else path


def _list_context(request: HttpRequest, query: InboxQuery, *, checked: frozenset[int] = frozenset()) -> dict[str, Any]:
    # Under a filter by a period's rows the counters come after the list (`InboxQuery.counts_later`): the page is
    # paged open-ended, as past the counters' cap, and its views show «…» until `inbox_counts` answers.
    counters = None if query.counts_later else query.counters()
    # The page's ids first (an index walk, however deep the page), then those rows with their first post: the
    # first post's subqueries run for the page's rows only, not for every row an OFFSET skips.
    count = settings.OTKLIK_INBOX_COUNT_CAP + 1 if counters is None else counters[query.view]
    paginator = CountedPaginator(
        query.listing(shown=True).values_list("pk", flat=True),
        PAGE_SIZE,
        count=count,
        capped=is_capped(count),
    )
    page = paginator.get_page(request.GET.get("page"))
    page.object_list = list(
        with_first_post(
            Incident.objects.filter(pk__in=page.object_list)
            .select_related("group", "topic", "lead_department", "owner")
            .order_by(*SORTS[query.sort]),
            text_chars=SNIPPET_CHARS * 2,
        )
    )
    can_act = _can_act(request)
    return {
        "query": query,
        **_views_context(request, query, counters),
        **_total_context(None if counters is None else paginator.count),
        "current_view": next(v for v in VIEWS if v.code == query.view),
        "page": page,
        "rows": [make_row(incident, checked) for incident in page],
        "sort": query.sort,
        "form": query.form,
        "can_act": can_act,
        "is_partial": is_region_request(request),
        "poll_url": _url("/inbox/new-count/", request, since=query.now.isoformat()),
        "export_url": _url("/inbox/export.xlsx", request),
        "list_url": _url("/inbox/", request),
        "hidden_chips": query.hidden_chips(request),
        "search_capped": query.search_capped,
        "search_limit": settings.OTKLIK_INBOX_SEARCH_LIMIT,
    }


def _views_context(request: HttpRequest, query: InboxQuery, counters: dict[str, int] | None) -> dict[str, Any]:
    """The saved views with their counters; without `counters` (they come later, `inbox_counts`), the URL that
    gives them and «…» in their place."""
    can_act = _can_act(request)
    return {
        "views": [
            {
                "view": v,
                "count": None if counters is None else counters[v.code],
                "label": "…" if counters is None else count_label(counters[v.code]),
                "active": v.code == query.view,
            }
            for v in VIEWS
            if v.code != "mine" or can_act  # the director owns no incidents
        ],
        "counts_url": _url("/inbox/counts/", request) if counters is None else "",
    }


def _can_act(request: HttpRequest) -> bool:
    """Whether the user works the inbox (ticks rows, acts in bulk, owns incidents): the service; the director reads."""
    return bool(request.user.is_service)  # type: ignore[union-attr]


def _total_context(count: int | None) -> dict[str, Any]:
    """The list's total as the page's head shows it: the number, «10 000+» past the cap, or (None) «counting…»."""
    return {"total": count, "total_label": count_label(count) if count is not None and is_capped(count) else ""}


@reader_required
@require_http_methods(["GET", "POST"])
def inbox(request: HttpRequest) -> HttpResponse:
    """The inbox; a POST is a bulk action on the ticked rows (the service only), then back to the same list."""
    if request.method == "POST":
        return _bulk(request)
    query = InboxQuery.from_request(request)
    if wants_xlsx(request):
        return export_response(request, query)
    context = _list_context(request, query)
    context["bulk_form"] = BulkActionForm() if context["can_act"] else None
    return render_page(request, "cases/inbox.html", context, partial="list")


@reader_required
@require_GET
def inbox_new_count(request: HttpRequest) -> HttpResponse:
    """How many incidents of the current view and filters arrived since the page was rendered (polled by HTMX)."""
    raw = request.GET.get("since") or ""
    try:
        since = dt.datetime.fromisoformat(raw)
    except ValueError:
        return HttpResponseBadRequest(_("Give the time of the page as since=<ISO 8601>."))
    if timezone.is_naive(since):
        since = timezone.make_aware(since)
    query = InboxQuery.from_request(request)
    count = query.matching().filter(created_at__gt=since).count()
    context = {"new_count": count, "list_url": _url("/inbox/", request, drop=("page", "since"))}
    return render(request, "cases/inbox.html#new_count", context)


@reader_required
@require_GET
def inbox_counts(request: HttpRequest) -> HttpResponse:
    """The saved views' counters and the list's total under the current filters: what a page listed under a filter
    by a period's rows (`InboxQuery.counts_later`) loads after it (HTMX, on load)."""
    query = InboxQuery.from_request(request)
    counters = query.counters()
    context = {**_views_context(request, query, counters), **_total_context(counters[query.view])}
    return render(request, "cases/inbox_counts.html", context)


# --- bulk actions -----------------------------------------------------------------------------------------------


@dataclass
class BulkResult:
    done: list[int] = field(default_factory=list)
    failed: list[tuple[int, str]] = field(default_factory=list)

    def run(self, incident_id: int, call: Callable[[], object]) -> None:
        """Run one item (its service has its own transaction); a refusal is recorded, the loop goes on."""
        try:
            call()
        except DomainError as error:
            self.failed.append((incident_id, error.message))
        except Exception:
            log.exception("bulk action on incident %s failed", incident_id)
            self.failed.append((incident_id, _("Unexpected error; try it from the incident's card.")))
        else:
            self.done.append(incident_id)


ROUTABLE_IN_BULK = frozenset({S.NEW, S.TRIAGE})


def bulk_route(incidents: list[Incident], *, actor: User, result: BulkResult) -> None:
    """Route each incident as its suggested rule says; incidents with no suggestion are reported, not routed.

    Only new and triage incidents: re-routing an incident already at work may cancel a department's assignment,
    which is done deliberately from the card, not in bulk.
    """
    for incident in incidents:
        if incident.status not in ROUTABLE_IN_BULK:
            result.failed.append(
                (
                    incident.pk,
                    _("Already «%(status)s»: change its routing from the card.")
                    % {"status": incident.get_status_display()},
                )
            )
            continue
        text = "\n".join(incident.posts.order_by("posted_at", "pk").values_list("text", flat=True))
        suggestion = suggest_route(incident, text)
        if suggestion is None:
            result.failed.append((incident.pk, _("No routing rule applies: choose the department in the card.")))
            continue
        route = partial(
            do_route,
            incident,
            actor=actor,
            lead=suggestion.lead,
            co_executors=suggestion.co_executors,
            due_hours=suggestion.due_hours,
            rule=suggestion.rule,
        )
        result.run(incident.pk, route)


def bulk_no_answer(incidents: list[Incident], *, actor: User, reason: str, note: str, result: BulkResult) -> None:
    for incident in incidents:
        result.run(incident.pk, partial(do_mark_no_answer, incident, actor=actor, reason=reason, note=note))


def bulk_merge(incidents: list[Incident], *, into: Incident, actor: User, result: BulkResult) -> None:
    for incident in incidents:
        if incident.pk != into.pk:
            result.run(incident.pk, partial(do_merge, incident, into=into, actor=actor))


def _bulk(request: HttpRequest) -> HttpResponse:
    """Validate the bulk form, run the action item by item, report done and failed with reasons, redirect back.

    An invalid form (no rows ticked, no reason…) renders the list again with the error next to the field and the
    ticks kept.
    """
    user: User = request.user  # type: ignore[assignment]
    if not user.is_service:
        raise PermissionDenied(_("Only the feedback service can do this."))
    form = BulkActionForm(request.POST)
    into: Incident | None = None
    incidents: list[Incident] = []
    if form.is_valid():
        ids = form.cleaned_data["ids"]
        visible = selectors.visible_incidents(user)
        incidents = list(visible.filter(pk__in=ids).order_by("created_at", "id"))
        if form.cleaned_data["action"] == BulkAction.MERGE:
            number = form.cleaned_data.get("into")
            if number:
                into = visible.filter(pk=number).first()
                if into is None:
                    form.add_error("into", _("There is no incident №%(id)s.") % {"id": number})
            elif incidents:
                into = incidents[0]
            if into is not None and len({i.pk for i in incidents} | {into.pk}) < 2:
                form.add_error("ids", _("Tick at least two incidents to merge, or give the number to merge into."))
    if not form.is_valid():
        query = InboxQuery.from_request(request)
        posted = {int(v) for v in request.POST.getlist("ids") if v.isdigit()}
        context = _list_context(request, query, checked=frozenset(posted))
        context["bulk_form"] = form
        context["is_partial"] = False
        return render(request, "cases/inbox.html", context, status=400)

    data = form.cleaned_data
    result = BulkResult()
    found = {i.pk for i in incidents}
    for missing in data["ids"]:
        if missing not in found:
            result.failed.append((missing, _("No such incident.")))
    action = data["action"]
    if action == BulkAction.ROUTE:
        bulk_route(incidents, actor=user, result=result)
        label = _("Routed by the rules")
    elif action == BulkAction.NO_ANSWER:
        bulk_no_answer(incidents, actor=user, reason=data["reason"], note=data.get("note") or "", result=result)
        label = _("Marked as needing no answer")
    else:
        assert into is not None  # noqa: S101 - checked above
        bulk_merge(incidents, into=into, actor=user, result=result)
        label = _("Merged into №%(id)s") % {"id": into.pk}
    _report(request, label, result)
    return redirect(request.get_full_path())


def _report(request: HttpRequest, label: str, result: BulkResult) -> None:
    summary = _("%(action)s: done %(done)s, failed %(failed)s.") % {
        "action": label,
        "done": len(result.done),
        "failed": len(result.failed),
    }
    if not result.failed:
        messages.success(request, summary)
        return
    details = "; ".join(f"№{pk}: {reason}" for pk, reason in sorted(result.failed)[:30])
    if len(result.failed) > 30:
        details += "; " + _("and %(n)s more") % {"n": len(result.failed) - 30}
    level = messages.warning if result.done else messages.error
    level(request, f"{summary} {details}")


# --- export -------------------------------------------------------------------------------------------------------


def _field_name(model: Any, name: str) -> str:
    return capfirst(str(model._meta.get_field(name).verbose_name))


def export_columns() -> list[tuple[str, float]]:
    """Headers (Russian, from the model's names where they exist) and column widths."""
    return [
        ("№", 8),
        (_field_name(Incident, "created_at"), 17),
        (_field_name(Incident, "status"), 20),
        (_field_name(Incident, "group"), 24),
        (_field_name(Incident, "topic"), 32),
        (_field_name(Incident, "priority"), 10),
        (_field_name(Incident, "address"), 30),
        (_field_name(Incident, "lead_department"), 30),
        (_field_name(Incident, "owner"), 20),
        (_field_name(Incident, "due_at"), 17),
        (_("Text of the first post"), 80),
        (_field_name(Post, "url"), 40),
    ]


def export_rows(request: HttpRequest, query: InboxQuery) -> Iterator[list[Any]]:
    """The rows of the export, in the order of `export_columns`: one query, read in chunks."""
    queryset = with_first_post(
        query.listing().select_related("group", "topic", "lead_department", "owner"), text_chars=32_000
    )
    for incident in queryset[: EXPORT_LIMIT + 1].iterator(chunk_size=1000):
        link = request.build_absolute_uri(f"/incidents/{incident.pk}/")
        yield [
            incident.pk,
            incident.created_at,
            incident.get_status_display(),
            incident.group.name if incident.group else "",
            incident.topic.name if incident.topic else "",
            "★" if incident.priority else "",
            incident.address,
            incident.lead_department.name if incident.lead_department else "",
            incident.owner.display_name if incident.owner else "",
            incident.due_at,
            mask_personal_data(getattr(incident, "first_text", "") or ""),
            Link(link),
        ]


def export_response(request: HttpRequest, query: InboxQuery) -> HttpResponse:
    """The current filtered list (all pages, at most EXPORT_LIMIT rows) as XLSX."""
    return xlsx_response(
        export_filename("inbox"),
        [(_("Incidents"), export_columns(), export_rows(request, query))],
        limit=EXPORT_LIMIT,
    )


@reader_required
@require_GET
def inbox_export(request: HttpRequest) -> HttpResponse:
    """`/inbox/export.xlsx?…`: the same as `/inbox/?…&format=xlsx`."""
    return export_response(request, InboxQuery.from_request(request))
