"""`python manage.py load_demo`: a believable administration of Нижневартовск with demo users and posts.

Idempotent (run by every `make run`): reference rows (departments, territories, routing rules, users) are created
when missing and never overwritten, so edits made in the admin survive; posts have fixed external ids, so
ingesting them again adds nothing, and the history of an incident is written only by the run that created it.

The demo stream (`demo_posts.json`, the curated examples, and `demo_stream.json`, some 335 posts written by hand)
spreads over the last five weeks, counted back from now, so the demo always looks fresh. Each post goes through the
intake service and the analysis pipeline at its own moment, and the incidents go on through the lifecycle
services as people would take them (see `DemoStream`): old ones mostly answered and closed, recent ones waiting
for departments, some overdue, repeats merged, insults and ads closed without an answer.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import json
import zlib
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from decimal import Decimal
from functools import partial
from typing import Any
from unittest import mock

from celery.contrib.django.task import DjangoTask
from django.conf import settings
from django.core.management.base import BaseCommand
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from otklik.accounts.choices import DEPARTMENT_ROLES
from otklik.accounts.models import User
from otklik.answers.choices import AnswerKind, AnswerStatus
from otklik.answers.models import Answer
from otklik.answers.services import (
    do_approve_answer,
    do_draft_answer,
    do_publish_answer,
    do_submit_for_approval,
)
from otklik.cases.choices import ASSIGNMENT_ACTIVE, AssignmentRole, AssignmentStatus, IncidentStatus
from otklik.cases.models import Assignment, Incident
from otklik.cases.services import (
    do_accept_information,
    do_classify,
    do_close,
    do_decline,
    do_mark_no_answer,
    do_merge,
    do_return_for_rework,
    do_route,
    do_submit_information,
    do_take,
)
from otklik.core.errors import DomainError
from otklik.core.worktime import add_working_hours
from otklik.intake.models import Post
from otklik.intake.services import default_source, do_ingest_post
from otklik.intake.tasks import analyze_post as analyze_post_task
from otklik.nlp.base import get_classifier
from otklik.nlp.keywords import DATA_DIR
from otklik.nlp.pipeline import analyze_post
from otklik.notifications.email import do_skip_unsent
from otklik.notifications.models import Notification
from otklik.notifications.services import do_mark_read
from otklik.org.gazetteer import do_import_gazetteer
from otklik.org.models import Department, RoutingRule, Street, Territory, Topic, TopicGroup
from otklik.org.routing import suggest_route
from otklik.org.services import load_rubricator

try:  # a dev dependency: sets the clock back for the demo history (see `_clock`)
    import time_machine
except ImportError:  # pragma: no cover - a production install without the dev tools
    time_machine = None  # type: ignore[assignment]

ORG_PATH = DATA_DIR / "demo_org.json"
POSTS_PATH = DATA_DIR / "demo_posts.json"
STREAM_PATH = DATA_DIR / "demo_stream.json"
GAZETTEER_PATH = DATA_DIR / "demo_gazetteer.csv"
COMPANY = "@company"  # in a territory rule: the managing company serving that territory

ORDER_TOPIC = 10
ORDER_TERRITORY = 20
ORDER_KEYWORDS = 30
ORDER_GROUP = 100

S = IncidentStatus
A = AssignmentStatus


def _read(path: Any) -> dict[str, Any]:
    with path.open(encoding="utf-8") as f:
        return json.load(f)


class Command(BaseCommand):
    help = "Load the demo administration, users and posts of Нижневартовск; safe to run again."

    def handle(self, *args: Any, verbosity: int = 1, **options: Any) -> None:
        self.verbosity = verbosity
        org = _read(ORG_PATH)
        load_rubricator()
        with transaction.atomic():
            depts = self._departments(org["departments"])
            territories = self._territories(org["territories"])
            self._rules(org, depts, territories)
            users = self._users(org["users"], depts)
            self._gazetteer()
        self._stream(users)
        self._summary()
        self._logins(users)

    def say(self, message: str) -> None:
        if self.verbosity >= 1:
            self.stdout.write(message)

    # --- reference data -------------------------------------------------------------------------------------

    def _gazetteer(self) -> None:
        """The demo gazetteer, once: a city's own edits to its streets are never overwritten."""
        if Street.objects.exists():
            self.say(_("Gazetteer: kept."))
            return
        report = do_import_gazetteer(GAZETTEER_PATH.read_bytes())
        self.say(
            _("Gazetteer: %(n)s rows imported, %(bad)s rejected.") % {"n": report.imported, "bad": len(report.errors)}
        )

    def _departments(self, specs: list[dict[str, Any]]) -> dict[str, Department]:
        depts: dict[str, Department] = {}
        created = 0
        for spec in specs:
            dept, was_created = Department.objects.get_or_create(
                name=spec["name"],
                defaults={
                    "short_name": spec.get("short_name", ""),
                    "kind": spec["kind"],
                    "email": spec.get("email", ""),
                    "phone": spec.get("phone", ""),
                    "contacts": spec.get("contacts", ""),
                },
            )
            depts[spec["key"]] = dept
            created += was_created
        for spec in specs:
            dept = depts[spec["key"]]
            if spec.get("parent") and dept.parent_id is None:
                dept.parent = depts[spec["parent"]]
                dept.save(update_fields=["parent"])
        self.say(
            _("Departments: %(created)s created, %(kept)s kept.") % {"created": created, "kept": len(specs) - created}
        )
        return depts

    def _territories(self, specs: list[dict[str, Any]]) -> dict[str, tuple[Territory, str]]:
        result: dict[str, tuple[Territory, str]] = {}
        created = 0
        for spec in specs:
            territory, was_created = Territory.objects.get_or_create(
                name=spec["name"], defaults={"kind": spec["kind"], "keywords": spec["keywords"]}
            )
            result[spec["key"]] = (territory, spec["company"])
            created += was_created
        self.say(
            _("Territories: %(created)s created, %(kept)s kept.") % {"created": created, "kept": len(specs) - created}
        )
        return result

    def _rules(
        self,
        org: dict[str, Any],
        depts: dict[str, Department],
        territories: dict[str, tuple[Territory, str]],
    ) -> None:
        """Create the missing rules; a rule is known by what it matches (group/topic, territory, keywords)."""
        groups = {g.name: g for g in TopicGroup.objects.all()}
        topics = {t.name: t for t in Topic.objects.select_related("group")}
        created = kept = 0

        def add(
            *,
            group: str | None = None,
            topic: str | None = None,
            territory: str | None = None,
            keywords: str = "",
            lead: str,
            co: list[str] | None = None,
            due_hours: float = 8,
            order: int,
            name: str | None = None,
        ) -> None:
            nonlocal created, kept
            topic_row = topics[topic] if topic else None
            group_row = topic_row.group if topic_row else groups[group] if group else None
            territory_row, company = territories[territory] if territory else (None, "")

            def dept(key: str) -> Department:
                return depts[company if key == COMPANY else key]

            lead_dept = dept(lead)
            co_depts = [dept(k) for k in co or []]
            exists = RoutingRule.objects.filter(
                group=group_row if topic_row is None else None,
                topic=topic_row,
                territory=territory_row,
                keywords=keywords,
            ).exists()
            if exists:
                kept += 1
                return
            what = topic_row.name if topic_row else group_row.name if group_row else ""
            where = f" · {territory_row.name}" if territory_row else ""
            rule = RoutingRule.objects.create(
                name=(name or f"{what}{where} → {lead_dept}")[:255],
                group=group_row if topic_row is None else None,
                topic=topic_row,
                territory=territory_row,
                keywords=keywords,
                lead=lead_dept,
                due_hours=Decimal(str(due_hours)),
                order=order,
            )
            rule.co_executors.set(co_depts)
            created += 1

        for group, spec in org["group_rules"].items():
            add(
                group=group, lead=spec["lead"], co=spec.get("co"), due_hours=spec.get("due_hours", 8), order=ORDER_GROUP
            )
        for spec in org["topic_rules"]:
            add(
                topic=spec["topic"],
                lead=spec["lead"],
                co=spec.get("co"),
                due_hours=spec.get("due_hours", 8),
                order=ORDER_TOPIC,
            )
        for spec in org["territory_rules"]:
            add(
                group=spec.get("group"),
                topic=spec.get("topic"),
                territory=spec["territory"],
                lead=spec["lead"],
                co=spec.get("co"),
                due_hours=spec.get("due_hours", 8),
                order=ORDER_TERRITORY,
            )
        for spec in org["keyword_rules"]:
            add(
                group=spec.get("group"),
                topic=spec.get("topic"),
                keywords=spec["keywords"],
                lead=spec["lead"],
                co=spec.get("co"),
                due_hours=spec.get("due_hours", 8),
                order=ORDER_KEYWORDS,
                name=spec.get("name"),
            )
        self.say(_("Routing rules: %(created)s created, %(kept)s kept.") % {"created": created, "kept": kept})

    def _users(self, specs: list[dict[str, Any]], depts: dict[str, Department]) -> dict[str, User]:
        users: dict[str, User] = {}
        created = 0
        for spec in specs:
            user = User.objects.filter(username=spec["username"]).first()
            if user is None:
                user = User(
                    username=spec["username"],
                    role=spec["role"],
                    department=depts[spec["department"]] if spec.get("department") else None,
                    first_name=spec["first_name"],
                    last_name=spec["last_name"],
                    email=spec["email"],
                    is_staff=spec.get("is_staff", False),
                    is_superuser=spec.get("is_superuser", False),
                )
                user.set_password(settings.OTKLIK_DEMO_PASSWORD)
                user.full_clean()
                user.save()
                created += 1
            users[spec["username"]] = user
        self.say(
            _("Demo users: %(created)s created, %(kept)s kept.") % {"created": created, "kept": len(specs) - created}
        )
        return users

    # --- the demo stream: posts, their analysis and their history ------------------------------------------

    def _stream(self, users: dict[str, User]) -> None:
        specs = [*_read(POSTS_PATH)["posts"], *_read(STREAM_PATH)["posts"]]
        stream = DemoStream(specs, _read(STREAM_PATH)["replies"], users, now=timezone.now())
        get_classifier().classify("")  # loads the dictionaries now, not with the clock set back
        # One transaction: a run that fails half-way leaves nothing behind, so the next run writes the whole
        # history again instead of finding half of it (the history is written only for posts new in the run).
        with transaction.atomic():
            last_notification = Notification.objects.order_by("-pk").values_list("pk", flat=True).first() or 0
            with _no_background_work():
                stream.run()
            stream.settle_notifications(after_pk=last_notification)
            stream.hand_fresh_posts_to_worker()
        self.say(
            _("Demo posts: %(created)s ingested, %(kept)s already there; analysis: %(outcomes)s.")
            % {
                "created": len(stream.created),
                "kept": len(specs) - len(stream.created),
                "outcomes": ", ".join(f"{k} {v}" for k, v in sorted(stream.outcomes.items())) or "—",
            }
        )
        for label, reason in stream.skipped:
            self.stderr.write(_("  demo step «%(step)s» skipped: %(reason)s") % {"step": label, "reason": reason})
        self.say(_("Demo lifecycle: %(done)s steps done now (the others were done before).") % {"done": stream.done})

    # --- what there is now ----------------------------------------------------------------------------------

    def _summary(self) -> None:
        counts = {s: Incident.objects.filter(status=s).count() for s in S.values}
        self.say(
            _("Incidents by status: %s.")
            % ", ".join(f"{S(status).label} {count}" for status, count in counts.items() if count)
        )

    def _logins(self, users: dict[str, User]) -> None:
        if self.verbosity < 1:
            return
        self.stdout.write("")
        self.stdout.write(_("Demo logins (password: %(password)s)") % {"password": settings.OTKLIK_DEMO_PASSWORD})
        rows = [(_("Login"), _("Role"), _("Full name"), _("Department"))]
        for user in users.values():
            role = _("administrator (superuser)") if user.is_superuser else str(user.get_role_display())
            rows.append((user.username, role, user.get_full_name(), str(user.department or "—")))
        widths = [max(len(row[i]) for row in rows) for i in range(4)]
        for row in rows:
            self.stdout.write("  " + "  ".join(cell.ljust(width) for cell, width in zip(row, widths, strict=True)))


