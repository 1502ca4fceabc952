"""The permission matrix (issue 9, "Security"): every URL of the project × every role → the expected answer.

Every URL pattern is enumerated from the resolver (pages, the API, the documents, the admin site), so a new URL
without a line in `MATRIX` (or a line left behind for a removed URL) fails `test_every_url_has_a_line_in_the_matrix`.

Each line says who may use the URL (an access level, see `LEVELS`) and, for URLs with an object, which object to
use: one of department A (housing) or of department B (roads). The department's users (an executor and the
department head of A) are tried on A's object and on B's object; the service, the director and the admin on A's.

- GET for every (URL, role): an allowed role gets `ok` (200 unless said otherwise; 405 on a POST-only URL, which
  proves the gate was passed); an anonymous visitor or an inactive user is sent to log in (302 to /login/, or to
  /admin/login/ on the admin site; 401 in the API); a role without the right gets 403; an object outside the
  user's view is a 404.
- POST with every denied role on every state-changing URL: the same refusal, and nothing in the database changes
  (every table is compared before and after, sessions aside).

The objects are built once per module (`world`), inside a transaction rolled back at the end; every test runs in a
savepoint of its own. Personas log in by a session (pages) or a knox token (the API) made once.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from types import SimpleNamespace
from typing import Any

import pytest
from django.apps import apps
from django.conf import settings as django_settings
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import transaction
from django.test import Client, override_settings
from django.urls import URLPattern, URLResolver, get_resolver, reverse
from django.utils import timezone
from knox.models import AuthToken

from otklik.answers.choices import AnswerKind, PublicationStatus
from otklik.answers.models import AnswerTemplate, ApprovalRule, Article, Publication
from otklik.answers.services import do_draft_answer
from otklik.cases.services import do_route, do_submit_information
from otklik.intake.choices import ImportStatus
from otklik.intake.models import ImportJob
from otklik.intake.services import default_source, do_create_import_job
from otklik.nlp.models import Spike, SpikeKind, SpikeWindow
from otklik.notifications.services import do_notify
from otklik.org.models import RoutingRule, TopicGroup
from otklik.sla.models import CalendarDay, DutyShift, SlaPolicy
from otklik.sla.services import do_delegate
from otklik.stats.models import ReportSubscription
from tests.factories import ingest, make_department, make_user

# Permissions do not depend on the database: the SQLite pass runs this sweep, the PostgreSQL pass skips it.
pytestmark = pytest.mark.once

# --- roles ---------------------------------------------------------------------------------------------------

#: Who is tried on every URL. `executor` and `dept_head` belong to department A (housing).
ROLES = ("anonymous", "inactive", "operator", "head", "director", "admin", "executor", "dept_head")
DEPARTMENT_PERSONAS = ("executor", "dept_head")
SERVICE = frozenset({"operator", "head", "admin"})
READERS = SERVICE | {"director"}
HEADS = frozenset({"head", "admin"})


# --- access levels: (role, scope) → "ok" or the status of the refusal ------------------------------------------


def _public(role: str, scope: str) -> str | int:
    return "ok"


def _authenticated(role: str, scope: str) -> str | int:
    return "ok"


def _among(roles: frozenset[str]) -> Callable[[str, str], str | int]:
    def level(role: str, scope: str) -> str | int:
        return "ok" if role in roles else 403

    return level


def _department(role: str, scope: str) -> str | int:
    """Executors and department heads, on their own department's objects (another department's: 404)."""
    if role not in DEPARTMENT_PERSONAS:
        return 403
    return "ok" if scope == "A" else 404


def _visible(role: str, scope: str) -> str | int:
    """Readers (the service, the director) see everything; a department sees what it has an assignment on."""
    if role in READERS:
        return "ok"
    return "ok" if scope == "A" else 404


def _service_on_visible(role: str, scope: str) -> str | int:
    """Only the service acts; a department user gets 404 for what he cannot see and 403 for what he can."""
    if role in SERVICE:
        return "ok"
    if role in DEPARTMENT_PERSONAS and scope == "B":
        return 404
    return 403


def _head_on_visible(role: str, scope: str) -> str | int:
    if role in HEADS:
        return "ok"
    if role in DEPARTMENT_PERSONAS and scope == "B":
        return 404
    return 403


def _actor_on_visible(role: str, scope: str) -> str | int:
    """The service, or the department of the assignment (the director reads only)."""
    if role in SERVICE:
        return "ok"
    if role in DEPARTMENT_PERSONAS:
        return "ok" if scope == "A" else 404
    return 403


def _dept_head_on_visible(role: str, scope: str) -> str | int:
    """The service, or the head of the assignment's department (not an executor)."""
    if role in SERVICE or (role == "dept_head" and scope == "A"):
        return "ok"
    if role in DEPARTMENT_PERSONAS and scope == "B":
        return 404
    return 403


