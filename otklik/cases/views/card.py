"""The incident card (/incidents/<id>/): everything about one incident on one page, and every action on it.

Who sees what:
- the service (operators, the head, admins) sees the card and acts on it;
- the director sees it read-only (no forms; a POST is 403);
- an executor or a department head sees it read-only when his department has an assignment on the incident (his
  department's assignments and events only; he acts on his assignment's own page); anyone else gets 404.

Every action is a POST handled the same way (`_handle`): validate the form → call one `do_*` service → on success a
message and the fresh card (an HTMX request gets the `card` partial, a plain one a redirect back); on a `DomainError`
the card again, with the message next to the field it concerns and what the user typed kept.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, cast

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.db import transaction
from django.db.models import F, Func, IntegerField, OuterRef, Prefetch, Q, QuerySet, Subquery
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_GET, require_POST

from otklik.accounts.choices import Role
from otklik.answers.choices import AnswerKind, AnswerStatus
from otklik.answers.drafting import draft_texts
from otklik.answers.models import Answer, AnswerVersion, Publication
from otklik.answers.outbox import publishes_automatically
from otklik.answers.services import (
    DRAFTABLE_STATUSES,
    do_approve_answer,
    do_draft_answer,
    do_edit_answer,
    do_publish_answer,
    do_reject_answer,
    do_submit_for_approval,
)
from otklik.cases.choices import (
    INCIDENT_TRANSITIONS,
    OPEN_STATUSES,
    REOPENABLE_STATUSES,
    AssignmentRole,
    AssignmentStatus,
    EventVerb,
    IncidentStatus,
    NoAnswerReason,
)
from otklik.cases.forms_card import (
    PUBLISH,
    AnswerForm,
    AnswerUpdateForm,
    CardForm,
    ClassifyForm,
    CloseForm,
    DetailsForm,
    MergeForm,
    NoAnswerForm,
    RejectAnswerForm,
    ReopenForm,
    RestoreForm,
    ReworkForm,
    RouteForm,
    SplitForm,
    UnmergeForm,
    WaitForm,
)
from otklik.cases.models import Assignment, Event, Incident, ReworkComment
from otklik.cases.selectors import assignments_for_display, visible_incidents
from otklik.cases.services import (
    ROUTABLE_STATUSES,
    do_accept_information,
    do_classify,
    do_close,
    do_mark_no_answer,
    do_merge,
    do_reopen,
    do_restore,
    do_return_for_rework,
    do_route,
    do_split,
    do_stop_waiting,
    do_take,
    do_unmerge,
    do_update_incident,
    do_wait_for_citizen,
)
from otklik.core.decorators import service_required
from otklik.core.errors import DomainError
from otklik.core.htmx import is_region_request, render_page
from otklik.intake.models import Post
from otklik.org.routing import RouteSuggestion, suggest_route
from otklik.sla.models import Clock

if TYPE_CHECKING:
    from otklik.accounts.models import User

TEMPLATE = "cases/card.html"
S = IncidentStatus
A = AssignmentStatus

# Bootstrap Icons per channel (there is no VK or OK icon in the set: a generic one with the channel's name).
CHANNEL_ICONS = {
    "vk": "bi-people-fill",
    "ok": "bi-people",
    "telegram": "bi-telegram",
    "max": "bi-chat-dots-fill",
    "im": "bi-clipboard-data",
    "pos": "bi-building",
    "email": "bi-envelope",
    "api": "bi-code-slash",
}

# Labels of the keys events keep in `before`/`after` (otklik.cases.services and otklik.answers.services).
CHANGE_LABELS = {
    "status": gettext_lazy("status"),
    "lead_department": gettext_lazy("lead department"),
    "co_executors": gettext_lazy("co-executors"),
    "rule": gettext_lazy("rule"),
    "due_at": gettext_lazy("due"),
    "topic": gettext_lazy("topic"),
    "group": gettext_lazy("group"),
    "priority": gettext_lazy("priority"),
    "confidence": gettext_lazy("confidence"),
    "owner": gettext_lazy("owner"),
    "address": gettext_lazy("address"),
    "territory": gettext_lazy("territory"),
    "department": gettext_lazy("department"),
    "assignee": gettext_lazy("executor"),
    "kind": gettext_lazy("kind"),
    "link": gettext_lazy("link"),
    "merged_into": gettext_lazy("merged into"),
    "incident": gettext_lazy("incident"),
    "attachments": gettext_lazy("attachments"),
    "post_ids": gettext_lazy("posts"),
}
# Keys that only link records together (the answer's id): not worth a line in the timeline.
HIDDEN_CHANGE_KEYS = frozenset({"answer"})


def _user(request: HttpRequest) -> User:
    return cast("User", request.user)


def _is_head(user: User) -> bool:
    if user.is_superuser or user.role in {Role.HEAD, Role.ADMIN}:
        return True
    from otklik.sla.services import is_delegate

    return is_delegate(user)


class _LazyFlag:
    """A yes/no the template asks for only in some states (reading it may cost a query): computed on first use."""

    def __init__(self, compute: Callable[[], bool]) -> None:
        self._compute = compute
        self._value: bool | None = None

    def __bool__(self) -> bool:
        if self._value is None:
            self._value = bool(self._compute())
        return self._value

    def __eq__(self, other: object) -> bool:
        return bool(self) == other

    __hash__ = None  # type: ignore[assignment]

    def __str__(self) -> str:
        return str(bool(self))


# --- reading -------------------------------------------------------------------------------------------------


def card_queryset(user: User) -> QuerySet[Incident]:
    """Visible incidents with everything the card shows, in a fixed number of queries (events come separately).

    A department user gets only his department's assignments (`assignments_for_display` filters them).
    """
    assignments = (
        assignments_for_display(user)
        .select_related("submitted_by")
        .prefetch_related(
            Prefetch("rework_comments", queryset=ReworkComment.objects.select_related("author").order_by("pk"))
        )
    )
    return (
        visible_incidents(user)
        .select_related("topic", "group", "lead_department", "owner", "territory", "merged_into", "routing_rule")
        .prefetch_related(
            Prefetch("posts", queryset=Post.objects.select_related("source").order_by("posted_at", "id")),
            Prefetch("assignments", queryset=assignments),
            Prefetch(
                "answers",
                queryset=Answer.objects.select_related("author", "published_by", "approved_by")
                .prefetch_related(
                    # Read by the answer's partials (otklik.answers.templatetags): one query for all the answers.
                    Prefetch(
                        "publications",
                        queryset=Publication.objects.select_related("post").order_by("id"),
                        to_attr="prefetched_publications",
                    ),
                    Prefetch(
                        "versions",
                        queryset=AnswerVersion.objects.select_related("author").order_by("number"),
                        to_attr="prefetched_versions",
                    ),
                )
                .order_by("created_at", "id"),
            ),
        )
        # The posts of the incidents merged into this one, for the media brief's count (its own posts are loaded).
        .annotate(merged_post_count=_merged_post_count())
    )


def _merged_post_count() -> Subquery:
    """The number of posts of the incidents merged into the outer incident (0 when none), in the incident's query."""
    return Subquery(
        Post.objects.filter(incident__merged_into=OuterRef("pk"))
        .order_by()
        .annotate(n=Func(F("pk"), function="COUNT"))
        .values("n")[:1],
        output_field=IntegerField(),
    )