# --- the demo stream -------------------------------------------------------------------------------------------

# How far the demo takes an incident when its post does not say (`plan`): by the age of the post, a share each.
# Old incidents are mostly answered and closed, recent ones wait for departments; a few stay stuck (overdue).
AGE_PLANS: tuple[tuple[float, tuple[tuple[str, float], ...]], ...] = (
    (3, (("routed", 1.0),)),
    (24, (("routed", 0.5), ("submitted", 0.75), ("answering", 0.85), ("answered", 1.0))),
    (
        72,
        (
            ("routed", 0.22),
            ("submitted", 0.34),
            ("rework", 0.42),
            ("answering", 0.5),
            ("approval", 0.56),
            ("answered", 0.85),
            ("closed", 1.0),
        ),
    ),
    (
        240,
        (
            ("routed", 0.08),
            ("submitted", 0.14),
            ("rework", 0.18),
            ("answering", 0.22),
            ("approval", 0.25),
            ("intermediate", 0.33),
            ("answered", 0.55),
            ("closed", 1.0),
        ),
    ),
    (
        float("inf"),
        (("routed", 0.05), ("submitted", 0.07), ("intermediate", 0.1), ("answered", 0.22), ("closed", 1.0)),
    ),
)
PLANS = frozenset(
    {"new", "routed", "declined", "submitted", "rework", "answering", "intermediate", "approval", "answered", "closed"}
)
SUBMITTING = frozenset({"submitted", "rework", "answering", "intermediate", "approval", "answered", "closed"})
ACCEPTING = frozenset({"answering", "intermediate", "approval", "answered", "closed"})
FINISHING = frozenset({"approval", "answered", "closed"})