def _visible_letter(role: str, scope: str) -> str | int:
    """As `visible`, but another department's assignment is a 403 (tests/documents/test_letters.py wants it)."""
    if role in READERS:
        return "ok"
    return "ok" if scope == "A" else 403


def _staff(role: str, scope: str) -> str | int:
    return "ok" if role == "admin" else "admin-login"


LEVELS: dict[str, Callable[[str, str], str | int]] = {
    "public": _public,
    "authenticated": _authenticated,
    "readers": _among(READERS),
    "service": _among(SERVICE),
    "head": _among(HEADS),
    "department": _department,
    "visible": _visible,
    "service-on-visible": _service_on_visible,
    "head-on-visible": _head_on_visible,
    "actor-on-visible": _actor_on_visible,
    "dept-head-on-visible": _dept_head_on_visible,
    "visible-letter": _visible_letter,
    "staff": _staff,
}
#: Levels whose answer depends on the object's department: department users are tried on A's and on B's object.
SCOPED_LEVELS = frozenset(
    {
        "department",
        "visible",
        "visible-letter",
        "service-on-visible",
        "head-on-visible",
        "actor-on-visible",
        "dept-head-on-visible",
    }
)


Kwargs = Callable[[SimpleNamespace, str], dict[str, Any]]


@dataclass(frozen=True)
class Entry:
    access: str
    kwargs: Kwargs | None = None
    #: The GET status of an allowed role (405: a POST-only URL; 302: a page that sends elsewhere).
    ok: int | tuple[int, ...] = 200
    #: State-changing: denied roles' POST is refused and changes nothing.
    post: bool = False
    #: Who may POST, when not the same as who may GET (the inbox: the director reads, only the service acts).
    post_access: str | None = None
    query: str = ""
    #: Per-role answers that differ from the level, e.g. {"executor": 302}.
    special: dict[str, str | int] = field(default_factory=dict)
    #: A GET on a POST-only action of the API is refused by the method (405) once the user is authenticated.
    api_action: bool = False

    #: The method is checked before the login (`require_POST` outside the role's decorator): every GET is a 405.
    method_first: bool = False

    @property
    def scoped(self) -> bool:
        levels = {self.access, self.post_access}
        return self.kwargs is not None and bool(levels & SCOPED_LEVELS)


def E(access: str, kwargs: Kwargs | None = None, **options: Any) -> Entry:  # noqa: N802 (a table constructor)
    return Entry(access, kwargs, **options)


def pk(attr: str) -> Kwargs:
    """`{"pk": world.<attr>[scope].pk}` for per-department objects, `{"pk": world.<attr>.pk}` for the others."""

    def build(w: SimpleNamespace, scope: str) -> dict[str, Any]:
        obj = getattr(w, attr)
        return {"pk": (obj[scope] if isinstance(obj, dict) else obj).pk}

    return build


def incident_assignment(w: SimpleNamespace, scope: str) -> dict[str, Any]:
    return {"pk": w.incident[scope].pk, "assignment_pk": w.assignment[scope].pk}


def incident_answer(w: SimpleNamespace, scope: str) -> dict[str, Any]:
    return {"pk": w.incident[scope].pk, "answer_pk": w.answer[scope].pk}


def fixed(**kwargs: Any) -> Kwargs:
    return lambda w, scope: dict(kwargs)


INCIDENT = pk("incident")
ASSIGNMENT = pk("assignment")

# --- the matrix: route → who may use it ----------------------------------------------------------------------

