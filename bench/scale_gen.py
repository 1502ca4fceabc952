"""Generate a city-sized Otklik database: 1,000,000 posts / 700,000 incidents over a year (issue 9, "At scale").

Usage (PostgreSQL only; the database is created when missing and must be empty of scale data — use --recreate):

    .venv/bin/python bench/scale_gen.py                       # 1,000,000 posts into `otklik_scale`
    .venv/bin/python bench/scale_gen.py --posts 50000 --db otklik_scale_small --recreate
    OTKLIK_DB_HOST=127.0.0.1 OTKLIK_DB_PORT=5432 OTKLIK_DB_USER=postgres  (defaults)

Steps: (re)create the database, migrate it and load the reference data and the demo city with the same commands as
`scripts/prepare_db.py` (the real schema, every index and constraint in place), then stream the rows with COPY
(psycopg3 `cursor.copy`), one table after another, with explicit ids; the sequences are moved past them and the
tables VACUUMed and ANALYZEd at the end. The time of each step and the database size are printed.

What the data looks like (seeded, `--seed`):
- incidents = 70 % of posts; every incident has its first post, the other posts join incidents with a skewed
  (Pareto) number of duplicates;
- creation times over `--days` (365) days: a daily curve (night quiet, peak at 10-12 and 19-21), a weekly one
  (weekends ~35 % quieter), a winter peak and a slight growth over the year;
- groups weighted as in the demo stream (ЖКХ, Благоустройство, Дороги… first), topics inside a group by Zipf;
- places: the demo gazetteer's streets and buildings, their territories; channels: VK 42 %, Telegram 14 %, OK 9 %,
  MAX 5 %, ИМ 18 %, ПОС 12 %;
- statuses by age: recent incidents mostly open, old ones closed/answered/no answer/merged, with a long tail of
  stuck open ones; about 100,000 open SLA clocks (the answer clock of each open incident, the clock of each open
  assignment); closed clocks met or missed;
- lead departments by the demo routing rules of the topic's group; assignments (lead, sometimes a co-executor) with
  the statuses the incident's status implies; timeline events; published primary/final answers (refusals too);
- the citizens' replies to 30 % of the first final answers (`FollowUp`, two in three «satisfied»);
- the fields kept beside the rows as the app's hooks keep them (an incident's channels, last reopening, late-from
  time; each final answer's satisfaction outcome).
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import math
import os
import random
import sys
import time
from collections import defaultdict
from pathlib import Path
from typing import Any

BASE_DIR = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(BASE_DIR))

CHANNEL_WEIGHTS = {"vk": 42, "telegram": 14, "ok": 9, "max": 5, "im": 18, "pos": 12}
OPEN_MIX = {"new": 10, "triage": 8, "routed": 52, "answering": 25, "approval": 5}
HOUR_WEIGHTS = [1, 0.6, 0.4, 0.3, 0.3, 0.5, 1.2, 2.5, 4, 5.5, 6.5, 6.5, 6, 5.5, 5.5, 5, 5, 5.2, 5.6, 6, 6, 5, 3.5, 2]
WEEKDAY_WEIGHTS = [1.15, 1.1, 1.05, 1.05, 1.0, 0.7, 0.65]
TAILS = [
    "",
    " Сколько можно ждать?",
    " Примите меры!",
    " Прошу разобраться.",
    " Администрация, ответьте!",
    " Уже неделю так.",
    " Фото прилагаю.",
    " Дети ходят мимо каждый день.",
    " Обращались в управляющую компанию — без толку.",
    " Спасибо заранее.",
]
FINAL_TEXTS = [
    "{name}, здравствуйте! По вашему обращению сообщаем: работы выполнены, проблема устранена. Спасибо за сигнал.",
    "Здравствуйте! Специалисты выехали на место, неисправность устранена {day}. Если проблема повторится — напишите.",
    "{name}, добрый день. Ответственная служба провела проверку, нарушения устранены, подрядчику выдано предписание.",
]
PRIMARY_TEXT = "Здравствуйте! Ваше обращение принято и передано в ответственное подразделение. Ответ будет до {day}."


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--db", default=os.environ.get("OTKLIK_SCALE_DB", "otklik_scale"), help="database name")
    parser.add_argument("--posts", type=int, default=1_000_000, help="number of posts (incidents are 70 %%)")
    parser.add_argument("--days", type=int, default=365, help="days of history")
    parser.add_argument("--seed", type=int, default=9)
    parser.add_argument("--recreate", action="store_true", help="drop and create the database first")
    parser.add_argument("--skip-prepare", action="store_true", help="the schema and demo data are already there")
    parser.add_argument("--resume", action="store_true", help="the incidents are loaded: go on from the posts")
    return parser.parse_args()


def setup_django(db: str) -> None:
    os.environ["OTKLIK_DB"] = "postgres"
    os.environ["OTKLIK_DB_NAME"] = db
    os.environ.setdefault("OTKLIK_BROKER_URL", "memory://")
    os.environ.setdefault("OTKLIK_CELERY_EAGER", "0")
    os.environ.setdefault("OTKLIK_LOG_LEVEL", "WARNING")
    os.environ["DJANGO_SETTINGS_MODULE"] = "otklik.settings"
    import django

    django.setup()


def admin_connection() -> Any:
    import psycopg

    return psycopg.connect(
        host=os.environ.get("OTKLIK_DB_HOST", "127.0.0.1"),
        port=os.environ.get("OTKLIK_DB_PORT", "5432"),
        user=os.environ.get("OTKLIK_DB_USER", "postgres"),
        dbname="postgres",
        autocommit=True,
    )


class Step:
    """Prints the time of each step."""

    def __init__(self) -> None:
        self.started = time.perf_counter()
        self.last = self.started

    def done(self, label: str) -> None:
        now = time.perf_counter()
        print(f"  {label}: {now - self.last:.1f} s (total {now - self.started:.1f} s)", flush=True)
        self.last = now


# --- reference data read from the prepared database ------------------------------------------------------------


def load_reference() -> dict[str, Any]:
    from otklik.accounts.models import User
    from otklik.intake.models import Source
    from otklik.org.models import Building, Department, RoutingRule, Street, Topic, TopicGroup

    groups = {g.pk: g.name for g in TopicGroup.objects.all()}
    topics: dict[int, list[tuple[int, bool]]] = defaultdict(list)
    for topic in Topic.objects.filter(is_active=True).order_by("pk"):
        topics[topic.group_id].append((topic.pk, topic.priority))
    lead_by_group: dict[int, list[int]] = defaultdict(list)
    for rule in RoutingRule.objects.filter(is_active=True, lead__isnull=False, group__isnull=False):
        lead_by_group[rule.group_id].append(rule.lead_id)
    departments = list(Department.objects.filter(is_active=True).values_list("pk", flat=True))
    places = [
        (f"{b.street.get_street_type_display()} {b.street.name}, {b.house}", b.territory_id or b.street.territory_id)
        for b in Building.objects.select_related("street")
    ]
    for street in Street.objects.all():
        for _ in range(3):
            house = str(random.randint(1, 120))
            places.append((f"{street.get_street_type_display()} {street.name}, {house}", street.territory_id))
    # bulk_create everywhere here: no signals (an audit trail of generated rows is not wanted, nor its cost).
    from otklik.intake.choices import Channel

    Source.objects.bulk_create(
        [Source(channel=c, account="", name=str(Channel(c).label)) for c in CHANNEL_WEIGHTS], ignore_conflicts=True
    )
    sources = dict(Source.objects.filter(account="").values_list("channel", "pk"))
    operators = list(User.objects.filter(role__in=["operator", "head"], is_active=True).values_list("pk", flat=True))
    unusable = "!"  # an unusable password: these operators never log in
    team = [User(username=f"scale_operator_{n}", role="operator", password=unusable) for n in range(1, 11)]
    User.objects.bulk_create(team, ignore_conflicts=True)  # a team of operators besides the demo ones
    operators += User.objects.filter(username__startswith="scale_operator_").values_list("pk", flat=True)
    return {
        "groups": groups,
        "topics": topics,
        "lead_by_group": lead_by_group,
        "departments": departments,
        "places": places,
        "sources": sources,
        "operators": operators,
        "demo_operator": User.objects.get(username="operator").pk,
    }


def load_texts() -> dict[str, list[str]]:
    texts: dict[str, list[str]] = defaultdict(list)
    for name in ("demo_posts", "demo_stream"):
        data = json.loads((BASE_DIR / "otklik/org/data" / f"{name}.json").read_text(encoding="utf-8"))
        for post in data["posts"]:
            texts[post.get("group") or ""].append(post["text"])
    return texts


def group_weights(groups: dict[int, str], texts: dict[str, list[str]]) -> dict[int, float]:
    """As in the demo stream (its counts per group), a small weight for groups it never mentions."""
    return {pk: float(len(texts.get(name, [])) or 0.5) for pk, name in groups.items()}


# --- COPY helper -------------------------------------------------------------------------------------------------


class Copier:
    """COPY rows of a model: columns given by the caller, every other concrete field set to its default."""

    def __init__(self, cursor: Any, model: Any, columns: list[str]) -> None:
        self.cursor = cursor
        self.columns = columns
        cursor.execute(
            "SELECT column_name FROM information_schema.columns WHERE table_name = %s", [model._meta.db_table]
        )
        present = {row[0] for row in cursor.fetchall()}  # a field of newer code not migrated here is left out
        extra = []
        for field in model._meta.concrete_fields:
            if field.column in columns or field.column not in present:
                continue
            default = field.get_default()
            if isinstance(default, dict | list):
                default = json.dumps(default)
            extra.append((field.column, default))
        self.tail = tuple(value for _column, value in extra)
        names = ", ".join(f'"{c}"' for c in [*columns, *(c for c, _v in extra)])
        self.sql = f'COPY "{model._meta.db_table}" ({names}) FROM STDIN'
        self.count = 0

    def __enter__(self) -> Copier:
        self.context = self.cursor.copy(self.sql)
        self.copy = self.context.__enter__()
        return self

    def write(self, row: tuple[Any, ...]) -> None:
        self.copy.write_row(row + self.tail)
        self.count += 1

    def __exit__(self, *exc: Any) -> None:
        self.context.__exit__(*exc)


def next_id(cursor: Any, table: str) -> int:
    cursor.execute(f'SELECT coalesce(max(id), 0) + 1 FROM "{table}"')  # noqa: S608 - our own table names
    return int(cursor.fetchone()[0])


def move_sequence(cursor: Any, table: str) -> None:
    cursor.execute(
        f"SELECT setval(pg_get_serial_sequence('\"{table}\"', 'id'), (SELECT coalesce(max(id), 1) FROM \"{table}\"))"  # noqa: S608
    )


# --- the generator ----------------------------------------------------------------------------------------------


def day_weights(days: int, end: dt.datetime) -> list[float]:
    weights = []
    for back in range(days, 0, -1):
        day = (end - dt.timedelta(days=back)).date()
        season = 1 + 0.25 * math.cos(2 * math.pi * (day.timetuple().tm_yday - 20) / 365)
        trend = 0.85 + 0.3 * (days - back) / days
        weights.append(WEEKDAY_WEIGHTS[day.weekday()] * season * trend)
    return weights


def generate(args: argparse.Namespace) -> dict[str, int]:
    from django.db import connection
    from django.utils import timezone

    from otklik.answers.models import Answer
    from otklik.cases.models import Assignment, Event, Incident
    from otklik.intake.models import Post
    from otklik.sla.models import Clock

    rnd = random.Random(args.seed)
    random.seed(args.seed)
    ref = load_reference()
    texts = load_texts()
    now = timezone.now().replace(microsecond=0)
    start = (now - dt.timedelta(days=args.days)).replace(hour=0, minute=0, second=0)
    n_posts = args.posts
    n_incidents = int(n_posts * 0.7)

    gweights = group_weights(ref["groups"], texts)
    group_ids = [g for g in gweights if ref["topics"].get(g)]
    group_cum = _cum([gweights[g] for g in group_ids])
    topic_cum = {g: _cum([1 / (rank + 1) ** 1.1 for rank in range(len(ref["topics"][g]))]) for g in group_ids}
    all_texts = [t for values in texts.values() for t in values]
    place_cum = _cum([1 / (rank + 1) ** 0.6 for rank in range(len(ref["places"]))])
    channels = list(CHANNEL_WEIGHTS)
    channel_cum = _cum(list(CHANNEL_WEIGHTS.values()))
    open_statuses = list(OPEN_MIX)
    open_cum = _cum(list(OPEN_MIX.values()))
    dweights = _cum(day_weights(args.days, start + dt.timedelta(days=args.days)))
    hweights = _cum(HOUR_WEIGHTS)
    operators = ref["operators"]
    demo_op = ref["demo_operator"]

    # Creation times, sorted: incidents get increasing ids in time order, as in life.
    days = rnd.choices(range(args.days), cum_weights=dweights, k=n_incidents)
    hours = rnd.choices(range(24), cum_weights=hweights, k=n_incidents)
    created = sorted(
        start + dt.timedelta(days=d, hours=h, seconds=rnd.randrange(3600)) for d, h in zip(days, hours, strict=True)
    )
    created = [min(c, now - dt.timedelta(seconds=30)) for c in created]

    cursor_wrapper = connection.cursor()
    cursor = cursor_wrapper.cursor  # the psycopg cursor under Django's wrapper
    first_incident = next_id(cursor, Incident._meta.db_table)
    first_post = next_id(cursor, Post._meta.db_table)
    first_assignment = next_id(cursor, Assignment._meta.db_table)
    first_event = next_id(cursor, Event._meta.db_table)
    first_answer = next_id(cursor, Answer._meta.db_table)
    first_clock = next_id(cursor, Clock._meta.db_table)
    step = Step()

    # Incidents first (posts, assignments, events, answers and clocks refer to them); the rows the other tables
    # need are kept in compact tuples.
    inc_cols = [
        "id",
        "status",
        "topic_id",
        "group_id",
        "priority",
        "confidence",
        "address",
        "territory_id",
        "lead_department_id",
        "owner_id",
        "no_answer_reason",
        "merged_into_id",
        "due_at",
        "first_answered_at",
        "answered_at",
        "closed_at",
        "created_at",
        "updated_at",
    ]
    facts: list[tuple[Any, ...]] = []
    counts: dict[str, int] = defaultdict(int)
    if args.resume:  # the incidents of an interrupted run are there: read back what the other tables need
        cursor.execute(
            "SELECT id, status, created_at, group_id, lead_department_id, due_at, first_answered_at, answered_at, "
            "closed_at, owner_id, address FROM cases_incident WHERE id > (SELECT coalesce(max(incident_id), 0) "
            "FROM intake_post) ORDER BY id"
        )
        facts = [tuple(row) for row in cursor.fetchall()]
        for fact in facts:
            counts[fact[1]] += 1
        created = []
        step.done(f"incidents read back: {len(facts)}")
    with Copier(cursor, Incident, inc_cols) as copier:
        for index, created_at in enumerate(created):
            pk = first_incident + index
            age = (now - created_at).total_seconds() / 86400
            group = group_ids[_pick(rnd, group_cum)]
            topic, priority = ref["topics"][group][_pick(rnd, topic_cum[group])]
            address, territory = ref["places"][_pick(rnd, place_cum)] if rnd.random() < 0.85 else ("", None)
            p_open = 0.9 * math.exp(-age / 14) + 0.2 * math.exp(-age / 90)
            first_answered = answered = closed = merged_into = None
            reason = ""
            due = created_at + dt.timedelta(hours=24 if created_at.weekday() < 4 else 72)
            leads = ref["lead_by_group"].get(group) or ref["departments"]
            lead = leads[rnd.randrange(len(leads))]
            owner = None
            if rnd.random() < p_open:
                status = open_statuses[_pick(rnd, open_cum)]
                if status in ("new", "triage"):
                    lead = None
                else:
                    owner = demo_op if rnd.random() < 0.15 else operators[rnd.randrange(len(operators))]
                if status in ("answering", "approval") and rnd.random() < 0.5:
                    first_answered = created_at + dt.timedelta(hours=rnd.uniform(0.5, 8))
            else:
                roll = rnd.random()
                owner = operators[rnd.randrange(len(operators))]
                if roll < 0.09:
                    status, reason, lead = "no_answer", rnd.choice(["spam", "abusive", "not_municipal"]), None
                    closed = created_at + dt.timedelta(hours=rnd.uniform(0.2, 6))
                elif roll < 0.12 and index > 10:
                    status, lead = "merged", None
                    merged_into = pk - rnd.randint(1, min(index, 200))
                else:
                    took = dt.timedelta(hours=rnd.lognormvariate(math.log(30), 0.8))
                    answered = min(created_at + took, now - dt.timedelta(minutes=1))
                    if rnd.random() < 0.4:
                        first_answered = created_at + (answered - created_at) * rnd.uniform(0.05, 0.4)
                    else:
                        first_answered = answered
                    closed = answered + dt.timedelta(days=rnd.uniform(3, 8))
                    status = "closed" if closed < now else "answered"
                    if status == "answered":
                        closed = None
            confidence = round(rnd.uniform(0.35, 0.99), 3)
            updated = closed or answered or first_answered or created_at
            copier.write(
                (
                    pk,
                    status,
                    topic,
                    group,
                    priority,
                    confidence,
                    address,
                    territory,
                    lead,
                    owner,
                    reason,
                    merged_into,
                    due if status not in ("no_answer", "merged") else None,
                    first_answered,
                    answered,
                    closed,
                    created_at,
                    updated,
                )
            )
            facts.append((pk, status, created_at, group, lead, due, first_answered, answered, closed, owner, address))
            counts[status] += 1
    step.done(f"incidents: {len(facts)}")

    # Posts: the first post of each incident, then duplicates on a skewed share of incidents.
    post_cols = [
        "id",
        "source_id",
        "external_id",
        "author_name",
        "author_id",
        "text",
        "url",
        "posted_at",
        "thread_id",
        "incident_id",
        "analysis_status",
        "analyzed_at",
        "kind",
        "negative",
        "created_at",
    ]
    first_names = ["Марина", "Алексей", "Ольга", "Игорь", "Светлана", "Дмитрий", "Наталья", "Сергей", "Анна", "Павел"]
    last_names = ["Ковалёва", "Гринёв", "Смирнова", "Петров", "Иванова", "Кузнецов", "Попова", "Соколов", "Лебедев"]
    group_texts = {g: texts.get(ref["groups"][g]) or all_texts for g in group_ids}
    extra = n_posts - n_incidents
    dup_targets = [facts[int(len(facts) * rnd.paretovariate(1.2)) % len(facts)] for _ in range(max(extra, 0))]
    dup_targets.sort(key=lambda fact: fact[0])
    dups = iter(dup_targets)
    next_dup = next(dups, None)
    post_id = first_post
    with Copier(cursor, Post, post_cols) as copier:
        for fact in facts:
            pk, status, created_at, group = fact[0], fact[1], fact[2], fact[3]
            address = fact[10]
            posts_here = [created_at - dt.timedelta(seconds=rnd.randrange(60, 3600))]
            while next_dup is not None and next_dup[0] == pk:
                posts_here.append(min(created_at + dt.timedelta(hours=rnd.uniform(0.1, 48)), now))
                next_dup = next(dups, None)
            for posted_at in posts_here:
                channel = channels[_pick(rnd, channel_cum)]
                pool = group_texts[group]
                text = pool[rnd.randrange(len(pool))]
                if address:
                    text = f"{address}. {text}"
                text += TAILS[rnd.randrange(len(TAILS))]
                author = rnd.randrange(200_000)
                copier.write(
                    (
                        post_id,
                        ref["sources"][channel],
                        f"scale-{post_id}",
                        f"{first_names[author % 10]} {last_names[author % 9]}",
                        f"id{author}",
                        text,
                        f"https://example.org/{channel}/{post_id}",
                        posted_at,
                        f"thread-{pk}" if channel in ("vk", "ok", "max") else "",
                        pk,
                        "done",
                        posted_at + dt.timedelta(seconds=5),
                        "complaint" if status != "no_answer" else rnd.choice(["spam", "abusive", "neutral"]),
                        round(rnd.uniform(0.3, 1.0), 3),
                        posted_at + dt.timedelta(seconds=2),
                    )
                )
                post_id += 1
    counts["posts"] = copier.count
    step.done(f"posts: {copier.count}")

    # Assignments of routed incidents and beyond; their clocks are collected for the clock table.
    asg_cols = [
        "id",
        "incident_id",
        "department_id",
        "role",
        "status",
        "request",
        "due_at",
        "information",
        "assignee_id",
        "submitted_by_id",
        "submitted_at",
        "accepted_at",
        "created_at",
        "updated_at",
    ]
    assignment_facts: list[tuple[int, int, str, dt.datetime, dt.datetime, dt.datetime | None]] = []
    asg_id = first_assignment
    departments = ref["departments"]
    with Copier(cursor, Assignment, asg_cols) as copier:
        for pk, status, created_at, _group, lead, _due, _first, answered, _closed, _owner, _address in facts:
            if lead is None or status not in ("routed", "answering", "approval", "answered", "closed"):
                continue
            if status != "routed" and rnd.random() < 0.15:
                continue  # answered by the service without a department
            routed_at = created_at + dt.timedelta(minutes=rnd.uniform(5, 240))
            pairs = [(lead, "lead")]
            if rnd.random() < 0.12:
                co = departments[rnd.randrange(len(departments))]
                if co != lead:
                    pairs.append((co, "co"))
            for department, role in pairs:
                due = routed_at + dt.timedelta(hours=24 if routed_at.weekday() < 4 else 72)
                submitted = accepted = None
                information = ""
                if status == "routed":
                    a_status = rnd.choices(["sent", "submitted", "rework"], weights=[60, 25, 15])[0]
                    if a_status != "sent":
                        submitted = min(routed_at + dt.timedelta(hours=rnd.uniform(1, 30)), now)
                        information = "Работы запланированы, срок — до конца недели."
                else:
                    a_status = "accepted"
                    end = answered or now
                    submitted = routed_at + (end - routed_at) * rnd.uniform(0.3, 0.8)
                    accepted = submitted + (end - submitted) * rnd.uniform(0.1, 0.9)
                    information = "Выезд специалистов выполнен, недостатки устранены. Фото прилагаем."
                copier.write(
                    (
                        asg_id,
                        pk,
                        department,
                        role,
                        a_status,
                        "Просим проверить и сообщить сроки устранения.",
                        due,
                        information,
                        None,
                        None,
                        submitted,
                        accepted,
                        routed_at,
                        accepted or submitted or routed_at,
                    )
                )
                assignment_facts.append((asg_id, pk, a_status, routed_at, due, submitted))
                asg_id += 1
    counts["assignments"] = copier.count
    step.done(f"assignments: {copier.count}")

    # Clocks: the answer clock of every incident with a deadline, one per assignment.
    clock_cols = [
        "id",
        "kind",
        "incident_id",
        "assignment_id",
        "state",
        "calendar_time",
        "hours",
        "started_at",
        "warn_at",
        "due_at",
        "long_due_at",
        "stopped_at",
        "elapsed_working_seconds",
        "elapsed_calendar_seconds",
        "warned_at",
        "overdue_at",
        "long_overdue_at",
        "created_at",
    ]
    clock_id = first_clock
    open_clocks = 0
    with Copier(cursor, Clock, clock_cols) as copier:

        def clock(kind: str, incident: int, assignment: int | None, hours: int, started: dt.datetime,
                  due: dt.datetime, stopped: dt.datetime | None) -> None:  # fmt: skip
            nonlocal clock_id, open_clocks
            warn = started + (due - started) * 0.8
            long_due = due + dt.timedelta(hours=8)
            if stopped is None:
                state, elapsed_w, elapsed_c = "running", None, None
                open_clocks += 1
                moment = now
            else:
                state = "met" if stopped <= due else "missed"
                elapsed_c = (stopped - started).total_seconds()
                elapsed_w = elapsed_c * 0.3
                moment = stopped
            copier.write(
                (
                    clock_id,
                    kind,
                    incident,
                    assignment,
                    state,
                    False,
                    hours,
                    started,
                    warn,
                    due,
                    long_due,
                    stopped,
                    elapsed_w,
                    elapsed_c,
                    warn if warn <= moment else None,
                    due if due <= moment else None,
                    long_due if long_due <= moment else None,
                    started,
                )
            )
            clock_id += 1

        for pk, status, created_at, _group, _lead, due, _first, answered, _closed, _owner, _addr in facts:
            if status in ("no_answer", "merged"):
                continue
            clock("answer", pk, None, 9, created_at, due, answered)
        for asg, pk, a_status, routed_at, due, submitted in assignment_facts:
            clock("assignment", pk, asg, 8, routed_at, due, None if a_status in ("sent", "rework") else submitted)
    counts["clocks"] = copier.count
    counts["open_clocks"] = open_clocks
    step.done(f"clocks: {copier.count} ({open_clocks} open)")

    # Answers: published primary answers, final answers (a few refusals), drafts of the incidents being answered.
    ans_cols = ["id", "incident_id", "kind", "status", "text", "author_id", "published_by_id", "published_at",
                "created_at", "updated_at"]  # fmt: skip
    ans_id = first_answer
    with Copier(cursor, Answer, ans_cols) as copier:
        for pk, status, created_at, _group, _lead, _due, first, answered, _closed, owner, _addr in facts:
            if first is not None and (answered is None or first < answered):
                day = (created_at + dt.timedelta(days=3)).strftime("%d.%m.%Y")
                copier.write((ans_id, pk, "primary", "published", PRIMARY_TEXT.format(day=day), owner, owner, first,
                              first - dt.timedelta(minutes=10), first))  # fmt: skip
                ans_id += 1
            if answered is not None:
                kind = "refusal" if rnd.random() < 0.03 else "final"
                text = FINAL_TEXTS[rnd.randrange(3)].format(name="Здравствуйте", day=answered.strftime("%d.%m.%Y"))
                copier.write((ans_id, pk, kind, "published", text, owner, owner, answered,
                              answered - dt.timedelta(minutes=30), answered))  # fmt: skip
                ans_id += 1
            elif status in ("answering", "approval"):
                draft = FINAL_TEXTS[0].format(name="Здравствуйте", day="")
                kind_status = "draft" if status == "answering" else "approval"
                copier.write((ans_id, pk, "final", kind_status, draft, owner, None, None, now, now))
                ans_id += 1
    counts["answers"] = copier.count
    step.done(f"answers: {copier.count}")

    # Timeline events.
    ev_cols = ["id", "incident_id", "assignment_id", "actor_id", "verb", "after", "created_at"]
    ev_id = first_event
    first_assignment_of: dict[int, tuple[int, dt.datetime]] = {}
    for asg, pk, _a_status, routed_at, _due, _submitted in assignment_facts:
        first_assignment_of.setdefault(pk, (asg, routed_at))
    with Copier(cursor, Event, ev_cols) as copier:
        for pk, status, created_at, _group, _lead, _due, first, answered, closed, owner, _addr in facts:
            copier.write((ev_id, pk, None, None, "created", "{}", created_at))
            ev_id += 1
            routed = first_assignment_of.get(pk)
            if routed is not None:
                copier.write((ev_id, pk, routed[0], owner, "routed", "{}", routed[1]))
                ev_id += 1
            if first is not None:
                copier.write((ev_id, pk, None, owner, "answer_published", '{"kind": "primary"}', first))
                ev_id += 1
            if answered is not None and answered != first:
                copier.write((ev_id, pk, None, owner, "answer_published", '{"kind": "final"}', answered))
                ev_id += 1
            if status == "closed":
                copier.write((ev_id, pk, None, owner, "closed", '{"status": "closed"}', closed))
                ev_id += 1
                if rnd.random() < 0.02:  # reopened once and answered again
                    copier.write((ev_id, pk, None, owner, "reopened", '{"status": "routed"}', closed))
                    ev_id += 1
            elif status == "no_answer":
                copier.write((ev_id, pk, None, owner, "no_answer", '{"status": "no_answer"}', closed))
                ev_id += 1
            elif status == "merged":
                copier.write((ev_id, pk, None, owner, "merged", '{"status": "merged"}', created_at))
                ev_id += 1
    counts["events"] = copier.count
    step.done(f"events: {copier.count}")
    # The citizens' replies after a final answer, as the satisfaction classifier records them (`FollowUp`): to 30 %
    # of the incidents' first final answers, a day later, two in three «satisfied». The reply is the incident's
    # last post. Seeded, so that two generations give the same rows.
    cursor.execute("SELECT setseed(0.42)")
    cursor.execute(
        "INSERT INTO satisfaction_followup (verdict, confidence, acted, created_at, answer_id, incident_id, post_id) "
        "SELECT CASE WHEN random() < 0.67 THEN 'satisfied' ELSE 'not_satisfied' END, 0.9, 'none', "
        "a.published_at + interval '1 day', a.id, a.incident_id, "
        "(SELECT max(p.id) FROM intake_post p WHERE p.incident_id = a.incident_id) "
        "FROM (SELECT DISTINCT ON (incident_id) id, incident_id, published_at FROM answers_answer "
        "WHERE kind = 'final' AND status = 'published' AND published_at IS NOT NULL "
        "ORDER BY incident_id, published_at, id) a "
        "WHERE random() < 0.3 AND EXISTS (SELECT 1 FROM intake_post p WHERE p.incident_id = a.incident_id)"
    )
    counts["followups"] = cursor.rowcount
    step.done(f"replies (follow-ups): {cursor.rowcount}")
    # Each final answer's classification for the satisfaction figures, as otklik.satisfaction.outcomes keeps it
    # (the previous final answer's time, satisfied since it): one UPDATE over the published final answers.
    from otklik.answers.choices import AnswerKind, AnswerStatus
    from otklik.satisfaction.outcomes import answer_outcomes

    outcomes = Answer.objects.filter(kind=AnswerKind.FINAL, status=AnswerStatus.PUBLISHED).update(**answer_outcomes())
    step.done(f"answers' satisfaction outcomes: {outcomes}")
    # An incident's last reopening, as `do_reopen` keeps it beside the event (the inbox's «reopened» filter).
    cursor.execute(
        "UPDATE cases_incident i SET reopened_at = e.at FROM (SELECT incident_id, max(created_at) AS at "
        "FROM cases_event WHERE verb = 'reopened' GROUP BY incident_id) e WHERE i.id = e.incident_id"
    )
    # The channels of an incident's posts and when the latest was written, as `refresh_from_posts` keeps them (the
    # inbox's «source» filter, the dashboard's «posts» link).
    cursor.execute(
        "UPDATE cases_incident i SET channels = c.channels, last_post_at = c.latest FROM (SELECT p.incident_id, "
        "',' || string_agg(DISTINCT s.channel, ',' ORDER BY s.channel) || ',' AS channels, "
        "max(p.posted_at) AS latest FROM intake_post p "
        "JOIN intake_source s ON s.id = p.source_id WHERE p.incident_id IS NOT NULL GROUP BY p.incident_id) c "
        "WHERE i.id = c.incident_id"
    )
    # The earliest due time of an incident's own answer clocks that run or were missed, as the clock hooks keep it
    # (`otklik.sla.hooks.late_from`; the inbox's «late» filter), and whether one was met (`deadline_met`).
    cursor.execute(
        "UPDATE cases_incident i SET late_from = c.first FROM (SELECT incident_id, min(due_at) AS first "
        "FROM sla_clock WHERE assignment_id IS NULL AND kind IN ('first_answer', 'answer', 'final_answer') "
        "AND state IN ('running', 'missed') GROUP BY incident_id) c WHERE i.id = c.incident_id"
    )
    cursor.execute(
        "UPDATE cases_incident i SET deadline_met = true WHERE EXISTS (SELECT 1 FROM sla_clock c WHERE "
        "c.incident_id = i.id AND c.assignment_id IS NULL AND c.kind IN ('first_answer', 'answer', 'final_answer') "
        "AND c.state = 'met')"
    )

    for model in (Incident, Post, Assignment, Event, Answer, Clock):
        move_sequence(cursor, model._meta.db_table)
    step.done("sequences")
    return counts


def _cum(weights: list[float]) -> list[float]:
    total = 0.0
    out = []
    for weight in weights:
        total += weight
        out.append(total)
    return out


def _pick(rnd: random.Random, cum: list[float]) -> int:
    import bisect

    return min(bisect.bisect(cum, rnd.random() * cum[-1]), len(cum) - 1)


def main() -> int:
    args = parse_args()
    total = Step()
    admin = admin_connection()
    exists = admin.execute("SELECT 1 FROM pg_database WHERE datname = %s", [args.db]).fetchone()
    if args.recreate and exists:
        admin.execute(f'DROP DATABASE "{args.db}" WITH (FORCE)')
        exists = None
    if not exists:
        admin.execute(f'CREATE DATABASE "{args.db}"')
    print(f"==> database {args.db}", flush=True)
    setup_django(args.db)
    if not args.skip_prepare:
        from django.core.management import call_command

        call_command("migrate", interactive=False, verbosity=0)
        for name in ("load_reference", "load_answer_templates", "load_kb", "load_letter_templates", "load_demo"):
            call_command(name, verbosity=0)
        total.done("migrate + reference + demo city")
    from django.db import connection

    from otklik.cases.models import Incident

    if not args.resume and Incident.objects.filter(posts__external_id__startswith="scale-").exists():
        print("The database already holds scale data: use --recreate.", file=sys.stderr)
        return 2
    print(f"==> generating {args.posts} posts", flush=True)
    counts = generate(args)
    # VACUUM as well: a production table is vacuumed by autovacuum, and the visibility map it sets is what lets the
    # counts use index-only scans (a freshly COPYed table has none, and every count would read the heap).
    connection.ensure_connection()
    connection.connection.autocommit = True
    with connection.cursor() as cursor:
        cursor.execute("VACUUM (ANALYZE)")
    total.done("VACUUM (ANALYZE)")
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_size_pretty(pg_database_size(current_database()))")
        size = cursor.fetchone()[0]
    print(f"==> done in {time.perf_counter() - total.started:.0f} s; database size {size}")
    print("    " + ", ".join(f"{key}={value}" for key, value in sorted(counts.items())))
    return 0


if __name__ == "__main__":
    sys.exit(main())
