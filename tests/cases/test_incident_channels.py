"""`Incident.channels` (the channels of an incident's posts, kept where a post joins or leaves an incident; backfilled
by migration cases 0010) and the inbox's «source» filter that reads it: it must list and count exactly the incidents
having a post from a source of the channel, as the filter did before by looking for such a post."""

from __future__ import annotations

import importlib
from types import SimpleNamespace

import pytest
from django.apps import apps
from django.db import connection
from django.db.models import Exists, OuterRef
from django.test import RequestFactory
from django.utils import timezone

from otklik.cases import selectors
from otklik.cases.choices import IncidentStatus
from otklik.cases.models import Incident, channels_value
from otklik.cases.services import do_merge, do_split, do_unmerge, refresh_from_posts
from otklik.cases.views.inbox import VIEW_CODES, InboxQuery, view_conditions
from otklik.intake.models import Post, Source
from otklik.intake.services import default_source, do_ingest_post
from tests.factories import ingest

pytestmark = pytest.mark.django_db

S = IncidentStatus


def channels_of(incident: Incident) -> str:
    return Incident.objects.values_list("channels", flat=True).get(pk=incident.pk)


def from_posts(incident: Incident) -> str:
    """What the posts say (the old definition), independent of `refresh_from_posts`."""
    return channels_value(Post.objects.filter(incident=incident).values_list("source__channel", flat=True))


def test_channels_value_is_sorted_distinct_and_delimited():
    assert channels_value(["vk", "telegram", "vk"]) == ",telegram,vk,"
    assert channels_value([]) == ""


def test_a_new_post_gives_its_incident_its_channel():
    incident = ingest("Нет воды", channel="telegram")
    assert channels_of(incident) == ",telegram,"


def test_a_reply_in_the_thread_joins_with_its_channel_and_a_reply_elsewhere_opens_its_own():
    source = default_source("vk")
    first = do_ingest_post(
        source=source, external_id="wall-1", text="Нет воды на Ленина 5", posted_at=timezone.now(), author_id="id7"
    ).post
    reply = do_ingest_post(
        source=source,
        external_id="comment-1",
        text="Уже третий день!",
        posted_at=timezone.now(),
        thread_id="wall-1",
        author_id="id7",
    ).post
    assert reply.incident_id == first.incident_id
    assert channels_of(first.incident) == ",vk,"
    # A reply whose thread is not found (another network's ids): a new incident of its own channel.
    other = do_ingest_post(
        source=default_source("ok"),
        external_id="c-2",
        text="И у нас",
        posted_at=timezone.now(),
        thread_id="wall-1",
        author_id="id7",
    ).post
    assert other.incident_id != first.incident_id
    assert channels_of(other.incident) == ",ok,"


def test_merge_split_and_unmerge_keep_the_channels_of_the_posts(operator):
    vk = ingest("Нет воды", channel="vk")
    tg = ingest("Яма на дороге", channel="telegram")
    do_merge(tg, into=vk, actor=operator)
    assert channels_of(vk) == ",telegram,vk,"
    assert channels_of(tg) == ""  # a merged incident has no posts
    do_unmerge(Incident.objects.get(pk=tg.pk), actor=operator)
    assert channels_of(vk) == ",vk,"
    assert channels_of(tg) == ",telegram,"

    do_merge(Incident.objects.get(pk=tg.pk), into=vk, actor=operator)
    tg_post = Post.objects.get(incident=vk, source__channel="telegram")
    new = do_split(Incident.objects.get(pk=vk.pk), post_ids=[tg_post.pk], actor=operator)
    assert channels_of(new) == ",telegram,"
    assert channels_of(vk) == ",vk,"
    for incident in (vk, tg, new):
        assert channels_of(incident) == from_posts(incident)


def test_refresh_from_posts_recomputes_from_the_posts():
    vk, im = ingest("Нет воды", channel="vk"), ingest("Мусор", channel="im")
    Post.objects.filter(incident=im).update(incident=vk)  # moved behind the services' back
    assert channels_of(vk) == ",vk,"
    refresh_from_posts([vk.pk, im.pk, None])
    assert channels_of(vk) == ",im,vk,"
    assert channels_of(im) == ""