MATRIX: dict[str, Entry] = {
    "": E("authenticated", ok=302),
    "login/": E("public", special={r: 302 for r in ("operator", "head", "director", "admin", "executor", "dept_head")}),
    "logout/": E("public", ok=405),
    "healthz": E("public", ok=(200, 503)),
    "healthz/": E("public", ok=(200, 503)),
    # accounts: the users page of the head of the service
    "settings/users/": E("head"),
    "settings/users/new/": E("head", post=True),
    "settings/users/<int:pk>/": E("head", pk("executor"), post=True),
    "settings/users/<int:pk>/password/": E("head", pk("executor"), post=True, ok=405),
    # notifications: one's own
    "notifications/": E("authenticated"),
    "notifications/<int:pk>/open/": E(
        "authenticated",
        pk("notification"),
        ok=405,
        post=True,
        # Someone else's notification: sent back to his own list, nothing marked read.
        post_access="own-notification",
    ),
    "notifications/read-all/": E("authenticated", ok=405),
    # the inbox and the card
    "inbox/": E("readers", post=True, post_access="service"),
    "inbox/counts/": E("readers"),
    "inbox/new-count/": E("readers", query="since=2026-01-01T00:00:00"),
    "inbox/export.xlsx": E("readers"),
    "incidents/<int:pk>/": E("visible", INCIDENT),
    "incidents/<int:pk>/merge-preview/": E("service", INCIDENT),
    "incidents/<int:pk>/take/": E("service", INCIDENT, ok=405, post=True),
    "incidents/<int:pk>/classify/": E("service", INCIDENT, ok=405, post=True),
    "incidents/<int:pk>/details/": E("service", INCIDENT, ok=405, post=True),
    "incidents/<int:pk>/no-answer/": E("service", INCIDENT, ok=405, post=True),
    "incidents/<int:pk>/restore/": E("service", INCIDENT, ok=405, post=True),
    "incidents/<int:pk>/wait/": E("service", INCIDENT, ok=405, post=True),
    "incidents/<int:pk>/stop-waiting/": E("service", INCIDENT, ok=405, post=True),
    "incidents/<int:pk>/merge/": E("service", INCIDENT, ok=405, post=True),
    "incidents/<int:pk>/split/": E("service", INCIDENT, ok=405, post=True),
    "incidents/<int:pk>/unmerge/": E("service", INCIDENT, ok=405, post=True),
    "incidents/<int:pk>/route/": E("service", INCIDENT, ok=405, post=True),
    "incidents/<int:pk>/assignments/<int:assignment_pk>/accept/": E("service", incident_assignment, ok=405, post=True),
    "incidents/<int:pk>/assignments/<int:assignment_pk>/rework/": E("service", incident_assignment, ok=405, post=True),
    "incidents/<int:pk>/answers/": E("service", INCIDENT, ok=405, post=True),
    "incidents/<int:pk>/answers/<int:answer_pk>/": E("service", incident_answer, ok=405, post=True),
    "incidents/<int:pk>/answers/<int:answer_pk>/approve/": E("service", incident_answer, ok=405, post=True),
    "incidents/<int:pk>/answers/<int:answer_pk>/reject/": E("service", incident_answer, ok=405, post=True),
    "incidents/<int:pk>/close/": E("service", INCIDENT, ok=405, post=True),
    "incidents/<int:pk>/reopen/": E("service", INCIDENT, ok=405, post=True),
    "incidents/<int:pk>/answers/check/": E("service", INCIDENT, ok=405, post=True),
    "incidents/<int:pk>/answers/similar/": E("service", INCIDENT),
    # the departments' desk
    "assignments/": E("department"),
    "assignments/<int:pk>/": E("department", ASSIGNMENT, post=True),
    "assignments/<int:pk>/assign/": E("department", ASSIGNMENT, ok=405, post=True),
    "assignments/<int:pk>/extension/": E("department", ASSIGNMENT, ok=405, post=True),
    "board/overdue/": E("head"),
    # import
    "import/": E("service", post=True),
    "import/sample.csv": E("service"),
    "import/<int:pk>/": E("service", pk("import_job")),
    "import/<int:pk>/preview/": E("service", pk("import_job"), ok=302, post=True),
    "import/<int:pk>/progress/": E("service", pk("import_job")),
    "import/<int:pk>/run/": E("service", pk("import_job"), ok=405, post=True),
    "import/<int:pk>/reread/": E("service", pk("import_job"), ok=405, post=True),
    "import/<int:pk>/report.<str:fmt>": E("service", lambda w, s: {"pk": w.import_job.pk, "fmt": "csv"}),
    "import/<int:pk>/back.<str:fmt>": E("service", lambda w, s: {"pk": w.import_job.pk, "fmt": "csv"}),
    "import/back/<str:channel>.<str:fmt>": E("service", fixed(channel="im", fmt="csv")),
    # sources (the head, admins, staff)
    "settings/sources/": E("head"),
    "settings/sources/new/": E("head", post=True),
    "settings/sources/<int:pk>/": E("head", pk("source"), post=True),
    "settings/sources/<int:pk>/poll/": E("head", pk("source"), ok=405, post=True),
    "settings/sources/<int:pk>/repair/": E("head", pk("source"), ok=405, post=True),
    # reference data of the head of the service
    "settings/": E("head"),
    "settings/rules/": E("head"),
    "settings/rules/new/": E("head", post=True),
    "settings/rules/<int:pk>/": E("head", pk("rule"), post=True),
    "settings/rules/<int:pk>/toggle/": E("head", pk("rule"), ok=405, post=True),
    "settings/departments/": E("head"),
    "settings/departments/new/": E("head", post=True),
    "settings/departments/<int:pk>/": E("head", lambda w, s: {"pk": w.roads.pk}, post=True),
    "settings/gazetteer/": E("head"),
    "settings/gazetteer/import/": E("head", ok=405, post=True),
    "spikes/": E("readers"),
    # deadlines
    "departments/scorecard/": E("readers"),
    "extensions/": E("service", post=True, post_access="head"),
    "settings/sla/": E("head"),
    "settings/sla/policies/": E("head"),
    "settings/sla/policies/new/": E("head", post=True),
    "settings/sla/policies/<int:pk>/": E("head", pk("policy"), post=True),
    "settings/sla/policies/<int:pk>/toggle/": E("head", pk("policy"), ok=405, post=True),
    "settings/sla/duty/": E("head"),
    "settings/sla/duty/new/": E("head", post=True),
    "settings/sla/duty/<int:pk>/end/": E("head", pk("shift"), ok=405, post=True),
    "settings/sla/calendar/": E("head"),
    "settings/sla/calendar/schedule/": E("head", post=True),
    "settings/sla/calendar/days/new/": E("head", post=True),
    "settings/sla/calendar/days/<int:pk>/": E("head", pk("day"), post=True),
    "settings/sla/calendar/days/<int:pk>/delete/": E("head", pk("day"), ok=405, post=True),
    "settings/sla/delegations/": E("head"),
    "settings/sla/delegations/new/": E("head", post=True),
    "settings/sla/delegations/<int:pk>/revoke/": E("head", pk("delegation"), ok=405, post=True),
    # statistics and reports
    "dashboard/": E("readers"),
    "dashboard/report/": E("readers"),
    "settings/reports/": E("head", post=True),
    "settings/reports/<int:pk>/remove/": E("head", pk("subscription"), ok=405, post=True),
    # answers: templates, knowledge base, approval rules, the outbox
    "settings/answer-templates/": E("head"),
    "settings/answer-templates/new/": E("head", post=True),
    "settings/answer-templates/preview/": E("head", ok=405, post=True),
    "settings/answer-templates/<int:pk>/": E("head", pk("template"), post=True),
    "settings/answer-templates/<int:pk>/toggle/": E("head", pk("template"), ok=405, post=True),
    "kb/": E("service"),
    "kb/new/": E("head", post=True),
    "kb/check/<str:code>/": E("service", fixed(code="bureaucratese"), ok=302),
    "kb/<slug:slug>/": E("service", lambda w, s: {"slug": w.article.slug}),
    "kb/<slug:slug>/edit/": E("head", lambda w, s: {"slug": w.article.slug}, post=True),
    "settings/approval/": E("head"),
    "settings/approval/new/": E("head", post=True),
    "settings/approval/<int:pk>/": E("head", pk("approval"), post=True),
    "settings/approval/<int:pk>/toggle/": E("head", pk("approval"), ok=405, post=True),
    "publications/<int:pk>/manual/": E("service", pk("publication"), ok=405, post=True),
    "publications/<int:pk>/retry/": E("service", pk("publication"), ok=405, post=True),
    # documents
    "documents/media/<str:subject>/<int:pk>/": E(
        "readers", lambda w, s: {"subject": "incident", "pk": w.incident[s].pk}
    ),
    "documents/media/<str:subject>/<int:pk>/docx/": E(
        "readers", lambda w, s: {"subject": "incident", "pk": w.incident[s].pk}
    ),
    "documents/media/<str:subject>/<int:pk>/send/": E(
        "service", lambda w, s: {"subject": "incident", "pk": w.incident[s].pk}, ok=405, post=True, method_first=True
    ),
    "documents/letters/assignment/<int:pk>/<str:kind>/": E(
        "visible-letter", lambda w, s: {"pk": w.assignment[s].pk, "kind": "info_request"}
    ),
    "documents/letters/summary/": E("readers", query="start=2026-01-01&end=2026-01-31"),
    "settings/letters/": E("head"),
    "settings/letters/<str:kind>/": E("head", fixed(kind="info_request"), post=True),
    "settings/letters/<str:kind>/preview/": E("head", fixed(kind="info_request"), ok=405, post=True, method_first=True),
    # personal data (152-FZ) and the audit log
    "settings/personal-data/": E("head"),
    "settings/personal-data/export/": E("head", ok=302),
    "settings/personal-data/erase/": E("head", ok=405, post=True),
    "audit/": E("head"),
    # the API (token authentication; anonymous: 401)
    # The schema is public; an inactive user's token is refused even there.
    "^api/schema/?$": E("public", special={"inactive": 401}),
    "^api/docs/?$": E("public", special={"inactive": 401}),
    "^api/": E("public", ok=404),
    "^api/v1/^auth/logout/?$": E("authenticated", ok=405, post=True),
    "^api/v1/^auth/logout-all/?$": E("authenticated", ok=405, post=True),
    "^api/v1/^auth/me/?$": E("authenticated"),
    "^api/v1/^answers/check/?$": E("service", ok=405, post=True),
    "^api/v1/^stats/?$": E("readers", query="from=2026-01-01&to=2026-01-31"),
    "^api/v1/^posts/?$": E("service", ok=405, post=True),
    "^api/v1/^incidents/?$": E("authenticated"),
    "^api/v1/^incidents/(?P<pk>[^/.]+)/?$": E("visible", INCIDENT),
    **{
        f"^api/v1/^incidents/(?P<pk>[^/.]+)/{action}/?$": E("service-on-visible", INCIDENT, post=True, api_action=True)
        for action in ("answers", "classify", "close", "merge", "no-answer", "reopen", "route", "split", "take")
    },
    "^api/v1/^answers/(?P<pk>[^/.]+)/?$": E("visible", pk("answer")),
    "^api/v1/^answers/(?P<pk>[^/.]+)/approve/?$": E("head-on-visible", pk("answer"), post=True, api_action=True),
    "^api/v1/^answers/(?P<pk>[^/.]+)/reject/?$": E("head-on-visible", pk("answer"), post=True, api_action=True),
    "^api/v1/^answers/(?P<pk>[^/.]+)/publish/?$": E("service-on-visible", pk("answer"), post=True, api_action=True),
    "^api/v1/^answers/(?P<pk>[^/.]+)/submit/?$": E("service-on-visible", pk("answer"), post=True, api_action=True),
    "^api/v1/^assignments/?$": E("authenticated"),
    "^api/v1/^assignments/(?P<pk>[^/.]+)/?$": E("visible", ASSIGNMENT),
    "^api/v1/^assignments/(?P<pk>[^/.]+)/accept/?$": E("service-on-visible", ASSIGNMENT, post=True, api_action=True),
    "^api/v1/^assignments/(?P<pk>[^/.]+)/rework/?$": E("service-on-visible", ASSIGNMENT, post=True, api_action=True),
    "^api/v1/^assignments/(?P<pk>[^/.]+)/information/?$": E("actor-on-visible", ASSIGNMENT, post=True, api_action=True),
    "^api/v1/^assignments/(?P<pk>[^/.]+)/decline/?$": E("actor-on-visible", ASSIGNMENT, post=True, api_action=True),
    "^api/v1/^assignments/(?P<pk>[^/.]+)/assign/?$": E("dept-head-on-visible", ASSIGNMENT, post=True, api_action=True),
    "^api/v1/^attachments/(?P<pk>[^/.]+)/?$": E("visible", pk("attachment")),
    "^api/v1/^notifications/?$": E("authenticated"),
    "^api/v1/^notifications/read-all/?$": E("authenticated", ok=405),
    "^api/v1/^notifications/(?P<pk>[^/.]+)/read/?$": E(
        "authenticated", pk("notification"), post=True, post_access="own-notification", api_action=True
    ),
}