def timeline(incident: Incident, user: User) -> list[Event]:
    """The incident's events, oldest first; a department user sees none about other departments' assignments."""
    events = Event.objects.filter(incident=incident).select_related("actor", "assignment__department")
    if user.is_department_user:
        events = events.filter(Q(assignment__isnull=True) | Q(assignment__department_id=user.department_id))
    result = list(events.order_by("created_at", "id"))
    for event in result:
        event.changes = describe_changes(event)  # type: ignore[attr-defined]
    return result


@dataclass(frozen=True)
class Change:
    label: str
    before: str
    after: str


def _format_value(key: str, value: Any) -> str:
    if value is None or value == "" or value == []:
        return "—"
    if key == "status" and value in S.values:
        return str(S(value).label)
    if key == "kind" and value in AnswerKind.values:
        return str(AnswerKind(value).label)
    if key == "confidence" and isinstance(value, int | float) and not isinstance(value, bool):
        return f"{round(value * 100)} %"
    if isinstance(value, bool) or value in ("True", "False"):
        return _("yes") if value in (True, "True") else _("no")
    if key == "due_at" and isinstance(value, str):
        try:
            return timezone.localtime(dt.datetime.fromisoformat(value)).strftime("%d.%m.%Y %H:%M")
        except ValueError:
            return value
    if key in {"merged_into", "incident"}:
        return f"№{value}"
    if isinstance(value, list):
        return ", ".join(str(v) for v in value)
    return str(value)