MERGE_MIN_AGE = 3.0  # hours: a fresher repeat is left for the operator to merge
NO_ANSWER_MIN_AGE = 1.0  # hours: a fresher insult or ad is still in the inbox
TRIAGE_MIN_AGE = 3.0  # hours: the operator has sorted out the analysis' doubts about older posts
MISROUTE_MIN_AGE = 12.0  # hours: a department has noticed by then that a post is not its business
SAFETY = dt.timedelta(minutes=5)  # nothing of the demo history happens later than now minus this


def _chance(key: str, salt: str) -> float:
    """A fixed pseudo-random number in [0, 1) for a post: the same on every run and every machine."""
    return zlib.crc32(f"{key}:{salt}".encode()) / 2**32


def _reply_hours(roll: float) -> float:
    """Working hours a department takes to send its information: most within the 8 it is given, some late."""
    return 1 + 5 * roll if roll < 0.85 else 8 + 60 * (roll - 0.85)


def plan_for(spec: dict[str, Any]) -> str:
    if spec.get("plan"):
        return str(spec["plan"])
    hours, roll = float(spec["hours_ago"]), _chance(spec["key"], "plan")
    for limit, shares in AGE_PLANS:
        if hours < limit:
            return next(plan for plan, upto in shares if roll < upto)
    raise AssertionError("unreachable: the last age limit is infinite")


