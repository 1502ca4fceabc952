"""Building incidents answered through the services, and a fake channel that can ask the survey."""

from __future__ import annotations

import datetime as dt
import itertools
from typing import Any, ClassVar

from django.utils import timezone

from otklik.answers.channels import Published, TemporaryChannelError, Thread
from otklik.answers.services import do_draft_answer, do_publish_answer
from otklik.cases.models import Incident
from otklik.cases.services import do_accept_information, do_route, do_submit_information
from otklik.intake.services import default_source, do_ingest_post

FINAL = (
    "Здравствуйте! Яму у дома на улице Ленина, 5 заделали 12 ноября: подрядчик уложил асфальт, "
    "акт выполненных работ и фото приложены к ответу."
)
INTERMEDIATE = "Здравствуйте! Ремонт ямы у дома на улице Ленина, 5 включён в план, подрядчик выполнит его до 20 ноября."
REFUSAL = "Здравствуйте! Этот участок дороги не относится к муниципальной собственности, ремонт ведёт область."
_ids = itertools.count(1)


def complaint(*, author_id: str = "u1", channel: str = "vk", external_id: str | None = None) -> Incident:
    result = do_ingest_post(
        source=default_source(channel),
        external_id=external_id or f"root-{next(_ids)}",
        text="Огромная яма у дома на улице Ленина 5, машины бьют колёса",
        posted_at=timezone.now(),
        author_name="Иван Петров",
        author_id=author_id,
    )
    assert result.post.incident is not None
    return result.post.incident


def answer(incident: Incident, operator: Any, housing: Any, executor: Any, *, kind: str = "final") -> Any:
    """Route to the housing department, accept its information, publish an answer of `kind`."""
    (assignment,) = do_route(incident, actor=operator, lead=housing)
    do_submit_information(assignment, actor=executor, text="Яму заделали 12 ноября, акт приложен.")
    do_accept_information(assignment, actor=operator)
    incident.refresh_from_db()
    text = {"final": FINAL, "intermediate": INTERMEDIATE, "refusal": REFUSAL}[kind]
    promised = timezone.localdate() + dt.timedelta(days=10) if kind == "intermediate" else None
    draft = do_draft_answer(incident, actor=operator, kind=kind, text=text, promised_date=promised)
    return do_publish_answer(draft, actor=operator, link="https://vk.com/wall-1_1?reply=9")


def reply(incident: Incident, text: str, *, author_id: str = "u1", at: dt.datetime | None = None, channel: str = "vk"):
    """A post in the thread of the incident's first post; returns the ingested post."""
    root = incident.posts.order_by("posted_at", "pk").first()
    assert root is not None
    return do_ingest_post(
        source=default_source(channel),
        external_id=f"reply-{next(_ids)}",
        text=text,
        posted_at=at or timezone.now(),
        author_name="Иван Петров" if author_id == "u1" else "Сосед",
        author_id=author_id,
        thread_id=root.external_id,
    ).post


class AskingChannel:
    """A channel that can ask with buttons (like Telegram) and publishes (like VK); records every call."""

    asked: ClassVar[list[tuple[Thread, str, str]]] = []
    published: ClassVar[list[tuple[str, str]]] = []
    fail_next: ClassVar[list[Exception]] = []

    @classmethod
    def reset(cls) -> None:
        cls.asked = []
        cls.published = []
        cls.fail_next = []

    def ask_solved(self, thread: Thread, question: str, key: str) -> Published:
        if self.fail_next:
            raise self.fail_next.pop(0)
        self.asked.append((thread, question, key))
        return Published(external_id=f"q{len(self.asked)}")

    def publish(self, answer: Any, thread: Thread, idempotency_key: str) -> Published:
        self.published.append((answer.text, idempotency_key))
        return Published(external_id=f"c{len(self.published)}")

    def find_published(self, thread: Thread, idempotency_key: str) -> Published | None:
        return None


class ReplyChannel:
    """A channel without buttons (like VK): the question goes as a reply comment."""

    published: ClassVar[list[tuple[str, str]]] = []

    def publish(self, answer: Any, thread: Thread, idempotency_key: str) -> Published:
        self.published.append((answer.text, idempotency_key))
        return Published(external_id=f"c{len(self.published)}")

    def find_published(self, thread: Thread, idempotency_key: str) -> Published | None:
        return None


__all__ = ["AskingChannel", "ReplyChannel", "TemporaryChannelError", "answer", "complaint", "reply"]