#: The admin site: staff only, whatever the page. Its login page is open; its logout is a POST.
ADMIN_PREFIX = "admin/"
#: The admin's object pages all pass through the same gate as its lists: fewer personas there keep the run short.
ADMIN_OBJECT_ROLES = ("anonymous", "head", "executor", "admin")
ADMIN_SPECIAL: dict[str, Entry] = {
    "admin/login/": E("public", special={"admin": 302}),
    "admin/logout/": E("public", ok=405, special={r: 302 for r in ROLES if r != "admin"}),
    "admin/autocomplete/": E("staff", query="app_label=accounts&model_name=user&field_name=department"),
}


def own_notification(role: str, scope: str) -> str | int:
    """The executor's own notification; anyone else's POST changes nothing (the page: back to his list; the API:
    404, as for any object outside one's view)."""
    return "ok" if role == "executor" else "other"


LEVELS["own-notification"] = own_notification


# --- the URLs of the project ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class Route:
    route: str
    name: str | None
    params: tuple[str, ...]

    @property
    def is_api(self) -> bool:
        return self.route.startswith("^api/")

    @property
    def is_admin(self) -> bool:
        return self.route.startswith(ADMIN_PREFIX)


def _walk(resolver: URLResolver, prefix: str = "", namespace: str = "") -> Iterator[Route]:
    for item in resolver.url_patterns:
        if isinstance(item, URLResolver):
            ns = namespace
            if item.namespace:
                ns = f"{namespace}:{item.namespace}" if namespace else item.namespace
            yield from _walk(item, prefix + str(item.pattern), ns)
        elif isinstance(item, URLPattern):
            name = f"{namespace}:{item.name}" if namespace and item.name else item.name
            yield Route(prefix + str(item.pattern), name, tuple(item.pattern.regex.groupindex))