def describe_changes(event: Event) -> list[Change]:
    """`before` → `after` of an event as readable lines (a value only after, e.g. a new department, has no «before»)."""
    before = event.before or {}
    after = event.after or {}
    hidden = set(HIDDEN_CHANGE_KEYS)
    if event.assignment_id:
        hidden.add("department")  # the timeline names the assignment's department already
    if not after.get("attachments"):
        hidden.add("attachments")
    keys = [k for k in dict.fromkeys([*before, *after]) if k not in hidden]
    changes = []
    for key in keys:
        old = _format_value(key, before[key]) if key in before else ""
        new = _format_value(key, after.get(key))
        if old != new and (old or new != "—"):
            changes.append(Change(label=str(CHANGE_LABELS.get(key, key)), before=old, after=new))
    return changes


def web_link(url: str) -> str:
    """The URL when it is an http(s) link (a post imported from a file may carry anything), else ""."""
    url = (url or "").strip()
    return url if url.lower().startswith(("https://", "http://")) else ""


def _suggestion(incident: Incident, posts: list[Post]) -> RouteSuggestion | None:
    return suggest_route(incident, "\n".join(p.text for p in posts))


def build_context(
    request: HttpRequest,
    incident: Incident,
    *,
    bound: dict[str, CardForm] | None = None,
    errors: dict[str, str] | None = None,
    editing: str = "",
) -> dict[str, Any]:
    """Everything the card template needs. `bound` holds the forms that failed (their data and errors are shown);
    `errors` messages of actions without a form (take, accept), by the action's key."""
    user = _user(request)
    bound = bound or {}
    errors = errors or {}
    can_act = user.is_service
    # Asked only by an answer on approval and the answer editor's override block (a delegation is a query).
    is_head = _LazyFlag(lambda: _is_head(user))
    posts = list(incident.posts.all())
    for post in posts:
        post.icon = CHANNEL_ICONS.get(post.source.channel, "bi-chat")  # type: ignore[attr-defined]
        post.safe_url = web_link(post.url)  # type: ignore[attr-defined]
    assignments = list(incident.assignments.all())
    # Deadlines: the running and paused ones first, then the last few that ended.
    clocks = Clock.objects.filter(incident=incident)
    if user.is_department_user:
        # A department sees the incident's own deadlines and its own assignments', not other departments'.
        clocks = clocks.filter(Q(assignment__isnull=True) | Q(assignment__department_id=user.department_id))
    all_clocks = list(clocks.select_related("assignment__department").order_by("-created_at", "-pk"))
    open_clocks = [c for c in all_clocks if c.is_open]
    closed_clocks = [c for c in all_clocks if not c.is_open and c.state != "stopped"][:6]
    lead_accepted = False
    lead_info = ""
    # The departments' information is checked while the incident is in work (reopening asks them again).
    checking = can_act and incident.status in OPEN_STATUSES
    for a in assignments:
        a.clock_done = not a.is_open  # type: ignore[attr-defined]
        a.can_accept = checking and a.status == A.SUBMITTED  # type: ignore[attr-defined]
        a.can_rework = checking and a.status in {A.SUBMITTED, A.ACCEPTED}  # type: ignore[attr-defined]
        a.rework_form = bound.get(f"rework-{a.pk}") or ReworkForm(auto_id=f"id_rework{a.pk}_%s")  # type: ignore[attr-defined]
        a.rework_open = f"rework-{a.pk}" in bound  # type: ignore[attr-defined]
        a.error = errors.get(f"accept-{a.pk}", "")  # type: ignore[attr-defined]
        a.is_own = user.is_department_user and a.department_id == user.department_id  # type: ignore[attr-defined]
        if a.role == AssignmentRole.LEAD and a.status == A.ACCEPTED:
            lead_accepted = True
            lead_info = a.information
    active_assignments = [a for a in assignments if a.status not in {A.CANCELLED, A.DECLINED}]

    answers = list(incident.answers.all())
    published = [a for a in answers if a.status == AnswerStatus.PUBLISHED]
    for answer in published:
        answer.safe_link = web_link(answer.link)  # type: ignore[attr-defined]
    pending = [a for a in answers if a.status in {AnswerStatus.DRAFT, AnswerStatus.APPROVAL, AnswerStatus.APPROVED}]
    # An answer on approval or approved is on its way: no second one is started meanwhile.
    in_flight = any(a.status in {AnswerStatus.APPROVAL, AnswerStatus.APPROVED} for a in pending)
    status = incident.status
    suggestion = _suggestion(incident, posts) if (user.can_read_all and status in ROUTABLE_STATUSES and posts) else None
    lead_name = (
        incident.lead_department.name if incident.lead_department else (suggestion.lead.name if suggestion else "")
    )
    templates = draft_texts(incident, posts=posts, lead_info=lead_info, lead_name=lead_name)
    for answer in pending:
        answer.update_form = bound.get(f"answer-{answer.pk}") or AnswerUpdateForm(  # type: ignore[attr-defined]
            initial={"text": answer.text, "promised_date": answer.promised_date},
            auto_id=f"id_answer{answer.pk}_%s",
        )
        answer.reject_form = bound.get(f"reject-{answer.pk}") or RejectAnswerForm(  # type: ignore[attr-defined]
            auto_id=f"id_reject{answer.pk}_%s"
        )
        answer.reject_open = f"reject-{answer.pk}" in bound  # type: ignore[attr-defined]
        answer.error = errors.get(f"approve-{answer.pk}", "")  # type: ignore[attr-defined]
    events = timeline(incident, user)
    rejections = [e for e in events if e.verb == EventVerb.ANSWER_REJECTED]
    last_rejection = rejections[-1] if rejections else None

    if "classify" in bound or "details" in bound:
        editing = "classify" if "classify" in bound else "details"
    forms: dict[str, Any] = {}
    if can_act:
        default_kind = AnswerKind.FINAL if lead_accepted or status == S.ANSWERED else AnswerKind.PRIMARY
        route_initial: dict[str, Any] = {"due_hours": settings.OTKLIK_ASSIGNMENT_HOURS}
        if suggestion:
            route_initial = {
                "lead": suggestion.lead.pk,
                "co_executors": [d.pk for d in suggestion.co_executors],
                "due_hours": suggestion.due_hours,
            }
        elif incident.lead_department_id:
            route_initial["lead"] = incident.lead_department_id
            route_initial["co_executors"] = [a.department_id for a in active_assignments if a.role == AssignmentRole.CO]
        defaults: dict[str, Callable[[], CardForm]] = {
            "classify": lambda: ClassifyForm(initial={"topic": incident.topic_id}, current=incident.topic),
            "details": lambda: DetailsForm(
                initial={
                    "address": incident.address,
                    "territory": incident.territory_id,
                    "priority": incident.priority,
                }
            ),
            "no_answer": lambda: NoAnswerForm(),
            "restore": lambda: RestoreForm(),
            "wait": lambda: WaitForm(),
            "merge": lambda: MergeForm(),
            "split": lambda: SplitForm(posts=posts),
            "unmerge": lambda: UnmergeForm(),
            "route": lambda: RouteForm(initial=route_initial),
            "answer": lambda: AnswerForm(initial={"kind": default_kind, "text": templates[default_kind]}),
            "close": lambda: CloseForm(),
            "reopen": lambda: ReopenForm(),
        }
        for key, make in defaults.items():
            # The topic list and the territories are read only when their block is being edited.
            if key in {"classify", "details"} and key != editing:
                continue
            forms[key] = bound.get(key) or make()

    answer_form = forms.get("answer")
    current_kind = str(answer_form["kind"].value() or "") if answer_form is not None else ""
    kinds = [
        {"value": value, "label": label, "template": templates[value], "checked": value == current_kind}
        for value, label in AnswerKind.choices
    ]
    flags = {
        "can_no_answer": can_act and S.NO_ANSWER in INCIDENT_TRANSITIONS[status],
        "can_merge": can_act and S.MERGED in INCIDENT_TRANSITIONS[status],
        "can_split": can_act and status in OPEN_STATUSES and len(posts) > 1,
        "can_restore": can_act and status == S.NO_ANSWER,
        "can_wait": can_act and status in OPEN_STATUSES and status != S.APPROVAL and incident.waiting_since is None,
        "can_stop_waiting": can_act and incident.waiting_since is not None,
        "can_unmerge": can_act and status == S.MERGED,
        "can_close": can_act and status == S.ANSWERED,
        "can_reopen": can_act and status in REOPENABLE_STATUSES,
    }
    return {
        "open_clocks": open_clocks,
        "closed_clocks": closed_clocks,
        **flags,
        "has_incident_actions": any(flags.values()),
        "incident": incident,
        "posts": posts,
        "events": events,
        "assignments": assignments,
        "active_assignments": active_assignments,
        "published_answers": published,
        "pending_answers": pending,
        "last_rejection": last_rejection,
        "suggestion": suggestion,
        "lead_accepted": lead_accepted,
        "can_act": can_act,
        "is_head": is_head,
        "read_only": not can_act,
        "forms": forms,
        "bound": set(bound),
        "errors": errors,
        "editing": editing if can_act else "",
        "kinds": kinds,
        "current_kind": current_kind,
        "final_blocked": current_kind == AnswerKind.FINAL and not lead_accepted,
        "own_assignment": next((a for a in assignments if getattr(a, "is_own", False)), None),
        "show_routing": status in ROUTABLE_STATUSES and user.can_read_all,
        "is_routed": status in {S.ROUTED, S.ANSWERING} and incident.lead_department_id is not None,
        "can_answer": can_act and status in DRAFTABLE_STATUSES and not in_flight,
        # A returned draft is the answer to work on: a new one is offered folded.
        "fold_new_answer": bool(pending) and "answer" not in bound,
        "can_take": can_act and incident.owner_id != user.pk and status not in {S.MERGED},
        "close_after_final": settings.OTKLIK_CLOSE_AFTER_FINAL_ANSWER,
        "inline_messages": is_region_request(request),
        "no_answer_reason_label": (
            NoAnswerReason(incident.no_answer_reason).label if incident.no_answer_reason else ""
        ),
    }


