"""Builders for the documents tests: a resonant incident with personal data in its posts, and a spike over it."""

from __future__ import annotations

import io

from django.utils import timezone
from docx import Document

from otklik.cases.services import (
    do_accept_information,
    do_classify,
    do_merge,
    do_route,
    do_submit_information,
)
from otklik.nlp.models import Spike, SpikeKind, SpikeWindow
from otklik.org.models import Topic, TopicGroup
from tests.factories import ingest

PHONE = "+7 912 251-12-26"
EMAIL = "ivan.petrov@mail.ru"
NAME = "Иванов Иван Иванович"
INFO = "Подача горячей воды восстановлена 12.12, причина — порыв на магистрали."
TEXTS = [
    f"Я, {NAME}, проживаю на улице Ленина 5 кв. 12. Третий день нет горячей воды! Телефон {PHONE}",
    f"Нет горячей воды на Ленина 5, пишите на {EMAIL}",
    "Когда дадут горячую воду на улице Ленина? Уже неделю без воды",
    "Ленина 5: снова нет горячей воды, дети не могут помыться",
    "Горячей воды нет во всём доме Ленина 5, в УК не отвечают",
]


def docx_text(content: bytes) -> str:
    """All the text of a DOCX: paragraphs and table cells."""
    document = Document(io.BytesIO(content))
    parts = [p.text for p in document.paragraphs]
    for table in document.tables:
        for row in table.rows:
            parts.extend(cell.text for cell in row.cells)
    return "\n".join(parts)


def resonant_incident(operator, housing, executor, *, posts: int = 5):
    """One incident with `posts` posts (the others merged into it), routed to housing, information accepted."""
    group, _ = TopicGroup.objects.get_or_create(name="ЖКХ")
    topic, _ = Topic.objects.get_or_create(name="Отсутствие горячей воды", defaults={"group": group})
    now = timezone.now()
    incidents = [
        ingest(text, posted_at=now - timezone.timedelta(minutes=50 - 10 * n)) for n, text in enumerate(TEXTS[:posts])
    ]
    main = incidents[0]
    for other in incidents[1:]:
        do_merge(other, into=main, actor=operator)
    main.refresh_from_db()
    do_classify(main, actor=operator, topic=topic)
    (assignment,) = do_route(main, actor=operator, lead=housing, request="Сообщите сроки восстановления")
    do_submit_information(assignment, actor=executor, text=INFO)
    do_accept_information(assignment, actor=operator)
    main.refresh_from_db()
    return main


def spike_over(incident) -> Spike:
    return Spike.objects.create(
        kind=SpikeKind.TOPIC,
        key="Отсутствие горячей воды",
        window=SpikeWindow.HOUR,
        count=5,
        baseline=0.25,
        incident_ids=[incident.pk],
    )
