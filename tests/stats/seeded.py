"""A seeded random city for the figures' tests (tests/stats/test_fast_figures.py, test_figures_json.py): incidents,
answer clocks in every state, final answers with ties, reopenings, follow-ups, surveys, posts with and without
incidents, built row by row."""

from __future__ import annotations

import datetime as dt
import random
from zoneinfo import ZoneInfo

from otklik.answers.models import Answer, Publication
from otklik.cases.models import Event, Incident
from otklik.cases.services import refresh_from_posts
from otklik.intake.models import Post
from otklik.intake.services import default_source
from otklik.org.models import Territory, TopicGroup
from otklik.satisfaction.models import FollowUp, Survey
from otklik.satisfaction.outcomes import refresh_all_outcomes
from otklik.sla.hooks import refresh_judgements
from otklik.sla.models import Clock

EKB = ZoneInfo("Asia/Yekaterinburg")
FIRST_DAY = dt.datetime(2026, 10, 25, 0, 0, tzinfo=EKB)


def random_moment(rnd: random.Random, after: dt.datetime, hours: float) -> dt.datetime:
    return after + dt.timedelta(seconds=rnd.randint(0, int(hours * 3600)), microseconds=rnd.randint(0, 999_999))


def seed_city(housing, roads):
    """About 160 incidents over five weeks (from FIRST_DAY), their clocks, answers, events, replies, surveys and
    posts, drawn from a fixed seed."""
    rnd = random.Random(9)
    groups = [TopicGroup.objects.create(name=name) for name in ("ЖКХ", "Дороги", "Транспорт")]
    territories = [Territory.objects.create(name=name) for name in ("Центральный", "Северный")]
    sources = [default_source("vk"), default_source("telegram")]
    statuses = ["new", "routed", "answering", "answered", "closed", "closed", "merged", "no_answer"]
    incidents = []
    for _ in range(160):
        created = random_moment(rnd, FIRST_DAY, 39 * 24)
        first = random_moment(rnd, created, 80) if rnd.random() < 0.7 else None
        answered = random_moment(rnd, first, 60) if first is not None and rnd.random() < 0.7 else None
        if rnd.random() < 0.1 and first is not None:
            answered = first  # answered at once by a final answer
        incidents.append(
            Incident(
                status=rnd.choice(statuses),
                group=rnd.choice([*groups, None]),
                lead_department=rnd.choice([housing, roads, None]),
                territory=rnd.choice([*territories, None, None]),
                address=rnd.choice(["ул. Ленина, 5", "ул. Мира, 1", ""]),
                created_at=created,
                first_answered_at=first,
                answered_at=answered,
                due_at=random_moment(rnd, created, 48),
            )
        )
    Incident.objects.bulk_create(incidents)
    clocks, answers, events, posts = [], [], [], []
    for incident in incidents:
        created = incident.created_at
        for kind in rnd.sample(["first_answer", "answer", "final_answer"], rnd.randint(0, 3)):
            state = rnd.choice(["running", "met", "missed", "stopped", "paused"])
            moment = rnd.choice([incident.first_answered_at, incident.answered_at, None]) or random_moment(
                rnd, created, 50
            )
            stopped = None
            if state in ("met", "missed", "stopped"):
                stopped = moment + rnd.choice([dt.timedelta(0), dt.timedelta(seconds=30), dt.timedelta(minutes=3)])
            due = random_moment(rnd, created, 30)
            clocks.append(
                Clock(
                    kind=kind,
                    incident=incident,
                    state=state,
                    hours=9,
                    started_at=created if rnd.random() < 0.8 else created + dt.timedelta(hours=1),
                    warn_at=due - dt.timedelta(hours=1),
                    due_at=due,
                    long_due_at=due + dt.timedelta(days=2),
                    stopped_at=stopped,
                    elapsed_working_seconds=rnd.choice([None, rnd.uniform(0, 40_000)]) if stopped else None,
                )
            )
        for _ in range(rnd.choice([0, 0, 1, 1, 2])):
            published = random_moment(rnd, created, 200)
            answers.append(
                Answer(incident=incident, kind="final", status="published", text="…", published_at=published)
            )
            if rnd.random() < 0.15:  # a tie: two final answers at the same moment
                answers.append(
                    Answer(incident=incident, kind="final", status="published", text="…", published_at=published)
                )
        if rnd.random() < 0.2:
            answers.append(Answer(incident=incident, kind="final", status="draft", text="…"))
        for _ in range(rnd.choice([0, 0, 0, 1, 2])):
            events.append(Event(incident=incident, verb="reopened", created_at=random_moment(rnd, created, 250)))
        for _ in range(rnd.randint(0, 3)):
            posts.append(
                Post(
                    source=rnd.choice(sources),
                    external_id=f"p{len(posts)}",
                    text="…",
                    posted_at=random_moment(rnd, created, 100),
                    incident=incident,
                    negative=rnd.choice([None, 0.1, 0.5, 0.9, rnd.random()]),
                )
            )
    for n in range(30):  # posts without an incident
        posts.append(
            Post(
                source=rnd.choice(sources),
                external_id=f"loose{n}",
                text="…",
                posted_at=random_moment(rnd, FIRST_DAY, 39 * 24),
                negative=rnd.choice([None, 0.2, 0.8]),
            )
        )
    Clock.objects.bulk_create(clocks)
    refresh_judgements(Incident.objects.all())  # as the clock hooks keep them
    Answer.objects.bulk_create(answers)
    Event.objects.bulk_create(events)
    Post.objects.bulk_create(posts)
    replies = []
    for answer in Answer.objects.filter(status="published").select_related("incident"):
        if rnd.random() < 0.5:
            reply = Post.objects.create(
                source=sources[0],
                external_id=f"reply{answer.pk}",
                text="…",
                posted_at=answer.published_at,
                incident=answer.incident,
            )
            replies.append(
                FollowUp(
                    incident=answer.incident,
                    answer=answer,
                    post=reply,
                    verdict=rnd.choice(["satisfied", "satisfied", "not_satisfied", "neutral"]),
                    confidence=0.9,
                    created_at=answer.published_at + dt.timedelta(hours=rnd.randint(-5, 30)),
                )
            )
        if rnd.random() < 0.4:
            # bulk_create: no signals (a sent publication schedules its own survey).
            [publication] = Publication.objects.bulk_create(
                [
                    Publication(
                        answer=answer,
                        channel="vk",
                        thread_key=f"t{answer.pk}",
                        status="sent",
                        idempotency_key=f"k{answer.pk}",
                    )
                ]
            )
            asked = answer.published_at + dt.timedelta(hours=rnd.randint(-5, 40))
            Survey.objects.create(
                incident=answer.incident,
                answer=answer,
                publication=publication,
                channel="vk",
                thread_key=f"t{answer.pk}",
                key=f"s{answer.pk}",
                status=rnd.choice(["answered", "answered", "sent"]),
                scheduled_at=asked,
                answered_at=rnd.choice([asked, None]),
                result=rnd.choice(["solved", "not_solved", ""]),
            )
    FollowUp.objects.bulk_create(replies)
    refresh_from_posts(Incident.objects.values_list("pk", flat=True))  # the posts' channels and last time, as intake
    refresh_all_outcomes()  # bulk_create sends no signals: the answers' kept classification, as after a bulk load
    return {"groups": groups, "departments": [housing, roads]}