def all_routes() -> list[Route]:
    return list(_walk(get_resolver()))


def entry_for(route: Route) -> Entry | None:
    if route.is_admin:
        return ADMIN_SPECIAL.get(route.route) or E("staff")
    return MATRIX.get(route.route)


# --- the objects of two departments --------------------------------------------------------------------------


def build_world(media: Any) -> SimpleNamespace:
    w = SimpleNamespace(media=media)
    w.housing = make_department("Департамент ЖКХ", short_name="ЖКХ", email="zhkh@example.org")
    w.roads = make_department("Управление дорог и благоустройства", short_name="Дороги")
    w.users = {
        "operator": make_user("operator", role="operator", email="operator@example.org"),
        "head": make_user("head", role="head", email="head@example.org"),
        "director": make_user("director", role="director"),
        "admin": make_user("admin", role="admin", is_staff=True, is_superuser=True),
        "executor": make_user("executor", role="executor", department=w.housing, email="executor@example.org"),
        "dept_head": make_user("dept_head", role="dept_head", department=w.housing),
        "inactive": make_user("inactive", role="operator", is_active=False),
    }
    operator = w.users["operator"]
    w.executor = w.users["executor"]
    executor_b = make_user("executor_b", role="executor", department=w.roads)
    w.incident, w.assignment, w.attachment, w.answer = {}, {}, {}, {}
    for scope, department, author in (("A", w.housing, w.executor), ("B", w.roads, executor_b)):
        incident = ingest(f"Нет горячей воды на улице Ленина, дом {scope}")
        (assignment,) = do_route(incident, actor=operator, lead=department, request="Сообщите сроки")
        upload = SimpleUploadedFile(f"act-{scope}.txt", f"secret of {scope}".encode(), content_type="text/plain")
        do_submit_information(assignment, actor=author, text=f"Сведения {scope}", files=[upload])
        w.incident[scope] = incident
        w.assignment[scope] = assignment
        w.attachment[scope] = assignment.attachments.get()
        w.answer[scope] = do_draft_answer(
            incident, actor=operator, kind=AnswerKind.PRIMARY, text="Здравствуйте! Ваше обращение принято в работу."
        )
    w.publication = Publication.objects.create(
        answer=w.answer["A"],
        post=w.incident["A"].posts.first(),
        channel="vk",
        thread_key="perm-thread",
        status=PublicationStatus.MANUAL,
        idempotency_key="perm-publication",
    )
    (w.notification,) = do_notify(
        [w.executor], kind="assignment_new", title="Новое поручение", url="/assignments/", dedup_key="perm-notice"
    )
    w.import_job = do_create_import_job(
        actor=operator, data="Текст;Дата\nНет воды;01.01.2026\n".encode(), file_name="perm.csv"
    )
    ImportJob.objects.filter(pk=w.import_job.pk).update(status=ImportStatus.DONE)
    w.source = default_source("vk")
    w.rule = RoutingRule.objects.create(name="Правило", group=TopicGroup.objects.create(name="ЖКХ"), lead=w.housing)
    w.policy = SlaPolicy.objects.create(name="Политика")
    now = timezone.now()
    w.shift = DutyShift.objects.create(user=operator, starts_at=now, ends_at=now + dt.timedelta(hours=8))
    w.day = CalendarDay.objects.create(date=dt.date(2031, 1, 2), kind="off")
    # In the future: an acting head now would give the operator the head's rights.
    w.delegation = do_delegate(
        head=w.users["head"],
        acting=operator,
        starts_at=now + dt.timedelta(days=30),
        ends_at=now + dt.timedelta(days=31),
        actor=w.users["head"],
    )
    w.subscription = ReportSubscription.objects.create(email="press@example.org", created_by=w.users["head"])
    w.template = AnswerTemplate.objects.create(name="Шаблон", kind=AnswerKind.PRIMARY, text="Здравствуйте!")
    w.article = Article.objects.create(title="Канцелярит", slug="perm-article", body="Пишите просто.")
    w.approval = ApprovalRule.objects.create(kind=AnswerKind.FINAL, is_active=False, note="perm")
    w.spike = Spike.objects.create(
        kind=SpikeKind.TOPIC, key="Вода", window=SpikeWindow.HOUR, count=5, baseline=0.2, incident_ids=[]
    )
    # Logged in once: a session per persona (pages), a token per persona (the API).
    w.sessions, w.tokens = {}, {}
    for role, user in w.users.items():
        client = Client()
        client.force_login(user)
        w.sessions[role] = client.cookies[django_settings.SESSION_COOKIE_NAME].value
        w.tokens[role] = AuthToken.objects.create(user=user)[1]
    return w