def _get_incident(request: HttpRequest, pk: int) -> Incident:
    return get_object_or_404(card_queryset(_user(request)), pk=pk)


def render_card(
    request: HttpRequest,
    pk: int,
    *,
    partial: str = "card",
    bound: dict[str, CardForm] | None = None,
    errors: dict[str, str] | None = None,
    editing: str = "",
) -> HttpResponse:
    """The card, freshly read: the full page, or only `partial` for an HTMX request."""
    incident = _get_incident(request, pk)
    context = build_context(request, incident, bound=bound, errors=errors, editing=editing)
    return render_page(request, TEMPLATE, context, partial=partial)


@login_required
@require_GET
def card(request: HttpRequest, pk: int) -> HttpResponse:
    """The card. `?edit=classify|details` opens a block of «what Otklik understood» for editing; an HTMX request
    with `edit` or `block=understood` gets only that block. Not visible to the user → 404."""
    editing = request.GET.get("edit", "")
    if editing not in {"classify", "details"}:
        editing = ""
    partial = "understood" if editing or request.GET.get("block") == "understood" else "card"
    return render_card(request, pk, partial=partial, editing=editing)


@service_required
@require_GET
def merge_preview(request: HttpRequest, pk: int) -> HttpResponse:
    """A short look at the incident an operator is about to merge into (HTMX, as the number is typed)."""
    # Asked as the number is typed: only what the preview shows is read (not the whole card of either incident).
    user = _user(request)
    incident = get_object_or_404(visible_incidents(user), pk=pk)
    raw = (request.GET.get("into") or "").strip().removeprefix("#").removeprefix("№")
    target = None
    if raw.isdigit() and len(raw) < 12:
        target = (
            visible_incidents(user)
            .select_related("topic")
            .prefetch_related(Prefetch("posts", queryset=Post.objects.order_by("posted_at", "id")))
            .filter(pk=int(raw))
            .exclude(pk=incident.pk)
            .first()
        )
    first_post = next(iter(target.posts.all()), None) if target else None
    return render(
        request,
        "cases/card_merge_preview.html",
        {"incident": incident, "target": target, "first_post": first_post, "asked": bool(raw)},
    )


