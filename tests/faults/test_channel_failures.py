"""A channel that times out, answers 5xx or garbage — through the real HTTP client against the VK emulator.

The connector's error classes for each fault are in tests/intake/connectors/test_vk.py, and the poller's back-off,
breakage and repair with a fake connector in tests/intake/test_polling.py. Here the two meet, for each kind of
failure: polling backs off (doubling), the source is broken after OTKLIK_SOURCE_MAX_FAILURES failures in a row and
the head is told, a repair resumes it and the waiting post comes in once; publishing an answer retries with
back-off and the comment is created once. Runs on SQLite and PostgreSQL.
"""

from __future__ import annotations

import datetime as dt

import pytest
import time_machine
from django.utils import timezone

from otklik.answers.choices import PublicationStatus
from otklik.answers.models import Publication
from otklik.answers.tasks import send_publication
from otklik.intake.choices import SourceState
from otklik.intake.models import Post
from otklik.intake.polling import do_repair_source, poll_source
from otklik.notifications.models import Notification
from tests.intake.connectors.test_vk import (  # noqa: F401  (vk, publishing: fixtures)
    ANSWER,
    ingest_polled,
    make_source,
    publish,
    publishing,
    vk,
)

pytestmark = pytest.mark.django_db

NOW = dt.datetime(2026, 11, 29, 8, 0, tzinfo=dt.UTC)
FAULTS = [500, 503, "timeout", "garbage"]


@pytest.mark.parametrize("fault", FAULTS)
def test_a_failing_channel_backs_off_then_breaks_then_recovers_after_repair(vk, fault, settings, head):  # noqa: F811
    settings.OTKLIK_SOURCE_MAX_FAILURES = 3
    source = make_source(vk, save=True, timeout=0.5)
    source.poll_interval = 60
    source.save(update_fields=["poll_interval"])
    vk.emulator.add_post("Не горит фонарь у дома 3 на Мира", "Пётр Сидоров")
    vk.control("POST", "faults", {"method": "wall.get", "error_code": fault, "times": 3})

    # 1. Two failed polls: counted, kept with the reason, each waiting twice as long as the one before.
    at = NOW
    delays = []
    for expected in (1, 2):
        assert poll_source(source.pk, at).status == "failed"
        source.refresh_from_db()
        assert (source.state, source.failures) == (SourceState.OK, expected)
        assert source.last_error
        assert source.next_poll_at is not None
        delays.append(source.next_poll_at - at)
        at = source.next_poll_at
    assert delays[1] == 2 * delays[0]
    assert not Post.objects.filter(source=source).exists()

    # 2. The third failure in a row breaks the source: not polled any more, the head is told.
    assert poll_source(source.pk, at).status == "broken"
    source.refresh_from_db()
    assert (source.state, source.failures, source.next_poll_at) == (SourceState.BROKEN, 3, None)
    assert source.broken_reason
    assert "community-token-for-tests" not in source.broken_reason
    assert poll_source(source.pk, at + dt.timedelta(hours=2)).status == "skipped"
    assert Notification.objects.filter(recipient=head, dedup_key__startswith=f"source-broken:{source.pk}:").exists()

    # 3. Repaired, the source is polled again and the post that waited comes in once.
    do_repair_source(source, head)
    source.refresh_from_db()
    assert (source.state, source.failures) == (SourceState.OK, 0)
    result = poll_source(source.pk, source.next_poll_at)
    assert (result.status, result.created) == ("ok", 1), result
    assert poll_source(source.pk, source.next_poll_at + dt.timedelta(minutes=5)).created == 0
    assert Post.objects.filter(source=source).count() == 1


@pytest.mark.parametrize("fault", FAULTS)
def test_publishing_to_a_failing_channel_retries_with_back_off_and_comments_once(
    vk,  # noqa: F811
    publishing,  # noqa: F811
    fault,
    operator,
    django_capture_on_commit_callbacks,
):
    source = make_source(vk, save=True, timeout=0.5)
    vk.emulator.add_post("Нет горячей воды на Ленина 15", "Ольга Смирнова")
    ingest_polled(source)
    vk.control("POST", "faults", {"method": "wall.createComment", "error_code": fault, "times": 2})

    # 1. The first attempt (after the commit of the publishing) fails: the publication waits for its retry.
    before = timezone.now()
    publication = publish("wall-1_1", operator, source, django_capture_on_commit_callbacks)
    assert (publication.status, publication.attempts) == (PublicationStatus.PENDING, 1)
    assert publication.last_error
    first_wait = publication.next_attempt_at - before

    # 2. The second fails too and waits longer; the third is sent.
    waits = []
    for attempt in (2, 3):
        due = publication.next_attempt_at
        with time_machine.travel(due + dt.timedelta(seconds=1), tick=False):
            send_publication(publication.pk)
        publication.refresh_from_db()
        if attempt == 2:
            assert (publication.status, publication.attempts) == (PublicationStatus.PENDING, 2)
            waits.append(publication.next_attempt_at - (due + dt.timedelta(seconds=1)))
    assert (publication.status, publication.attempts) == (PublicationStatus.SENT, 3)
    assert waits[0] > first_wait  # the back-off grew

    # 3. Exactly one comment from the community, with the answer; nothing more after another sweep.
    comments = vk.emulator.walls[-1][1].comments
    assert [c.text for c in comments if c.from_id == -1] == [ANSWER]
    send_publication(publication.pk)
    assert [c.text for c in vk.emulator.walls[-1][1].comments if c.from_id == -1] == [ANSWER]
    assert Publication.objects.filter(pk=publication.pk, status=PublicationStatus.SENT).exists()