@pytest.fixture(scope="module")
def world(django_db_setup, django_db_blocker, tmp_path_factory):
    media = tmp_path_factory.mktemp("permission-matrix-media")
    fast = {
        "PASSWORD_HASHERS": ["django.contrib.auth.hashers.MD5PasswordHasher"],
        "MEDIA_ROOT": media,
        "LANGUAGE_CODE": "ru",
    }
    with django_db_blocker.unblock(), override_settings(**fast), transaction.atomic():
        yield build_world(media)
        transaction.set_rollback(True)


# --- requests --------------------------------------------------------------------------------------------------


def client_for(w: SimpleNamespace, role: str, *, api: bool) -> Client:
    client = Client()
    if role == "anonymous":
        return client
    if api:
        client.defaults["HTTP_AUTHORIZATION"] = f"Token {w.tokens[role]}"
    else:
        client.cookies[django_settings.SESSION_COOKIE_NAME] = w.sessions[role]
    return client


def url_of(route: Route, entry: Entry, w: SimpleNamespace, scope: str) -> str:
    if route.is_admin and route.params:
        url = admin_url(route, w)
    elif route.params:
        assert entry.kwargs is not None, f"{route.route}: the matrix line says no object to use"
        url = reverse(route.name, kwargs=entry.kwargs(w, scope))
    elif route.name:
        url = reverse(route.name)
    else:
        url = "/" + route.route
    return f"{url}?{entry.query}" if entry.query else url