# --- acting --------------------------------------------------------------------------------------------------


def _add_domain_error(form: CardForm, exc: DomainError, *, aliases: dict[str, str] | None = None) -> None:
    field = (aliases or {}).get(exc.field or "", exc.field)
    form.add_error(field if field in form.fields else None, exc.message)


def _handle(
    request: HttpRequest,
    pk: int,
    key: str,
    form: CardForm | None,
    perform: Callable[[dict[str, Any]], str],
    *,
    aliases: dict[str, str] | None = None,
) -> HttpResponse:
    """Validate → perform (one or more services in one transaction) → the fresh card, or the errors."""
    errors: dict[str, str] = {}
    if form is None or form.is_valid():
        try:
            with transaction.atomic():
                message = perform(form.cleaned_data if form is not None else {})
        except DomainError as exc:
            if form is None:
                errors[key] = exc.message
            else:
                _add_domain_error(form, exc, aliases=aliases)
        else:
            messages.success(request, message)
            if is_region_request(request):
                return render_card(request, pk)
            return redirect(f"/incidents/{pk}/")
    return render_card(request, pk, bound={key: form} if form is not None else {}, errors=errors)


@service_required
@require_POST
def take(request: HttpRequest, pk: int) -> HttpResponse:
    incident = _get_incident(request, pk)
    user = _user(request)

    def perform(_data: dict[str, Any]) -> str:
        do_take(incident, actor=user)
        return _("You took the incident.")

    return _handle(request, pk, "take", None, perform)


