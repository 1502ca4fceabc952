"""`Incident.last_post_at` (when the incident's latest post was written; kept wherever a post joins or leaves an
incident, backfilled by migration cases 0016) and the inbox's «posts since» filter that reads it for a window that has
not ended (`otklik.stats.selectors._posts_since`): it must list and count exactly the incidents having a post written
in the window, as the join of the window's posts does."""

from __future__ import annotations

import datetime as dt
import importlib
from types import SimpleNamespace

import pytest
import time_machine
from django.apps import apps
from django.db import connection
from django.db.models import Max
from django.test import RequestFactory

from otklik.cases.models import Incident
from otklik.cases.services import do_merge, do_split, do_unmerge, refresh_from_posts
from otklik.cases.views.inbox import VIEW_CODES, InboxQuery, view_conditions
from otklik.core.worktime import city_zone
from otklik.intake.models import Post
from otklik.intake.services import do_ingest_post
from otklik.stats.selectors import filter_posts_in
from tests.factories import ingest

pytestmark = pytest.mark.django_db

ZONE = city_zone()
NOW = dt.datetime(2026, 12, 10, 12, 0, tzinfo=ZONE)


def at(day: int, hour: int = 12, month: int = 12) -> dt.datetime:
    return dt.datetime(2026, month, day, hour, tzinfo=ZONE)


def kept() -> dict[int, dt.datetime | None]:
    return dict(Incident.objects.values_list("pk", "last_post_at"))


def from_posts() -> dict[int, dt.datetime | None]:
    """What the posts say, independent of the code that keeps the field."""
    latest = dict(
        Post.objects.exclude(incident=None)
        .values("incident_id")
        .annotate(m=Max("posted_at"))
        .values_list("incident_id", "m")
    )
    return {pk: latest.get(pk) for pk in Incident.objects.values_list("pk", flat=True)}


def reply(to: Post, external_id: str, posted_at: dt.datetime) -> Post:
    """A reply by the same author in the post's thread (it joins the post's incident while that is open)."""
    return do_ingest_post(
        source=to.source,
        external_id=external_id,
        text="Уже неделю ничего не сделано!",
        posted_at=posted_at,
        thread_id=to.external_id,
        author_id=to.author_id,
    ).post


def test_every_move_of_a_post_keeps_the_last_post_time(operator):
    with time_machine.travel(NOW):
        first = ingest("Нет воды на Ленина 5", posted_at=at(1), author_id="id7", external_id="wall-1")
        assert kept()[first.pk] == at(1)
        post = Post.objects.get(incident=first)
        reply(post, "c-1", at(5))  # a later reply: the time moves on
        reply(post, "c-0", at(3))  # an earlier one (a late delivery): it stays
        assert kept()[first.pk] == at(5)
        other = ingest("Яма на Мира 3", posted_at=at(7), channel="telegram")
        do_merge(other, into=first, actor=operator)
        assert kept()[first.pk] == at(7) and kept()[other.pk] is None  # a merged incident keeps no post
        do_unmerge(Incident.objects.get(pk=other.pk), actor=operator)
        assert kept()[first.pk] == at(5) and kept()[other.pk] == at(7)
        late = Post.objects.get(external_id="c-1")
        new = do_split(Incident.objects.get(pk=first.pk), post_ids=[late.pk], actor=operator)
        assert kept()[new.pk] == at(5) and kept()[first.pk] == at(3)
        lone = ingest("Мусор", posted_at=at(2, month=11))
        assert kept() == from_posts()
        Post.objects.filter(incident=lone).update(incident=first)  # moved behind the services' back
        refresh_from_posts([first.pk, lone.pk, None])
        assert kept()[lone.pk] is None
    assert kept() == from_posts()


def test_the_backfill_sets_the_last_post_time_from_the_posts(operator):
    backfill = importlib.import_module("otklik.cases.migrations.0016_incident_last_post_at")
    a, b, c = ingest("Нет воды", posted_at=at(1)), ingest("Яма", posted_at=at(4)), ingest("Свет", posted_at=at(2))
    do_merge(b, into=a, actor=operator)
    expected = kept()
    assert expected[a.pk] == at(4) and expected[b.pk] is None and expected[c.pk] == at(2)
    Incident.objects.update(last_post_at=None)  # as before the field existed
    backfill.backfill_last_post_at(apps, SimpleNamespace(connection=connection))
    assert kept() == expected


def old_posts_filter(queryset, since, until):  # noqa: ANN001, ANN201
    """The filter as it was: an incident with a post written in [since, until)."""
    posts = Post.objects.exclude(incident=None).filter(posted_at__gte=since)
    if until is not None:
        posts = posts.filter(posted_at__lt=until)
    return queryset.filter(pk__in=posts.values("incident_id"))


def test_the_inbox_posts_window_lists_and_counts_what_the_posts_say(operator, housing):
    with time_machine.travel(NOW):
        before = ingest("Старая яма", posted_at=at(20, month=11), author_id="a0", external_id="w0")
        inside = ingest("Нет воды", posted_at=at(3), author_id="a1", external_id="w1")
        revived = ingest("Прошлогодняя свалка", posted_at=at(1, month=10), author_id="a2", external_id="w2")
        reply(Post.objects.get(incident=revived), "r2", at(4))  # an old incident with a post in the window
        ahead = ingest("Часы источника спешат", posted_at=at(2), author_id="a3", external_id="w3")
        reply(Post.objects.get(incident=ahead), "r3", at(20))  # its latest post after the window's end
        split_from = ingest("Две проблемы", posted_at=at(25, month=11), author_id="a4", external_id="w4")
        moved = reply(Post.objects.get(incident=split_from), "r4", at(5))
        split_off = do_split(split_from, post_ids=[moved.pk], actor=operator)
        merged = ingest("Дубль", posted_at=at(6), author_id="a5", external_id="w5")
        do_merge(merged, into=before, actor=operator)  # `before` now has a post in the window
        from otklik.cases.services import do_route

        do_route(inside, actor=operator, lead=housing)
        factory = RequestFactory()
        for since_day, until_day in ((1, 10), (1, None), (3, 4), (11, None), (1, 11)):
            since = at(since_day, 0)
            until = at(until_day + 1, 0) if until_day is not None else None
            old = old_posts_filter(Incident.objects.all(), since, until)
            new = filter_posts_in(Incident.objects.all(), since, until)
            assert set(new.values_list("pk", flat=True)) == set(old.values_list("pk", flat=True)), (since, until)
            params = {"posts_from": since.date().isoformat()}
            if until_day is not None:
                params["posts_to"] = dt.date(2026, 12, until_day).isoformat()
            for view in VIEW_CODES:
                request = factory.get("/inbox/", {**params, "view": view})
                request.user = operator
                query = InboxQuery.from_request(request)
                condition = view_conditions(operator, query.now)[view]
                expected = old.filter(condition) if condition is not None else old
                listed = set(query.matching(shown=True).values_list("pk", flat=True))
                assert listed == set(expected.values_list("pk", flat=True)), (params, view)
                assert query.counters()[view] == expected.count(), (params, view)
        window = set(old_posts_filter(Incident.objects.all(), at(1, 0), at(11, 0)).values_list("pk", flat=True))
        assert window == {before.pk, inside.pk, revived.pk, ahead.pk, split_off.pk}
        # A source whose clock runs ahead: a post written after the window's end, the window still open.
        assert ahead.pk in set(
            filter_posts_in(Incident.objects.all(), at(1, 0), at(11, 0)).values_list("pk", flat=True)
        )