ADMIN_VALUES = {"app_label": "accounts", "content_type_id": "1", "url": "nowhere/"}
#: The admin's root and its lists answer 200 to the superuser; elsewhere the ModelAdmin decides (read-only models
#: refuse `add/` with 403, an id of another model is a 302 or 404).
ADMIN_LIST = re.compile(r"^admin/(\w+/\w+/)?$")


def admin_url(route: Route, w: SimpleNamespace) -> str:
    """A concrete URL of a parametrized admin route (some have no name: fill the pattern in)."""
    values = {**ADMIN_VALUES, "object_id": str(w.executor.pk), "id": str(w.executor.pk)}
    path = re.sub(r"<(?:\w+:)?(\w+)>", lambda m: values[m.group(1)], route.route)
    path = re.sub(r"\(\?P<(\w+)>[^)]*\)", lambda m: values[m.group(1)], path)
    return "/" + path.replace("^", "").replace("$", "")


@dataclass(frozen=True)
class Expected:
    allowed: bool
    codes: tuple[int, ...]
    login: str | None = None  # a refusal by a redirect to this login page

    def describe(self) -> str:
        where = f" to {self.login}" if self.login else ""
        return f"{'allowed' if self.allowed else 'denied'}: {'/'.join(map(str, self.codes))}{where}"


def expected(route: Route, entry: Entry, role: str, scope: str, method: str) -> Expected:
    level = entry.post_access if method == "POST" and entry.post_access else entry.access
    if method == "GET" and entry.method_first:
        return Expected(False, (405,))
    login_page = "/admin/login/" if route.is_admin else django_settings.LOGIN_URL
    if role in ("anonymous", "inactive") and level != "public" or entry.special.get(role) == 401:
        if route.is_api:
            return Expected(False, (401,))
        return Expected(False, (302,), login_page)
    outcome = entry.special.get(role) or LEVELS[level](role, scope)
    if method == "GET" and entry.api_action:
        # The viewset's permission classes pass any signed-in user on a safe method; the action is a POST.
        return Expected(outcome == "ok", (405,))
    if outcome == "admin-login":
        return Expected(False, (302,), login_page)
    if outcome == "other":  # someone else's notification
        return Expected(False, (404,) if route.is_api else (302,))
    if outcome == "ok":
        if route.is_admin and not ADMIN_LIST.match(route.route) and route.route not in ADMIN_SPECIAL:
            return Expected(True, (200, 302, 403, 404))
        ok = entry.ok if isinstance(entry.ok, tuple) else (entry.ok,)
        if method == "POST":
            ok = tuple(c for c in range(200, 500) if c not in (401, 403, 404, 405))
        return Expected(True, ok)
    if method == "GET" and entry.ok == 405 and outcome == 404:
        # A POST-only page: the method is refused before the object is looked up.
        return Expected(False, (405,))
    return Expected(False, (int(outcome),))