@service_required
@require_POST
def classify(request: HttpRequest, pk: int) -> HttpResponse:
    incident = _get_incident(request, pk)
    user = _user(request)
    form = ClassifyForm(request.POST, current=incident.topic)

    def perform(data: dict[str, Any]) -> str:
        topic = data["topic"]
        # Saving the same topic again is no change (and no event); confirming the classifier's guess is one.
        if topic.pk != incident.topic_id or incident.confidence != 1.0:
            do_classify(incident, topic=topic, confidence=1.0, actor=user)
        return _("Topic set: %(topic)s (%(group)s).") % {"topic": topic, "group": topic.group}

    return _handle(request, pk, "classify", form, perform)


@service_required
@require_POST
def update_details(request: HttpRequest, pk: int) -> HttpResponse:
    incident = _get_incident(request, pk)
    user = _user(request)
    form = DetailsForm(request.POST)

    def perform(data: dict[str, Any]) -> str:
        do_update_incident(
            incident,
            actor=user,
            address=data["address"].strip(),
            territory=data["territory"],
            priority=data["priority"],
        )
        return _("The details are saved.")

    return _handle(request, pk, "details", form, perform)


@service_required
@require_POST
def mark_no_answer(request: HttpRequest, pk: int) -> HttpResponse:
    incident = _get_incident(request, pk)
    user = _user(request)
    form = NoAnswerForm(request.POST)

    def perform(data: dict[str, Any]) -> str:
        do_mark_no_answer(incident, actor=user, reason=data["reason"], note=data["note"].strip())
        return _("Marked: no answer needed.")

    return _handle(request, pk, "no_answer", form, perform)


@service_required
@require_POST
def wait_for_citizen(request: HttpRequest, pk: int) -> HttpResponse:
    incident = _get_incident(request, pk)
    user = _user(request)
    form = WaitForm(request.POST)

    def perform(data: dict[str, Any]) -> str:
        do_wait_for_citizen(incident, actor=user, note=data["note"])
        return _("The deadlines are paused until the citizen replies.")

    return _handle(request, pk, "wait", form, perform)


@service_required
@require_POST
def stop_waiting(request: HttpRequest, pk: int) -> HttpResponse:
    incident = _get_incident(request, pk)
    user = _user(request)

    def perform(_data: dict[str, Any]) -> str:
        do_stop_waiting(incident, actor=user, note=_("The operator stopped waiting."))
        return _("The deadlines run again.")

    return _handle(request, pk, "stop_waiting", None, perform)


@service_required
@require_POST
def restore(request: HttpRequest, pk: int) -> HttpResponse:
    incident = _get_incident(request, pk)
    user = _user(request)
    form = RestoreForm(request.POST)

    def perform(data: dict[str, Any]) -> str:
        do_restore(incident, actor=user, note=data["note"])
        return _("The incident is back in work (triage).")

    return _handle(request, pk, "restore", form, perform)