def test_the_backfill_sets_the_channels_from_the_posts(operator):
    backfill = importlib.import_module("otklik.cases.migrations.0010_incident_channels")
    vk, tg, pos = ingest("Нет воды", channel="vk"), ingest("Яма", channel="telegram"), ingest("Свет", channel="pos")
    do_merge(tg, into=vk, actor=operator)
    Incident.objects.update(channels="")  # as before the field existed
    backfill.backfill_channels(apps, SimpleNamespace(connection=connection))
    values = dict(Incident.objects.values_list("pk", "channels"))
    assert values[vk.pk] == ",telegram,vk,"
    assert values[tg.pk] == ""
    assert values[pos.pk] == ",pos,"
    # The batched walk in Python (SQLite's way) gives the same, one incident at a time too.
    Incident.objects.update(channels="stale")
    backfill.backfill_in_batches(Incident, Post, batch=1)
    assert dict(Incident.objects.values_list("pk", "channels")) == values


def old_channel_filter(user, channel: str):  # noqa: ANN001, ANN201
    """The «source» filter as it was: an incident with a post from a source of the channel."""
    sources = Source.objects.filter(channel=channel)
    return selectors.visible_incidents(user).filter(
        Exists(Post.objects.filter(incident=OuterRef("pk"), source__in=sources))
    )


def test_the_inbox_channel_filter_lists_and_counts_what_the_posts_say(operator, housing):
    Source.objects.create(channel="vk", account="42", name="Другое сообщество")
    incidents = []
    for n, channel in enumerate(["vk", "vk", "telegram", "ok", "im", "pos", "telegram", "vk", "max"]):
        if n == 1:  # a second VK source: the channel, not the source, counts
            result = do_ingest_post(
                source=Source.objects.get(channel="vk", account="42"),
                external_id="x-1",
                text="Сломана скамейка",
                posted_at=timezone.now(),
            )
            incidents.append(result.post.incident)
            continue
        incidents.append(ingest(f"Обращение {n}", channel=channel, author_id=f"a{n}"))
    from otklik.cases.services import do_route

    do_route(incidents[2], actor=operator, lead=housing)
    do_merge(incidents[3], into=incidents[2], actor=operator)  # telegram + ok, and a merged one without posts
    do_merge(incidents[8], into=incidents[4], actor=operator)  # im + max
    post = Post.objects.get(incident=incidents[2], source__channel="ok")
    do_split(Incident.objects.get(pk=incidents[2].pk), post_ids=[post.pk], actor=operator)

    factory = RequestFactory()
    for channel in ["vk", "telegram", "ok", "max", "im", "pos", "email"]:
        old = old_channel_filter(operator, channel)
        assert old.exists() or channel == "email"
        for view in VIEW_CODES:
            request = factory.get("/inbox/", {"channel": channel, "view": view})
            request.user = operator
            query = InboxQuery.from_request(request)
            condition = view_conditions(operator, query.now)[view]
            expected = old.filter(condition) if condition is not None else old
            assert set(query.matching(shown=True).values_list("pk", flat=True)) == set(
                expected.values_list("pk", flat=True)
            ), (channel, view)
            counted = query.counters()
            for code in VIEW_CODES:
                cond = view_conditions(operator, query.now)[code]
                assert counted[code] == (old.filter(cond) if cond is not None else old).count(), (channel, code)


def test_a_source_moved_to_another_channel_moves_its_incidents(head):
    from otklik.intake.polling import do_save_source

    source, _created = do_save_source(
        None, actor=head, channel="vk", name="VK: город", config={"group_id": 7}, token="vk-token"
    )
    post = do_ingest_post(source=source, external_id="w-1", text="Нет воды", posted_at=timezone.now()).post
    other = ingest("Яма", channel="vk")
    assert channels_of(post.incident) == ",vk,"
    do_save_source(source, actor=head, channel="telegram", name="Бот", config={}, token="12345:secret")
    assert channels_of(post.incident) == ",telegram,"
    assert channels_of(other) == ",vk,"  # the default VK source's incident stays


def test_a_post_joining_from_a_new_channel_adds_it():
    from otklik.intake.services import _add_post

    vk, im = ingest("Нет воды", channel="vk"), ingest("Мусор", channel="im")
    vk_post, im_post = Post.objects.get(incident=vk), Post.objects.get(incident=im)
    Post.objects.filter(incident=im).update(incident=vk)  # as a followed thread's reply joins (otklik.satisfaction)
    _add_post(vk, vk_post)  # already there: nothing to do
    assert channels_of(vk) == ",vk,"
    im_post.refresh_from_db()
    _add_post(vk, im_post)
    assert channels_of(vk) == ",im,vk,"
