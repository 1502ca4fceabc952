"""`python manage.py load_demo`: a believable administration of Нижневартовск with demo users and posts.

Idempotent (run by every `make run`): reference rows (departments, territories, routing rules, users) are created
when missing and never overwritten, so edits made in the admin survive; posts have fixed external ids, so
ingesting them again adds nothing; each lifecycle step of the demo runs only from the state it expects.
Posts go through the intake service and are analysed at once (classification and routing) by calling the pipeline
directly; the lifecycle steps go through the services, as people would do them.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Callable
from decimal import Decimal
from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from otklik.accounts.models import User
from otklik.answers.choices import AnswerKind
from otklik.answers.services import (
    do_approve_answer,
    do_draft_answer,
    do_publish_answer,
    do_submit_for_approval,
)
from otklik.cases.choices import AssignmentRole, AssignmentStatus, IncidentStatus, NoAnswerReason
from otklik.cases.models import Assignment, Incident
from otklik.cases.services import (
    do_accept_information,
    do_close,
    do_mark_no_answer,
    do_merge,
    do_submit_information,
    do_take,
)
from otklik.core.errors import DomainError
from otklik.intake.models import Post
from otklik.intake.services import default_source, do_ingest_post
from otklik.nlp.keywords import DATA_DIR
from otklik.nlp.pipeline import analyze_post
from otklik.org.models import Department, RoutingRule, Territory, Topic, TopicGroup
from otklik.org.services import load_rubricator

ORG_PATH = DATA_DIR / "demo_org.json"
POSTS_PATH = DATA_DIR / "demo_posts.json"
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
        posts = self._posts(_read(POSTS_PATH)["posts"])
        self._lifecycle(posts, users)
        self._summary()
        self._logins(users)

    def say(self, message: str) -> None:
        if self.verbosity >= 1:
            self.stdout.write(message)

    # --- reference data -------------------------------------------------------------------------------------

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

    # --- posts and their analysis ---------------------------------------------------------------------------

    def _posts(self, specs: list[dict[str, Any]]) -> dict[str, Post]:
        now = timezone.now()
        posts: dict[str, Post] = {}
        created = 0
        outcomes: dict[str, int] = {}
        for spec in sorted(specs, key=lambda s: -s["hours_ago"]):
            parent = posts.get(spec["thread_of"]) if spec.get("thread_of") else None
            topic = Topic.objects.filter(name=spec["topic"]).first() if spec.get("topic") else None
            result = do_ingest_post(
                source=default_source(spec["source"]),
                external_id=spec["external_id"],
                text=spec["text"],
                posted_at=now - dt.timedelta(hours=spec["hours_ago"]),
                author_name=spec.get("author", ""),
                author_id=spec.get("author_id", ""),
                url=spec.get("url", ""),
                thread_id=parent.external_id if parent else "",
                topic=topic,
            )
            created += result.created
            # The worker would do this within seconds; the demo wants it done now. A second run is a no-op.
            outcome = analyze_post(result.post.pk)
            outcomes[outcome] = outcomes.get(outcome, 0) + 1
            result.post.refresh_from_db()
            posts[spec["key"]] = result.post
        self.say(
            _("Demo posts: %(created)s ingested, %(kept)s already there; analysis: %(outcomes)s.")
            % {
                "created": created,
                "kept": len(specs) - created,
                "outcomes": ", ".join(f"{k} {v}" for k, v in sorted(outcomes.items())),
            }
        )
        return posts

    # --- the lifecycle, so that every status shows up --------------------------------------------------------

    def _lifecycle(self, posts: dict[str, Post], users: dict[str, User]) -> None:
        steps: list[tuple[str, Callable[[], bool]]] = []
        operator, head = users["operator"], users["head"]
        executor, dept_head, executor_roads = users["executor"], users["dept_head"], users["executor_roads"]

        def incident(key: str) -> Incident | None:
            post = posts.get(key)
            return Incident.objects.get(pk=post.incident_id) if post and post.incident_id else None

        def lead_assignment(inc: Incident) -> Assignment | None:
            return (
                inc.assignments.filter(role=AssignmentRole.LEAD).exclude(status__in=[A.CANCELLED, A.DECLINED]).first()
            )

        def take(inc: Incident) -> None:
            if inc.owner_id is None:
                do_take(inc, actor=operator)

        def submit(key: str, who: User, text: str) -> bool:
            inc = incident(key)
            if inc is None or inc.status != S.ROUTED:
                return False
            assignment = lead_assignment(inc)
            if assignment is None or assignment.status != A.SENT:
                return False
            take(inc)
            do_submit_information(assignment, actor=who, text=text)
            return True

        def accept(key: str) -> bool:
            inc = incident(key)
            assignment = lead_assignment(inc) if inc else None
            if inc is None or assignment is None or assignment.status != A.SUBMITTED:
                return False
            for other in inc.assignments.filter(status=A.SUBMITTED):
                do_accept_information(other, actor=operator)
            return True

        def answer(
            key: str, kind: str, text: str, *, approve: bool, publish: bool, promised: dt.date | None = None
        ) -> bool:
            inc = incident(key)
            if inc is None or inc.answers.filter(kind=kind).exists():
                return False
            if kind == AnswerKind.FINAL and inc.status != S.ANSWERING:
                return False
            take(inc)
            draft = do_draft_answer(inc, actor=operator, kind=kind, text=text, promised_date=promised)
            if approve:
                draft = do_submit_for_approval(draft, actor=operator)
                if publish:
                    draft = do_approve_answer(draft, actor=head)
            if publish:
                link = (posts[key].url or "").rstrip("/") + "?reply=otklik" if posts[key].url else ""
                do_publish_answer(draft, actor=operator, link=link)
            return True

        def close(key: str) -> bool:
            inc = incident(key)
            if inc is None or inc.status != S.ANSWERED:
                return False
            do_close(inc, actor=operator, note=_("The citizen thanked us: the garbage was taken away."))
            return True

        def no_answer(key: str, reason: str) -> bool:
            inc = incident(key)
            if inc is None or inc.status not in {S.NEW, S.TRIAGE}:
                return False
            do_mark_no_answer(inc, actor=operator, reason=reason)
            return True

        def merge(key: str, into_key: str) -> bool:
            inc, into = incident(key), incident(into_key)
            if inc is None or into is None or inc.pk == into.pk or inc.status in {S.MERGED, S.CLOSED, S.ANSWERED}:
                return False
            if not into.is_open:
                return False
            do_merge(inc, into=into, actor=operator, note=_("The same outage at the same address."))
            return True

        today = timezone.localdate()
        steps += [
            ("merge a duplicate post", lambda: merge("hot_water_dup", "hot_water")),
            (
                "information submitted (elevator)",
                lambda: submit(
                    "elevator",
                    executor,
                    "Лифт остановлен из-за износа тягового каната. Подрядчик ООО «Лифтсервис» заменит канат до "
                    "пятницы, акт и фото после ремонта приложим.",
                ),
            ),
            (
                "information submitted (stairwell)",
                lambda: submit(
                    "stairwell",
                    executor,
                    "Управляющая компания получила предписание: влажная уборка подъезда — два раза в неделю, "
                    "лампы заменены сегодня. Фото прилагаем.",
                ),
            ),
            ("information accepted (stairwell)", lambda: accept("stairwell")),
            (
                "primary answer published (stairwell)",
                lambda: answer(
                    "stairwell",
                    AnswerKind.PRIMARY,
                    "Здравствуйте, Фаина Рустамовна! Спасибо, что написали. Мы передали вашу жалобу в Департамент "
                    "ЖКХ и управляющую компанию, ответим здесь же.",
                    approve=False,
                    publish=True,
                ),
            ),
            (
                "information submitted (icicles)",
                lambda: submit(
                    "icicles",
                    dept_head,
                    "Сосульки над подъездом сбиты бригадой управляющей компании, участок огорожен лентой. "
                    "Очистка всей кровли запланирована на завтра, 10:00.",
                ),
            ),
            ("information accepted (icicles)", lambda: accept("icicles")),
            (
                "final answer on approval (icicles)",
                lambda: answer(
                    "icicles",
                    AnswerKind.FINAL,
                    "Здравствуйте, Игорь! Спасибо за сигнал. Сосульки над входом в подъезд сбили сегодня, опасный "
                    "участок огородили. Завтра с 10:00 очистят всю кровлю дома.",
                    approve=True,
                    publish=False,
                ),
            ),
            (
                "information submitted (sewer)",
                lambda: submit(
                    "sewer",
                    dept_head,
                    "Засор устранён аварийной бригадой, подвал откачан и продезинфицирован. Акт выполненных работ "
                    "приложен.",
                ),
            ),
            ("information accepted (sewer)", lambda: accept("sewer")),
            (
                "final answer published (sewer)",
                lambda: answer(
                    "sewer",
                    AnswerKind.FINAL,
                    "Здравствуйте, Анатолий! Извините за неудобства. Засор в подвале дома на Менделеева, 18 устранили, "
                    "подвал откачали и продезинфицировали. Если запах останется, напишите нам здесь.",
                    approve=True,
                    publish=True,
                ),
            ),
            (
                "information submitted (garbage)",
                lambda: submit(
                    "garbage",
                    executor,
                    "Региональный оператор вывез отходы 14-го числа, график вывоза с площадки — ежедневно. "
                    "Фото чистой площадки прилагаем.",
                ),
            ),
            ("information accepted (garbage)", lambda: accept("garbage")),
            (
                "final answer published (garbage)",
                lambda: answer(
                    "garbage",
                    AnswerKind.FINAL,
                    "Здравствуйте, Ирина! Спасибо, что сообщили. Мусор с площадки у дома 44 по улице Нефтяников "
                    "вывезли, теперь его будут забирать ежедневно.",
                    approve=True,
                    publish=True,
                ),
            ),
            ("incident closed (garbage)", lambda: close("garbage")),
            (
                "co-executor information (road pits)",
                lambda: self._co_submit(
                    incident("road_pits"),
                    executor_roads,
                    "Участок проспекта Победы включён в план ямочного ремонта, работы начнутся при плюсовой "
                    "температуре, ориентировочно в мае.",
                ),
            ),
            (
                "intermediate answer published (road pits)",
                lambda: answer(
                    "road_pits",
                    AnswerKind.INTERMEDIATE,
                    "Здравствуйте, Виктор! Участок проспекта Победы включили в план ямочного ремонта. Окончательный "
                    "ответ дадим до указанной даты.",
                    approve=False,
                    publish=True,
                    promised=today + dt.timedelta(days=7),
                ),
            ),
            ("no answer: insults", lambda: no_answer("insult", NoAnswerReason.ABUSIVE)),
            ("no answer: spam", lambda: no_answer("spam", NoAnswerReason.SPAM)),
        ]
        done = 0
        for label, step in steps:
            try:
                with transaction.atomic():
                    done += bool(step())
            except DomainError as exc:
                self.stderr.write(
                    _("  demo step «%(step)s» skipped: %(reason)s") % {"step": label, "reason": exc.message}
                )
        self.say(_("Demo lifecycle: %(done)s steps done now (the others were done before).") % {"done": done})

    def _co_submit(self, inc: Incident | None, who: User, text: str) -> bool:
        if inc is None or inc.status != S.ROUTED or who.department_id is None:
            return False
        assignment = inc.assignments.filter(department_id=who.department_id, status=A.SENT).first()
        if assignment is None:
            return False
        do_submit_information(assignment, actor=who, text=text)
        return True

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