def cases(method: str) -> Iterator[Any]:
    for route in all_routes():
        entry = entry_for(route)
        if entry is None:
            continue
        if method == "POST" and not entry.post:
            continue
        scopes = ("A", "B") if entry.scoped else ("A",)
        if route.is_admin:
            continue  # test_admin_site: one test per admin URL, every persona in it
        for role in ROLES:
            for scope in scopes:
                if scope == "B" and role not in DEPARTMENT_PERSONAS:
                    continue
                if method == "POST" and expected(route, entry, role, scope, method).allowed:
                    continue
                label = f"{route.route}|{role}" + ("|B" if scope == "B" else "")
                yield pytest.param(route, entry, role, scope, id=label)


def snapshot() -> dict[str, list[tuple[Any, ...]]]:
    """Every row of every table (the sessions aside): the world is small."""
    state = {}
    for model in apps.get_models():
        if model._meta.label in {"sessions.Session"} or model._meta.proxy:
            continue
        state[model._meta.label] = list(model._default_manager.order_by("pk").values_list())
    return state


def check(response: Any, want: Expected, what: str) -> None:
    location = response.get("Location", "")
    assert response.status_code in want.codes, (
        f"{what}: got {response.status_code} {location}, expected {want.describe()}"
    )
    if want.login:
        assert location.startswith(want.login), f"{what}: redirected to {location}, expected {want.login}"
    elif want.allowed and response.status_code == 302:
        assert not re.match(r"^(/admin)?/login/", location), f"{what}: an allowed role was sent to log in"


# --- the tests -------------------------------------------------------------------------------------------------


def test_every_url_has_a_line_in_the_matrix():
    routes = all_routes()
    missing = [r.route for r in routes if entry_for(r) is None]
    assert not missing, "URLs without expected permissions in the matrix: " + ", ".join(missing)
    stale = set(MATRIX) - {r.route for r in routes}
    assert not stale, "Matrix lines for URLs that no longer exist: " + ", ".join(sorted(stale))


def test_uploaded_files_are_not_served_by_url():
    """Attachments are downloaded through the API (visibility checked), never from MEDIA_URL."""
    media = django_settings.MEDIA_URL.lstrip("/")
    assert not [r.route for r in all_routes() if r.route.startswith(media) or r.route.startswith("^" + media)]


@pytest.mark.parametrize(("route", "entry", "role", "scope"), list(cases("GET")))
def test_get(world, db, settings, route, entry, role, scope):
    settings.MEDIA_ROOT = world.media
    url = url_of(route, entry, world, scope)
    want = expected(route, entry, role, scope, "GET")
    response = client_for(world, role, api=route.is_api).get(url)
    check(response, want, f"GET {url} as {role}")


@pytest.mark.parametrize(("route", "entry", "role", "scope"), list(cases("POST")))
def test_denied_post_changes_nothing(world, db, settings, route, entry, role, scope):
    settings.MEDIA_ROOT = world.media
    url = url_of(route, entry, world, scope)
    want = expected(route, entry, role, scope, "POST")
    before = snapshot()
    response = client_for(world, role, api=route.is_api).post(url, {})
    check(response, want, f"POST {url} as {role}")
    after = snapshot()
    changed = [label for label in before if before[label] != after[label]]
    assert not changed, f"POST {url} as {role} was refused but changed: {', '.join(changed)}"


def admin_cases() -> Iterator[Any]:
    for route in all_routes():
        if route.is_admin:
            yield pytest.param(route, entry_for(route), id=route.route)


@pytest.mark.parametrize(("route", "entry"), list(admin_cases()))
def test_admin_site(world, db, settings, route, entry):
    """The admin site is for staff (the superuser here); everyone else is sent to its login page."""
    settings.MEDIA_ROOT = world.media
    url = url_of(route, entry, world, "A")
    roles = ROLES if ADMIN_LIST.match(route.route) or route.route in ADMIN_SPECIAL else ADMIN_OBJECT_ROLES
    for role in roles:
        want = expected(route, entry, role, "A", "GET")
        check(client_for(world, role, api=False).get(url), want, f"GET {url} as {role}")
