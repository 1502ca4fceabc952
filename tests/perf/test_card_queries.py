"""The incident card reads a fixed number of queries (issue 9): as many for an incident with 10 posts, assignments,
answers and events as for one with 1 of each — for the service, the director and the executor, and for the card's
HTMX block requests.

What the count covers: the card's own reading (the incident and its prefetches, clocks, templates, events) and the
blocks of other apps it includes (the answers' publications and versions, the media brief, satisfaction).
"""

from __future__ import annotations

import datetime as dt
import re

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from otklik.accounts.models import User
from otklik.answers.choices import AnswerKind, AnswerStatus, PublicationStatus, VersionReason
from otklik.answers.models import Answer, AnswerVersion, Publication
from otklik.cases.choices import EventVerb
from otklik.cases.models import Attachment, Event, Incident, ReworkComment
from otklik.cases.services import do_merge, do_route, do_take
from otklik.org.models import Department
from tests.factories import ingest, make_department

pytestmark = pytest.mark.django_db


def count(client: Client, url: str, headers: dict[str, str] | None = None) -> int:
    client.get(url, headers=headers)  # warm: the session, content types, per-process caches
    with CaptureQueriesContext(connection) as captured:
        response = client.get(url, headers=headers)
    assert response.status_code == 200, (url, response.status_code)
    return len(captured.captured_queries)


def build(n: int, operator: User, lead: Department, others: list[Department], tag: str) -> Incident:
    """An incident with `n` posts, `n` assignments (each with an attachment and a rework comment), `n` published
    answers (each with a publication and a version) and the events all that leaves."""
    incident = ingest(f"Нет горячей воды, {tag} дом 1", author_id=f"{tag}-0")
    do_take(incident, actor=operator)
    for i in range(1, n):
        do_merge(ingest(f"И у нас нет воды, {tag} дом {i}", author_id=f"{tag}-{i}"), into=incident, actor=operator)
    incident.refresh_from_db()
    do_route(incident, actor=operator, lead=lead, co_executors=others[: n - 1])
    now = timezone.now()
    post = incident.posts.first()
    for i, assignment in enumerate(incident.assignments.all()):
        Attachment.objects.create(assignment=assignment, file=f"a/{tag}-{i}.txt", name=f"{i}.txt", size=1)
        ReworkComment.objects.create(assignment=assignment, author=operator, text=f"Уточните {i}")
    for i in range(n):
        answer = Answer.objects.create(
            incident=incident,
            kind=AnswerKind.INTERMEDIATE,
            status=AnswerStatus.PUBLISHED,
            text=f"Работы идут, {i}",
            author=operator,
            published_by=operator,
            published_at=now + dt.timedelta(seconds=i),
        )
        AnswerVersion.objects.create(answer=answer, number=1, text=answer.text, reason=VersionReason.DRAFTED)
        Publication.objects.create(
            answer=answer,
            post=post,
            channel="vk",
            thread_key=f"{tag}-thread-{i}",
            status=PublicationStatus.SENT,
            idempotency_key=f"{tag}-{i}",
            sent_at=now,
        )
        Event.objects.create(incident=incident, actor=operator, verb=EventVerb.UPDATED, after={"address": f"{i}"})
    assert incident.posts.count() == n
    assert incident.assignments.count() == n
    assert incident.answers.count() == n
    return incident


@pytest.fixture
def incidents(settings, operator: User, housing: Department) -> tuple[Incident, Incident]:
    # Both resonant: the media block (and its dispatch) is shown for both, as for any incident over the threshold.
    settings.OTKLIK_MEDIA_RESONANT_POSTS = 1
    others = [make_department(f"Отдел {i}") for i in range(9)]
    return build(1, operator, housing, others, "one"), build(10, operator, housing, others, "ten")


def urls(incident: Incident) -> list[str]:
    return [f"/incidents/{incident.pk}/", f"/incidents/{incident.pk}/?block=understood"]


def test_the_card_takes_as_many_queries_for_10_of_everything_as_for_1(client, operator, incidents):
    one, ten = incidents
    client.force_login(operator)
    for a, b in zip(urls(one), urls(ten), strict=True):
        assert count(client, a) == count(client, b), (a, b)
    # The HTMX request of the whole card (after an action) too.
    htmx = {"HX-Request": "true", "HX-Target": "card"}
    assert count(client, urls(one)[0], htmx) == count(client, urls(ten)[0], htmx)
    assert "<!doctype" not in client.get(urls(ten)[0], headers=htmx).content.decode().lower()  # the partial


def test_the_read_only_cards_take_as_many_queries_for_10_as_for_1(client, director, executor, incidents):
    one, ten = incidents
    for user in (director, executor):
        client.force_login(user)
        assert count(client, urls(one)[0]) == count(client, urls(ten)[0]), user.username