@service_required
@require_POST
def merge(request: HttpRequest, pk: int) -> HttpResponse:
    incident = _get_incident(request, pk)
    user = _user(request)
    form = MergeForm(request.POST)

    def perform(data: dict[str, Any]) -> str:
        target = visible_incidents(user).filter(pk=data["into"]).first()
        if target is None:
            raise DomainError(_("There is no incident №%(id)s.") % {"id": data["into"]}, field="into")
        do_merge(incident, into=target, actor=user, note=data["note"].strip())
        return _("Merged into №%(id)s.") % {"id": target.pk}

    return _handle(request, pk, "merge", form, perform)


@service_required
@require_POST
def split(request: HttpRequest, pk: int) -> HttpResponse:
    incident = _get_incident(request, pk)
    user = _user(request)
    form = SplitForm(request.POST, posts=list(incident.posts.all()))

    def perform(data: dict[str, Any]) -> str:
        new = do_split(incident, post_ids=data["post_ids"], actor=user, note=data["note"].strip())
        return _("The chosen posts are now incident №%(id)s (in triage).") % {"id": new.pk}

    return _handle(request, pk, "split", form, perform)


@service_required
@require_POST
def unmerge(request: HttpRequest, pk: int) -> HttpResponse:
    incident = _get_incident(request, pk)
    user = _user(request)
    form = UnmergeForm(request.POST)

    def perform(data: dict[str, Any]) -> str:
        do_unmerge(incident, actor=user, note=data["note"].strip())
        return _("The incident is separated again (in triage).")

    return _handle(request, pk, "unmerge", form, perform)


@service_required
@require_POST
def route(request: HttpRequest, pk: int) -> HttpResponse:
    """Confirm the suggested route in one click (`confirm=<rule id>`), or route as the form says."""
    incident = _get_incident(request, pk)
    user = _user(request)
    if "confirm" in request.POST:

        def confirm(_data: dict[str, Any]) -> str:
            suggestion = _suggestion(incident, list(incident.posts.all()))
            if suggestion is None or str(suggestion.rule.pk) != request.POST["confirm"]:
                raise DomainError(_("The suggestion has changed; check it and confirm again."))
            do_route(
                incident,
                actor=user,
                lead=suggestion.lead,
                co_executors=suggestion.co_executors,
                due_hours=suggestion.due_hours,
                rule=suggestion.rule,
            )
            return _routed_message([suggestion.lead, *suggestion.co_executors])

        return _handle(request, pk, "route_confirm", None, confirm)

    form = RouteForm(request.POST)

    def perform(data: dict[str, Any]) -> str:
        co = list(data["co_executors"])
        do_route(
            incident,
            actor=user,
            lead=data["lead"],
            co_executors=co,
            due_hours=data["due_hours"],
            request=data["request"].strip(),
        )
        return _routed_message([data["lead"], *co])

    return _handle(request, pk, "route", form, perform, aliases={"due_at": "due_hours"})


def _routed_message(departments: list[Any]) -> str:
    names = ", ".join(dict.fromkeys(d.name for d in departments))
    return _("Sent to: %(departments)s. The departments are notified.") % {"departments": names}


def _assignment(incident: Incident, assignment_pk: int) -> Assignment:
    return get_object_or_404(Assignment.objects.select_related("department"), pk=assignment_pk, incident=incident)


@service_required
@require_POST
def accept_information(request: HttpRequest, pk: int, assignment_pk: int) -> HttpResponse:
    incident = _get_incident(request, pk)
    assignment = _assignment(incident, assignment_pk)
    user = _user(request)

    def perform(_data: dict[str, Any]) -> str:
        do_accept_information(assignment, actor=user)
        return _("The information of %(department)s is accepted.") % {"department": assignment.department}

    return _handle(request, pk, f"accept-{assignment.pk}", None, perform)


@service_required
@require_POST
def return_for_rework(request: HttpRequest, pk: int, assignment_pk: int) -> HttpResponse:
    incident = _get_incident(request, pk)
    assignment = _assignment(incident, assignment_pk)
    user = _user(request)
    form = ReworkForm(request.POST, auto_id=f"id_rework{assignment.pk}_%s")

    def perform(data: dict[str, Any]) -> str:
        do_return_for_rework(assignment, actor=user, comment=data["comment"], criteria=data["criteria"])
        return _("Returned to %(department)s for rework; the department is notified.") % {
            "department": assignment.department
        }

    return _handle(request, pk, f"rework-{assignment.pk}", form, perform)