@dataclass(order=True)
class _Action:
    at: dt.datetime
    seq: int
    label: str = field(compare=False)
    run: Callable[[], bool] = field(compare=False)


class DemoStream:
    """Posts of the last weeks and what the service did with them, written through the services.

    1. Each post is ingested at its own moment (`hours_ago` before now, the clock set back to it) and analysed
       two minutes later, as the worker would; posts planned `new` stay unanalysed.
    2. For each incident opened by this run, the steps of its plan are scheduled after its last post, in
       working hours: the operator sorts out triage, a department that got a post of another group declines it
       and it is routed again; then information, rework, acceptance, answers, approval, closing.
    3. Repeats are merged into the first post of the problem; insults and ads get "no answer".
    4. All steps run in the order of their moments with the clock set to each, so the timeline, the due times
       and the overdue ones look like a real history. A plan too long for the time left is squeezed into it.

    Incidents that existed before the run are not touched: a second run ingests nothing and does nothing.
    """

    def __init__(
        self, specs: list[dict[str, Any]], replies: dict[str, Any], users: dict[str, User], *, now: dt.datetime
    ) -> None:
        self.specs = {spec["key"]: spec for spec in specs}
        if len(self.specs) != len(specs):
            raise ValueError("demo posts: duplicate keys")
        for spec in specs:
            for ref in ("thread_of", "dup_of"):
                if spec.get(ref) and spec[ref] not in self.specs:
                    raise ValueError(f"demo post {spec['key']}: unknown {ref} {spec[ref]}")
            if spec.get("plan") and spec["plan"] not in PLANS:
                raise ValueError(f"demo post {spec['key']}: unknown plan {spec['plan']}")
        self.replies = replies
        self.now = now
        self.operator, self.head = users["operator"], users["head"]
        self.posts: dict[str, Post] = {}
        self.created: set[str] = set()
        self.outcomes: dict[str, int] = {}
        self.skipped: list[tuple[str, str]] = []
        self.done = 0
        self._actions: list[_Action] = []
        self._incident_ids: dict[str, int] = {}
        self._topics = {t.name: t for t in Topic.objects.all()}
        self._groups = {g.name: g for g in TopicGroup.objects.all()}
        self._staff: dict[int, list[User]] = {}
        for user in User.objects.filter(role__in=DEPARTMENT_ROLES, is_active=True).order_by("pk"):
            if user.department_id is not None:
                self._staff.setdefault(user.department_id, []).append(user)

    # --- the schedule ---------------------------------------------------------------------------------------

    def moment(self, spec: dict[str, Any]) -> dt.datetime:
        return self.now - dt.timedelta(hours=float(spec["hours_ago"]))

    def add(self, at: dt.datetime, label: str, run: Callable[[], bool]) -> None:
        self._actions.append(_Action(at, len(self._actions), label, run))

    def run(self) -> None:
        self.schedule()
        for action in sorted(self._actions):
            try:
                with _clock(action.at), transaction.atomic():
                    self.done += bool(action.run())
            except DomainError as exc:
                self.skipped.append((action.label, exc.message))

    def schedule(self) -> None:
        merged_at: dict[str, dt.datetime] = {}
        for key, spec in self.specs.items():
            at = self.moment(spec)
            self.add(at, f"ingest {key}", partial(self.ingest, key))
            if plan_for(spec) != "new":
                self.add(at + dt.timedelta(minutes=2), f"analyse {key}", partial(self.analyse, key))
            if spec.get("dup_of") and float(spec["hours_ago"]) >= MERGE_MIN_AGE:
                merged_at[key] = self.within(add_working_hours(at, 0.3 + _chance(key, "merge")), at)
                self.add(merged_at[key], f"merge {key}", partial(self.merge, key, spec["dup_of"]))
            elif spec.get("no_answer") and float(spec["hours_ago"]) >= NO_ANSWER_MIN_AGE:
                when = self.within(add_working_hours(at, 0.2 + _chance(key, "no_answer")), at)
                self.add(when, f"no answer {key}", partial(self.no_answer, key))
        for key, spec in self.specs.items():
            if spec.get("thread_of") or spec.get("dup_of") or spec.get("no_answer") or plan_for(spec) == "new":
                continue
            later = [self.moment(s) for s in self.specs.values() if s.get("thread_of") == key]
            later += [at for k, at in merged_at.items() if self.specs[k]["dup_of"] == key]
            self.schedule_incident(key, max([self.moment(spec), *later]) + dt.timedelta(minutes=3))

    def within(self, at: dt.datetime, after: dt.datetime) -> dt.datetime:
        """`at`, or a moment between `after` and now when `at` has not come yet."""
        limit = self.now - SAFETY
        return at if at <= limit else after + (limit - after) / 2

    def schedule_incident(self, key: str, base: dt.datetime) -> None:
        spec = self.specs[key]
        plan, hours = plan_for(spec), float(spec["hours_ago"])
        steps: list[tuple[float, str, Callable[[], bool]]] = []  # (working hours after the previous step, …)

        def step(hours_after: float, label: str, run: Callable[..., bool], *args: Any) -> None:
            steps.append((hours_after, f"{label} {key}", partial(run, key, *args)))

        if hours >= TRIAGE_MIN_AGE:
            step(0.3, "route from triage", self.route_from_triage)
        if hours >= MISROUTE_MIN_AGE and spec.get("group"):
            step(0.5 + 1.5 * _chance(key, "misroute"), "decline a misrouted", self.decline_misrouted)
            step(0.3, "route again", self.route_from_triage)
        if spec.get("primary") or (not spec.get("plan") and hours >= 2 and _chance(key, "primary") < 0.45):
            step(0.1 + 0.3 * _chance(key, "primary_at"), "primary answer", self.primary)
        if plan == "declined":
            step(1 + 6 * _chance(key, "submit"), "decline", self.decline)
        if plan in SUBMITTING:
            step(_reply_hours(_chance(key, "submit")), "information", self.submit)
        if plan == "rework" or (plan in ACCEPTING and _chance(key, "rework") < 0.1):
            step(0.3 + _chance(key, "rework_at"), "rework", self.rework)
            if plan != "rework":
                step(1 + 3 * _chance(key, "resubmit"), "information again", self.resubmit)
        if plan in ACCEPTING:
            step(0.2 + 1.3 * _chance(key, "accept"), "accept", self.accept)
        if plan == "intermediate":
            step(0.2 + 0.8 * _chance(key, "answer"), "intermediate answer", self.intermediate)
        if plan in FINISHING:
            approval = plan == "approval" or _chance(key, "approval") < 0.7
            step(0.2 + 0.8 * _chance(key, "answer"), "final answer", self.draft_final, approval)
            if plan != "approval":
                if approval:
                    step(0.2 + 1.3 * _chance(key, "approve"), "approve", self.approve)
                step(0.05 + 0.25 * _chance(key, "publish"), "publish", self.publish)
        if plan == "closed":
            step(9 + 18 * _chance(key, "close"), "close", self.close)

        moments: list[dt.datetime] = []
        at = base
        for hours_after, _label, _run in steps:
            at = add_working_hours(at, hours_after)
            moments.append(at)
        limit = self.now - SAFETY
        if moments and moments[-1] > limit:
            if base >= limit:
                return  # too fresh for any step
            squeeze = (limit - base) / (moments[-1] - base)
            moments = [base + (m - base) * squeeze for m in moments]
        for at, (_hours, label, run) in zip(moments, steps, strict=True):
            self.add(at, label, run)

    def settle_notifications(self, *, after_pk: int) -> None:
        """The history's notifications: nobody needs their e-mails now, and those older than a day were read."""
        history = Notification.objects.filter(pk__gt=after_pk)
        do_skip_unsent(history.values_list("pk", flat=True), reason=self.replies["notes"]["no_email"])
        read_by = self.now - dt.timedelta(hours=20)
        old = history.filter(created_at__lt=read_by - dt.timedelta(hours=4))
        with _clock(read_by):
            for user in User.objects.filter(pk__in=old.values("recipient")):
                do_mark_read(user, notification_ids=old.filter(recipient=user).values_list("pk", flat=True))

    def hand_fresh_posts_to_worker(self) -> None:
        """Posts planned `new` were only received: the worker analyses them after commit, as it would."""
        for key in sorted(self.created):
            if plan_for(self.specs[key]) == "new":
                analyze_post_task.delay_on_commit(self.posts[key].pk)

    # --- what people and the system do ---------------------------------------------------------------------

    def ingest(self, key: str) -> bool:
        spec = self.specs[key]
        at = self.moment(spec)
        parent = self.posts.get(spec["thread_of"]) if spec.get("thread_of") else None
        result = do_ingest_post(
            source=default_source(spec["source"]),
            external_id=spec["external_id"],
            text=spec["text"],
            posted_at=at,
            received_at=at,
            author_name=spec.get("author", ""),
            author_id=spec.get("author_id", ""),
            url=spec.get("url", ""),
            thread_id=parent.external_id if parent else "",
            topic=self._topics.get(spec["topic"]) if spec.get("topic") else None,
        )
        self.posts[key] = result.post
        if result.created:
            self.created.add(key)
            if result.post.incident_id is not None:
                self._incident_ids[key] = result.post.incident_id
        return result.created

    def analyse(self, key: str) -> bool:
        if key not in self.created:
            return False
        outcome = analyze_post(self.posts[key].pk)
        self.outcomes[outcome] = self.outcomes.get(outcome, 0) + 1
        return outcome != "skipped"

    def incident(self, key: str) -> Incident | None:
        """The incident a post created by this run opened or joined (None for a post that was there before)."""
        pk = self._incident_ids.get(key)
        return Incident.objects.filter(pk=pk).first() if pk else None

    def take(self, inc: Incident) -> Incident:
        return do_take(inc, actor=self.operator) if inc.owner_id is None else inc

    def staff(self, assignment: Assignment, key: str) -> User:
        """Who writes for the department: one of its users, or the operator entering what it sent by e-mail."""
        people = self._staff.get(assignment.department_id, [])
        if not people:
            return self.operator
        return people[int(_chance(key, "staff") * len(people))]

    def lead(self, inc: Incident) -> Assignment | None:
        return inc.assignments.filter(role=AssignmentRole.LEAD, status__in=ASSIGNMENT_ACTIVE).first()

    def group_of(self, key: str, inc: Incident) -> str:
        return str(self.specs[key].get("group") or (inc.group.name if inc.group else ""))

    def reply(self, key: str, inc: Incident, field_name: str) -> str:
        """The department's information or the final answer for this post: its own, or the group's fitting one."""
        spec = self.specs[key]
        if spec.get(field_name):
            return self.greet(key, str(spec[field_name]))
        groups = self.replies["groups"]
        variants = groups.get(self.group_of(key, inc)) or groups["_default"]
        text = str(spec["text"]).lower()
        fitting = [v for v in variants if any(word in text for word in v.get("when", []))]
        fallback = [v for v in variants if not v.get("when")]
        pool = fitting[:1] or fallback or variants
        return self.greet(key, str(pool[int(_chance(key, "reply") * len(pool))][field_name]))

    def pick(self, key: str, kind: str) -> str:
        options = self.replies[kind]
        return self.greet(key, str(options[int(_chance(key, kind) * len(options))]))

    def greet(self, key: str, text: str) -> str:
        name = self.specs[key].get("greet")
        return text.replace("{greeting}", f"Здравствуйте, {name}!" if name else "Здравствуйте!")

    def route_from_triage(self, key: str) -> bool:
        """The operator sets the group the analysis missed and routes by the rules."""
        inc = self.incident(key)
        group = self._groups.get(str(self.specs[key].get("group") or ""))
        if inc is None or group is None or inc.status != S.TRIAGE:
            return False
        inc = self.take(inc)
        if inc.group_id != group.pk:
            inc = do_classify(inc, topic=None, group=group, actor=self.operator)
        suggestion = suggest_route(inc, "\n".join(inc.posts.values_list("text", flat=True)))
        if suggestion is None:
            return False
        do_route(
            inc,
            actor=self.operator,
            lead=suggestion.lead,
            co_executors=suggestion.co_executors,
            due_hours=suggestion.due_hours,
            rule=suggestion.rule,
        )
        return True

    def decline_misrouted(self, key: str) -> bool:
        """A department that got a post of another group says so (unless that group is its business too)."""
        inc = self.incident(key)
        group = self._groups.get(str(self.specs[key].get("group") or ""))
        if inc is None or group is None or inc.status != S.ROUTED or inc.group_id == group.pk:
            return False
        assignment = self.lead(inc)
        if assignment is None or assignment.status != A.SENT:
            return False
        right = RoutingRule.objects.filter(group=group, topic=None, territory=None, keywords="", is_active=True)
        if right.filter(lead_id=assignment.department_id).exists():
            return False
        do_decline(assignment, actor=self.staff(assignment, key), reason=self.replies["notes"]["misrouted"])
        return True

    def decline(self, key: str) -> bool:
        inc = self.incident(key)
        assignment = self.lead(inc) if inc else None
        if inc is None or assignment is None or assignment.status != A.SENT:
            return False
        do_decline(assignment, actor=self.staff(assignment, key), reason=str(self.specs[key]["decline"]))
        return True

    def primary(self, key: str) -> bool:
        inc = self.incident(key)
        if inc is None or inc.status not in {S.ROUTED, S.ANSWERING} or inc.answers.exists():
            return False
        inc = self.take(inc)
        draft = do_draft_answer(inc, actor=self.operator, kind=AnswerKind.PRIMARY, text=self.pick(key, "primary"))
        do_publish_answer(draft, actor=self.operator, link=self.link(key, 1))
        return True

    def submit(self, key: str) -> bool:
        inc = self.incident(key)
        if inc is None or inc.status != S.ROUTED:
            return False
        done = False
        for assignment in inc.assignments.filter(status=A.SENT).order_by("pk"):
            if assignment.role == AssignmentRole.LEAD:
                text = self.reply(key, inc, "info")
            else:
                text = self.replies["notes"]["co_info"]
            do_submit_information(assignment, actor=self.staff(assignment, key), text=text)
            done = True
        return done

    def rework(self, key: str) -> bool:
        inc = self.incident(key)
        assignment = self.lead(inc) if inc else None
        if assignment is None or assignment.status != A.SUBMITTED or assignment.rework_comments.exists():
            return False
        do_return_for_rework(assignment, actor=self.operator, comment=self.pick(key, "rework"))
        return True

    def resubmit(self, key: str) -> bool:
        inc = self.incident(key)
        assignment = self.lead(inc) if inc else None
        if inc is None or assignment is None or assignment.status != A.REWORK:
            return False
        text = f"{self.reply(key, inc, 'info')}\n\n{self.replies['notes']['resubmit']}"
        do_submit_information(assignment, actor=self.staff(assignment, key), text=text)
        return True

    def accept(self, key: str) -> bool:
        inc = self.incident(key)
        if inc is None or inc.status != S.ROUTED:
            return False
        submitted = list(inc.assignments.filter(status=A.SUBMITTED).order_by("pk"))
        if not submitted:
            return False
        self.take(inc)
        for assignment in submitted:
            do_accept_information(assignment, actor=self.operator)
        return True

    def intermediate(self, key: str) -> bool:
        inc = self.incident(key)
        if inc is None or not inc.is_open or inc.answers.filter(kind=AnswerKind.INTERMEDIATE).exists():
            return False
        promised = timezone.localdate() + dt.timedelta(days=7 + int(8 * _chance(key, "promise")))
        text = self.greet(key, str(self.specs[key].get("intermediate") or self.pick(key, "intermediate")))
        draft = do_draft_answer(
            inc, actor=self.operator, kind=AnswerKind.INTERMEDIATE, text=text, promised_date=promised
        )
        do_publish_answer(draft, actor=self.operator, link=self.link(key, 2))
        return True

    def draft_final(self, key: str, approval: bool) -> bool:
        inc = self.incident(key)
        if inc is None or inc.status != S.ANSWERING or inc.answers.filter(kind=AnswerKind.FINAL).exists():
            return False
        draft = do_draft_answer(inc, actor=self.operator, kind=AnswerKind.FINAL, text=self.reply(key, inc, "answer"))
        if approval:
            do_submit_for_approval(draft, actor=self.operator)
        return True

    def final(self, key: str, status: str) -> Answer | None:
        inc = self.incident(key)
        return inc.answers.filter(kind=AnswerKind.FINAL, status=status).first() if inc else None

    def approve(self, key: str) -> bool:
        answer = self.final(key, AnswerStatus.APPROVAL)
        if answer is None:
            return False
        do_approve_answer(answer, actor=self.head)
        return True

    def publish(self, key: str) -> bool:
        answer = self.final(key, AnswerStatus.APPROVED) or self.final(key, AnswerStatus.DRAFT)
        if answer is None:
            return False
        do_publish_answer(answer, actor=self.operator, link=self.link(key, 3))
        return True

    def close(self, key: str) -> bool:
        inc = self.incident(key)
        if inc is None or inc.status != S.ANSWERED:
            return False
        note = str(self.specs[key].get("close_note") or self.pick(key, "close"))
        do_close(inc, actor=self.operator, note=note)
        return True

    def merge(self, key: str, into_key: str) -> bool:
        inc, into = self.incident(key), self.incident(into_key)
        if inc is None or into is None or inc.pk == into.pk or not inc.is_open or not into.is_open:
            return False
        do_merge(inc, into=into, actor=self.operator, note=self.replies["notes"]["merge"])
        return True

    def no_answer(self, key: str) -> bool:
        inc = self.incident(key)
        if inc is None or not inc.is_open:
            return False
        spec = self.specs[key]
        do_mark_no_answer(inc, actor=self.operator, reason=spec["no_answer"], note=spec.get("note", ""))
        return True

    def link(self, key: str, n: int) -> str:
        """Where the operator published the answer: a reply in the same thread."""
        url = str(self.specs[key].get("url") or "")
        if not url:
            return ""
        base, _sep, query = url.partition("?")
        if query.startswith("reply="):
            return f"{base}?reply={int(query[6:]) + 17 * n}"
        if "t.me/" in base:
            return f"{base}?comment={n}"
        return f"{base}#answer-{n}"


@contextlib.contextmanager
def _no_background_work() -> Iterator[None]:
    """Drop the tasks the services enqueue while the demo writes its history.

    They would all be no-ops for the worker (the posts are analysed here; the e-mails of last month are skipped)
    yet cost ~15 s of loading and thousands of log lines at the first `make run`: about 1,350 messages. The
    worker still gets the analysis of the posts planned `new` (`hand_fresh_posts_to_worker`).
    """
    with (
        mock.patch.object(DjangoTask, "delay_on_commit", _dropped),
        mock.patch.object(DjangoTask, "apply_async_on_commit", _dropped),
        mock.patch("otklik.notifications.services.enqueue_emails", _dropped),
        mock.patch("otklik.intake.dispatch.request_analysis_on_commit", _dropped),
    ):
        yield


def _dropped(*args: Any, **kwargs: Any) -> None:
    return None


def _clock(at: dt.datetime) -> Any:
    """Set the clock to `at` for one step of the demo history (time-machine, installed with the dev tools).

    Without it the steps happen now: the statuses are the same, only the timeline is compressed into today.
    """
    if time_machine is None:
        return contextlib.nullcontext()
    return time_machine.travel(at, tick=False)