def test_the_card_has_a_ceiling_of_queries(client, operator, incidents):
    """A guard against a new block quietly adding reads: the card of a routed incident with published answers."""
    _one, ten = incidents
    client.force_login(operator)
    assert count(client, urls(ten)[0]) <= 30


def test_the_route_form_reads_the_departments_once(client, operator, housing):
    """Both department lists of the route form come from one query (each list read them again before)."""
    incident = ingest("Яма на дороге, Ленина 7", author_id="route")
    client.force_login(operator)
    client.get(f"/incidents/{incident.pk}/")
    with CaptureQueriesContext(connection) as captured:
        response = client.get(f"/incidents/{incident.pk}/")
    department_reads = [q for q in captured.captured_queries if 'FROM "org_department"' in q["sql"]]
    assert len(department_reads) == 1, [q["sql"][:120] for q in department_reads]
    html = response.content.decode()
    assert html.count(f'value="{housing.pk}"') >= 2  # in the lead's list and in the co-executors'


def test_the_media_block_counts_the_posts_without_a_query(client, settings, operator):
    """The card's loaded posts and the merged incidents' count (in the incident's query) give the media brief's
    number; below the threshold nothing about the media is read."""
    settings.OTKLIK_MEDIA_RESONANT_POSTS = 3
    incident = ingest("Нет света, Мира 3", author_id="m0")
    do_merge(ingest("И у нас нет света, Мира 5", author_id="m1"), into=incident, actor=operator)
    client.force_login(operator)
    url = f"/incidents/{incident.pk}/"
    client.get(url)
    with CaptureQueriesContext(connection) as captured:
        response = client.get(url)
    assert 'id="media-brief"' not in response.content.decode()  # 1 own post + 1 merged: below 3
    assert not [q for q in captured.captured_queries if "documents_mediadispatch" in q["sql"]]
    assert not [q for q in captured.captured_queries if 'SELECT COUNT(*) AS "__count" FROM "intake_post"' in q["sql"]]
    do_merge(ingest("Третий день без света, Мира 7", author_id="m2"), into=incident, actor=operator)
    response = client.get(url)
    assert 'id="media-brief"' in response.content.decode()
    block = re.search(r'id="media-brief".*?<p[^>]*>(.*?)</p>', response.content.decode(), re.S)
    assert block is not None and re.search(r"\b3\b", block.group(1)), block  # 1 own post + 2 merged


def test_the_card_judges_satisfaction_from_its_loaded_answers_like_a_query(operator):
    """The latest published final answer, taken from the card's prefetched answers, is the one read otherwise: a
    reopening between two final answers does not count against the later one."""
    from otklik.cases.views.card import card_queryset
    from otklik.satisfaction.stats import incident_satisfaction

    incident = ingest("Опять нет воды, Лесная 2", author_id="s0")
    now = timezone.now()
    for hours in (3, 1):
        Answer.objects.create(
            incident=incident,
            kind=AnswerKind.FINAL,
            status=AnswerStatus.PUBLISHED,
            text=f"Сделано ({hours})",
            published_at=now - dt.timedelta(hours=hours),
        )
    Event.objects.create(incident=incident, verb=EventVerb.REOPENED, created_at=now - dt.timedelta(hours=2))
    loaded = card_queryset(operator).get(pk=incident.pk)
    with CaptureQueriesContext(connection) as captured:
        from_card = incident_satisfaction(loaded)
    plain = incident_satisfaction(Incident.objects.get(pk=incident.pk))
    assert from_card.state == plain.state == "no_reaction"
    assert not [q for q in captured.captured_queries if 'FROM "answers_answer"' in q["sql"]]


def test_the_merge_preview_reads_only_what_it_shows(client, operator, housing):
    """Asked on every keystroke: a fixed, small number of queries, whatever the target holds."""
    source = ingest("Нет воды, Садовая 1", author_id="p0")
    target = ingest("Второй день нет воды на Садовой", author_id="p1")
    do_merge(ingest("И у нас нет воды, Садовая 3", author_id="p2"), into=target, actor=operator)
    do_route(target, actor=operator, lead=housing)
    client.force_login(operator)
    url = f"/incidents/{source.pk}/merge-preview/?into={target.pk}"
    n = count(client, url)
    assert n <= 8  # 7 on SQLite (the whole card of both incidents before: 14)
    html = client.get(url).content.decode()
    assert f'data-target="{target.pk}"' in html and "Второй день нет воды на Садовой" in html
    itself = client.get(f"/incidents/{source.pk}/merge-preview/?into={source.pk}").content.decode()
    assert "data-target" not in itself and "text-danger" in itself  # not into itself: «no such incident»