def _publish_or_submit(answer: Answer, data: dict[str, Any], user: User) -> str:
    if data["action"] == PUBLISH:
        do_publish_answer(
            answer,
            actor=user,
            link=data["link"],
            override_reason=data["override_reason"],
            quality_override_reason=data["quality_override_reason"].strip(),
        )
        return _("The answer is published.")
    do_submit_for_approval(answer, actor=user)
    return _("The answer is sent for approval.")


@service_required
@require_POST
def new_answer(request: HttpRequest, pk: int) -> HttpResponse:
    """Write an answer and publish it (or send it for approval) in one step: a failed publication keeps no draft."""
    incident = _get_incident(request, pk)
    user = _user(request)
    form = AnswerForm(request.POST, link_required=not publishes_automatically(incident))

    def perform(data: dict[str, Any]) -> str:
        kind = data["kind"]
        answer = do_draft_answer(
            incident,
            actor=user,
            kind=kind,
            text=data["text"],
            promised_date=data["promised_date"] if kind == AnswerKind.INTERMEDIATE else None,
        )
        return _publish_or_submit(answer, data, user)

    return _handle(request, pk, "answer", form, perform)


def _answer(incident: Incident, answer_pk: int) -> Answer:
    return get_object_or_404(Answer, pk=answer_pk, incident=incident)


@service_required
@require_POST
def update_answer(request: HttpRequest, pk: int, answer_pk: int) -> HttpResponse:
    """An answer already written: a draft (edited, then published or sent for approval) or an approved one."""
    incident = _get_incident(request, pk)
    answer = _answer(incident, answer_pk)
    user = _user(request)
    form = AnswerUpdateForm(
        request.POST, auto_id=f"id_answer{answer.pk}_%s", link_required=not publishes_automatically(incident)
    )

    def perform(data: dict[str, Any]) -> str:
        current = answer
        if answer.status == AnswerStatus.DRAFT:
            current = do_edit_answer(
                answer,
                actor=user,
                text=data["text"],
                promised_date=data["promised_date"] if answer.kind == AnswerKind.INTERMEDIATE else None,
            )
        return _publish_or_submit(current, data, user)

    return _handle(request, pk, f"answer-{answer.pk}", form, perform)


@service_required
@require_POST
def approve_answer(request: HttpRequest, pk: int, answer_pk: int) -> HttpResponse:
    incident = _get_incident(request, pk)
    answer = _answer(incident, answer_pk)
    user = _user(request)

    def perform(_data: dict[str, Any]) -> str:
        do_approve_answer(answer, actor=user)
        return _("The answer is approved; it can be published.")

    return _handle(request, pk, f"approve-{answer.pk}", None, perform)


@service_required
@require_POST
def reject_answer(request: HttpRequest, pk: int, answer_pk: int) -> HttpResponse:
    incident = _get_incident(request, pk)
    answer = _answer(incident, answer_pk)
    user = _user(request)
    form = RejectAnswerForm(request.POST, auto_id=f"id_reject{answer.pk}_%s")

    def perform(data: dict[str, Any]) -> str:
        do_reject_answer(answer, actor=user, comment=data["comment"])
        return _("The answer is returned to its author.")

    return _handle(request, pk, f"reject-{answer.pk}", form, perform)


@service_required
@require_POST
def close(request: HttpRequest, pk: int) -> HttpResponse:
    incident = _get_incident(request, pk)
    user = _user(request)
    form = CloseForm(request.POST)

    def perform(data: dict[str, Any]) -> str:
        do_close(incident, actor=user, note=data["note"].strip())
        return _("The incident is closed.")

    return _handle(request, pk, "close", form, perform)


@service_required
@require_POST
def reopen(request: HttpRequest, pk: int) -> HttpResponse:
    incident = _get_incident(request, pk)
    user = _user(request)
    form = ReopenForm(request.POST)

    def perform(data: dict[str, Any]) -> str:
        do_reopen(incident, actor=user, reason=data["reason"], to=data["to"])
        return _("The incident is reopened.")

    return _handle(request, pk, "reopen", form, perform)
