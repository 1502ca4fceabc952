"""The publishing outbox: one publication per thread, sent exactly once under injected failures, manual channels.

A fake channel adapter (below) stands in for a network: it keeps what was "posted" by idempotency key, so that
reconciling can find it, and fails as each test scripts it. The task is called directly (Celery is eager here);
the messages a service sends after commit are not run unless a test captures them.
"""

from __future__ import annotations

import datetime as dt
import threading
from typing import Any, ClassVar

import pytest
import time_machine
from django.db import connection, connections
from django.utils import timezone

from otklik.answers import outbox
from otklik.answers.channels import (
    ChannelAdapter,
    PermanentChannelError,
    Published,
    TemporaryChannelError,
    Thread,
    get_adapter,
)
from otklik.answers.choices import PublicationStatus
from otklik.answers.models import Publication
from otklik.answers.services import do_draft_answer, do_publish_answer
from otklik.answers.tasks import send_publication, sweep_publications
from otklik.cases.choices import EventVerb
from otklik.cases.models import Event
from otklik.cases.services import do_merge
from otklik.core.errors import DomainError, IllegalTransition
from otklik.intake.services import default_source
from tests.factories import ingest

pytestmark = pytest.mark.django_db
P = PublicationStatus

TEXT = (
    "Здравствуйте! Спасибо за сообщение. Мы передали его в департамент ЖКХ и ответим здесь, "
    "как только получим информацию."
)


class FakeChannel:
    """A network in memory. `posted`: key → reply; `plan`: what the next calls of `publish` do, in order
    (an exception to raise, or "post-then-timeout": the reply goes out, then the connection drops)."""

    posted: ClassVar[dict[str, Published]] = {}
    publish_calls: ClassVar[list[str]] = []
    find_calls: ClassVar[list[str]] = []
    plan: ClassVar[list[Any]] = []
    threads: ClassVar[list[Thread]] = []

    @classmethod
    def reset(cls) -> None:
        cls.posted = {}
        cls.publish_calls = []
        cls.find_calls = []
        cls.plan = []
        cls.threads = []

    def publish(self, answer: Any, thread: Thread, idempotency_key: str) -> Published:
        self.publish_calls.append(idempotency_key)
        self.threads.append(thread)
        step = self.plan.pop(0) if self.plan else None
        if isinstance(step, Exception):
            raise step
        reply = Published(
            external_id=f"c{len(self.posted) + 1}",
            url=f"https://vk.com/wall-1_{thread.thread_id}?reply={len(self.posted) + 1}",
        )
        self.posted[idempotency_key] = reply
        if step == "post-then-timeout":
            raise TemporaryChannelError("Read timed out")
        return reply

    def find_published(self, thread: Thread, idempotency_key: str) -> Published | None:
        self.find_calls.append(idempotency_key)
        return self.posted.get(idempotency_key)


@pytest.fixture(autouse=True)
def fake_vk(settings):
    FakeChannel.reset()
    settings.OTKLIK_CHANNEL_ADAPTERS = {"vk": f"{__name__}.FakeChannel"}
    settings.OTKLIK_PUBLICATION_MAX_ATTEMPTS = 4
    settings.OTKLIK_PUBLICATION_RETRY_SECONDS = 60
    settings.OTKLIK_PUBLICATION_RETRY_MAX_SECONDS = 3600
    settings.OTKLIK_PUBLICATION_STALE_MINUTES = 10
    settings.OTKLIK_CLOSE_AFTER_FINAL_ANSWER = False
    yield FakeChannel
    FakeChannel.reset()


def publish(incident, actor, *, link: str = ""):
    answer = do_draft_answer(incident, actor=actor, kind="primary", text=TEXT)
    return do_publish_answer(answer, actor=actor, link=link)


def one_publication(answer) -> Publication:
    (publication,) = Publication.objects.filter(answer=answer)
    return publication


def later(minutes: float):
    return time_machine.travel(timezone.now() + dt.timedelta(minutes=minutes), tick=False)


# --- adapters ----------------------------------------------------------------------------------------------


def test_a_channel_without_an_adapter_in_the_settings_is_published_by_hand(settings):
    assert isinstance(get_adapter("vk"), ChannelAdapter)
    assert get_adapter("telegram") is None
    settings.OTKLIK_CHANNEL_ADAPTERS = {}
    assert get_adapter("vk") is None


# --- enqueueing: one publication per thread ------------------------------------------------------------------


def test_a_published_answer_is_sent_to_its_thread_by_the_worker(operator, django_capture_on_commit_callbacks):
    incident = ingest(external_id="101", author_name="Иван Петров", url="https://vk.com/wall-1_101")
    with django_capture_on_commit_callbacks(execute=True):
        answer = publish(incident, operator)
    publication = one_publication(answer)
    assert publication.status == P.SENT
    assert publication.attempts == 1
    assert publication.external_id == "c1"
    assert publication.url == "https://vk.com/wall-1_101?reply=1"
    assert FakeChannel.publish_calls == [publication.idempotency_key]
    assert FakeChannel.find_calls == []  # a fresh row's first attempt has nothing to reconcile
    thread = FakeChannel.threads[0]
    assert (thread.channel, thread.thread_id, thread.post_external_id) == ("vk", "101", "101")
    assert thread.post_author == "Иван Петров"
    answer.refresh_from_db()
    assert answer.link == publication.url  # the answer had no link: it takes its first publication's


def test_a_merged_incident_answers_every_thread_once(operator):
    first = ingest(external_id="10", author_id="u1", author_name="Иван Петров")
    reply = ingest(external_id="10_2", thread_id="10", author_id="u1")  # the author again, in his thread
    assert reply.pk == first.pk
    other = ingest(external_id="20", author_id="u2", author_name="Мария")
    telegram = ingest(channel="telegram", external_id="5", author_id="u3", author_name="Олег")
    do_merge(other, into=first, actor=operator)
    do_merge(telegram, into=first, actor=operator)

    answer = publish(first, operator)

    vk, tg = default_source("vk"), default_source("telegram")
    rows = {p.thread_key: p for p in Publication.objects.filter(answer=answer).select_related("post")}
    assert set(rows) == {f"{vk.pk}:10", f"{vk.pk}:20", f"{tg.pk}:5"}
    assert rows[f"{vk.pk}:10"].post.external_id == "10"  # a thread is answered at its first post
    assert rows[f"{vk.pk}:10"].status == P.PENDING
    assert rows[f"{vk.pk}:20"].status == P.PENDING
    assert rows[f"{tg.pk}:5"].status == P.MANUAL  # no Telegram adapter: by hand
    keys = {p.idempotency_key for p in rows.values()}
    assert len(keys) == 3
    assert rows[f"{vk.pk}:20"].idempotency_key == outbox.idempotency_key(answer.pk, f"{vk.pk}:20")


def test_enqueueing_again_creates_nothing(operator):
    answer = publish(ingest(external_id="30"), operator)
    assert outbox.do_enqueue_publications(answer, actor=operator) == []
    assert Publication.objects.filter(answer=answer).count() == 1


def test_a_link_pasted_at_publishing_marks_the_first_post_thread_sent(operator):
    first = ingest(external_id="40", author_id="u1")
    other = ingest(external_id="41", author_id="u2")
    do_merge(other, into=first, actor=operator)
    answer = publish(first, operator, link="https://vk.com/wall-1_40?reply=7")
    vk = default_source("vk")
    rows = {p.thread_key: p for p in Publication.objects.filter(answer=answer)}
    assert rows[f"{vk.pk}:40"].status == P.SENT
    assert rows[f"{vk.pk}:40"].url == "https://vk.com/wall-1_40?reply=7"
    assert rows[f"{vk.pk}:41"].status == P.PENDING
    send_publication(rows[f"{vk.pk}:41"].pk)
    answer.refresh_from_db()
    assert answer.link == "https://vk.com/wall-1_40?reply=7"  # the pasted link stays
    assert FakeChannel.publish_calls == [rows[f"{vk.pk}:41"].idempotency_key]


# --- exactly once ------------------------------------------------------------------------------------------


def test_a_worker_that_dies_after_the_network_call_does_not_publish_twice(
    operator, monkeypatch, django_capture_on_commit_callbacks
):
    answer = publish(ingest(external_id="50"), operator)
    publication = one_publication(answer)

    def die(*args: Any, **kwargs: Any) -> None:
        raise RuntimeError("worker killed")

    with monkeypatch.context() as patch:
        patch.setattr(outbox, "_set_answer_link", die)  # inside the transaction that records `sent`
        with pytest.raises(RuntimeError):
            send_publication(publication.pk)
    publication.refresh_from_db()
    assert publication.status == P.SENDING  # the reply is out, the record rolled back
    assert len(FakeChannel.posted) == 1

    send_publication(publication.pk)  # a redelivered message: the row is leased, nothing to claim
    with django_capture_on_commit_callbacks(execute=True):
        sweep_publications()  # the lease has not run out yet
    assert FakeChannel.publish_calls == [publication.idempotency_key]
    publication.refresh_from_db()
    assert publication.status == P.SENDING

    with later(11), django_capture_on_commit_callbacks(execute=True):
        result = sweep_publications()
    assert result == {"revived": 1, "enqueued": 1}
    publication.refresh_from_db()
    assert publication.status == P.SENT
    assert publication.attempts == 2
    assert publication.external_id == "c1"
    assert FakeChannel.find_calls == [publication.idempotency_key]
    assert FakeChannel.publish_calls == [publication.idempotency_key]  # published once


def test_a_reply_that_went_out_before_a_timeout_is_found_not_sent_again(operator):
    FakeChannel.plan = ["post-then-timeout"]
    publication = one_publication(publish(ingest(external_id="60"), operator))
    send_publication(publication.pk)
    publication.refresh_from_db()
    assert publication.status == P.PENDING
    assert "timed out" in publication.last_error
    with later(2):
        send_publication(publication.pk)
    publication.refresh_from_db()
    assert publication.status == P.SENT
    assert publication.last_error == ""
    assert len(FakeChannel.publish_calls) == 1
    assert FakeChannel.find_calls == [publication.idempotency_key]


def test_temporary_errors_are_retried_with_a_growing_back_off_then_it_is_sent(operator):
    FakeChannel.plan = [TemporaryChannelError("VK error 6: too many requests"), TemporaryChannelError("HTTP 502")]
    publication = one_publication(publish(ingest(external_id="70"), operator))
    start = timezone.now()

    send_publication(publication.pk)
    publication.refresh_from_db()
    assert (publication.status, publication.attempts) == (P.PENDING, 1)
    first_delay = publication.next_attempt_at - start
    assert dt.timedelta(seconds=59) < first_delay < dt.timedelta(seconds=70)

    send_publication(publication.pk)  # not due yet: nothing happens
    assert len(FakeChannel.publish_calls) == 1

    with later(1.5):
        send_publication(publication.pk)
        publication.refresh_from_db()
        assert (publication.status, publication.attempts, publication.last_error) == (P.PENDING, 2, "HTTP 502")
        assert publication.next_attempt_at - timezone.now() > dt.timedelta(seconds=110)  # doubled
    with later(4):
        send_publication(publication.pk)
    publication.refresh_from_db()
    assert (publication.status, publication.attempts) == (P.SENT, 3)
    assert len(FakeChannel.publish_calls) == 3
    assert len(FakeChannel.find_calls) == 2  # every attempt after the first reconciles first


def test_the_back_off_is_capped(settings):
    settings.OTKLIK_PUBLICATION_RETRY_MAX_SECONDS = 600
    assert outbox.retry_delay(1) == dt.timedelta(seconds=60)
    assert outbox.retry_delay(3) == dt.timedelta(seconds=240)
    assert outbox.retry_delay(20) == dt.timedelta(seconds=600)


def test_a_publication_fails_after_the_last_attempt_and_the_operator_sees_why(operator):
    FakeChannel.plan = [TemporaryChannelError("HTTP 503")] * 4
    answer = publish(ingest(external_id="80"), operator)
    publication = one_publication(answer)
    for minutes in (0, 5, 15, 40):
        with later(minutes):
            send_publication(publication.pk)
    publication.refresh_from_db()
    assert (publication.status, publication.attempts, publication.last_error) == (P.FAILED, 4, "HTTP 503")
    assert len(FakeChannel.publish_calls) == 4
    event = Event.objects.filter(incident=answer.incident, verb=EventVerb.UPDATED).last()
    assert event is not None and "HTTP 503" in event.message


def test_a_permanent_error_fails_at_once_and_the_operator_can_retry(operator):
    FakeChannel.plan = [PermanentChannelError("VK error 15: access denied, comments are closed")]
    answer = publish(ingest(external_id="90"), operator)
    publication = one_publication(answer)
    send_publication(publication.pk)
    publication.refresh_from_db()
    assert (publication.status, publication.attempts) == (P.FAILED, 1)
    assert "comments are closed" in publication.last_error

    outbox.do_retry_publication(publication, actor=operator)
    publication.refresh_from_db()
    assert (publication.status, publication.attempts) == (P.PENDING, 0)
    send_publication(publication.pk)
    publication.refresh_from_db()
    assert publication.status == P.SENT
    assert FakeChannel.find_calls == [publication.idempotency_key]  # the retry reconciled before publishing
    assert len(FakeChannel.publish_calls) == 2


def test_only_a_failed_publication_can_be_retried(operator):
    publication = one_publication(publish(ingest(external_id="95"), operator))
    with pytest.raises(IllegalTransition):
        outbox.do_retry_publication(publication, actor=operator)


def test_two_workers_never_claim_the_same_publication(operator):
    publication = one_publication(publish(ingest(external_id="100"), operator))
    assert outbox.claim(publication.pk) is True
    assert outbox.claim(publication.pk) is False  # the second worker of the race
    assert send_publication(publication.pk) == "skipped"
    assert FakeChannel.publish_calls == []
    publication.refresh_from_db()
    assert (publication.status, publication.attempts) == (P.SENDING, 1)


@pytest.mark.django_db(transaction=True)
@pytest.mark.skipif(connection.vendor != "postgresql", reason="workers racing need a database with real concurrency")
def test_four_workers_racing_send_each_publication_once(operator, monkeypatch):
    with monkeypatch.context() as patch:
        patch.setattr(outbox, "_enqueue", lambda *args, **kwargs: None)  # no transaction here: it would send now
        ids = [one_publication(publish(ingest(external_id=f"race-{i}"), operator)).pk for i in range(12)]
    assert Publication.objects.filter(pk__in=ids, status=P.PENDING).count() == 12
    barrier = threading.Barrier(4)
    errors: list[BaseException] = []

    def worker() -> None:
        try:
            barrier.wait()
            for pk in ids:  # the same order: the workers collide on every row
                send_publication(pk)
        except BaseException as exc:  # noqa: BLE001 -- reported by the main thread
            errors.append(exc)
        finally:
            connections.close_all()

    threads = [threading.Thread(target=worker) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    assert sorted(FakeChannel.publish_calls) == sorted(set(FakeChannel.publish_calls))
    assert len(FakeChannel.publish_calls) == 12
    assert Publication.objects.filter(pk__in=ids, status=P.SENT, attempts=1).count() == 12


def test_a_sent_publication_is_never_sent_again(operator):
    publication = one_publication(publish(ingest(external_id="110"), operator))
    assert send_publication(publication.pk) == "sent"
    assert send_publication(publication.pk) == "skipped"
    with later(60):
        assert sweep_publications() == {"revived": 0, "enqueued": 0}
    assert len(FakeChannel.publish_calls) == 1


def test_the_sweep_sends_a_publication_whose_message_was_lost(operator, django_capture_on_commit_callbacks):
    publication = one_publication(publish(ingest(external_id="120"), operator))  # its message never ran
    with django_capture_on_commit_callbacks(execute=True):
        assert sweep_publications() == {"revived": 0, "enqueued": 0}  # due only just now: the worker may be busy
    with later(3), django_capture_on_commit_callbacks(execute=True):
        assert sweep_publications() == {"revived": 0, "enqueued": 1}
    publication.refresh_from_db()
    assert publication.status == P.SENT


def test_a_channel_whose_adapter_was_removed_goes_to_the_operator(operator, settings):
    publication = one_publication(publish(ingest(external_id="130"), operator))
    settings.OTKLIK_CHANNEL_ADAPTERS = {}
    send_publication(publication.pk)
    publication.refresh_from_db()
    assert publication.status == P.MANUAL


# --- by hand -----------------------------------------------------------------------------------------------


def test_the_operator_publishes_by_hand_and_records_the_link(operator, settings):
    settings.OTKLIK_CHANNEL_ADAPTERS = {}
    answer = publish(ingest(external_id="140", author_name="Иван Петров"), operator)
    publication = one_publication(answer)
    assert publication.status == P.MANUAL
    assert send_publication(publication.pk) == "skipped"  # never the worker's

    with pytest.raises(DomainError) as err:
        outbox.do_record_manual_publication(publication, actor=operator, url="ответил в вк")
    assert err.value.field == "url"
    with pytest.raises(DomainError):
        outbox.do_record_manual_publication(publication, actor=operator, url="javascript:alert(1)")

    outbox.do_record_manual_publication(publication, actor=operator, url=" https://vk.com/wall-1_140?reply=3 ")
    publication.refresh_from_db()
    assert publication.status == P.SENT
    assert publication.url == "https://vk.com/wall-1_140?reply=3"
    assert publication.sent_at is not None
    answer.refresh_from_db()
    assert answer.link == "https://vk.com/wall-1_140?reply=3"
    event = Event.objects.filter(incident=answer.incident, verb=EventVerb.UPDATED).last()
    assert event is not None
    assert event.actor == operator
    assert event.after["link"] == "https://vk.com/wall-1_140?reply=3"
    assert "Иван Петров" in event.message

    with pytest.raises(IllegalTransition):
        outbox.do_record_manual_publication(publication, actor=operator, url="https://vk.com/wall-1_140?reply=4")


def test_a_failed_publication_can_be_recorded_by_hand(operator):
    FakeChannel.plan = [PermanentChannelError("banned")]
    publication = one_publication(publish(ingest(external_id="150"), operator))
    send_publication(publication.pk)
    outbox.do_record_manual_publication(publication, actor=operator, url="https://vk.com/wall-1_150?reply=1")
    publication.refresh_from_db()
    assert publication.status == P.SENT


def test_an_executor_cannot_record_a_publication(operator, executor, settings):
    settings.OTKLIK_CHANNEL_ADAPTERS = {}
    publication = one_publication(publish(ingest(external_id="160"), operator))
    with pytest.raises(DomainError):
        outbox.do_record_manual_publication(publication, actor=executor, url="https://vk.com/wall-1_160")


# --- the card's partial ------------------------------------------------------------------------------------


def test_the_operator_records_a_link_on_the_card_with_htmx(client, operator, settings):
    settings.OTKLIK_CHANNEL_ADAPTERS = {}
    answer = publish(ingest(external_id="170", author_name="Иван Петров"), operator)
    publication = one_publication(answer)
    client.force_login(operator)

    response = client.post(f"/publications/{publication.pk}/manual/", {"url": "не ссылка"}, HTTP_HX_REQUEST="true")
    assert response.status_code == 200
    html = response.content.decode()
    assert f'id="publications-{answer.pk}"' in html
    assert f'id="publication-url-{publication.pk}-error"' in html
    assert 'value="не ссылка"' in html  # what was typed is kept
    publication.refresh_from_db()
    assert publication.status == P.MANUAL

    response = client.post(
        f"/publications/{publication.pk}/manual/", {"url": "https://vk.com/wall-1_170?reply=2"}, HTTP_HX_REQUEST="true"
    )
    assert response.status_code == 200
    html = response.content.decode()
    assert "publication-sent" in html
    assert 'href="https://vk.com/wall-1_170?reply=2"' in html
    assert f"/publications/{publication.pk}/manual/" not in html  # no form for a sent publication
    publication.refresh_from_db()
    assert publication.status == P.SENT


def test_a_plain_post_is_redirected_to_the_card(client, operator):
    FakeChannel.plan = [PermanentChannelError("banned")]
    answer = publish(ingest(external_id="180"), operator)
    publication = one_publication(answer)
    send_publication(publication.pk)
    client.force_login(operator)
    response = client.post(f"/publications/{publication.pk}/retry/")
    assert response.status_code == 302
    assert response["Location"] == f"/incidents/{answer.incident_id}/#publications-{answer.pk}"
    publication.refresh_from_db()
    assert publication.status == P.PENDING


def test_the_failed_publication_offers_retry_and_a_link_form(client, operator):
    FakeChannel.plan = [PermanentChannelError("VK error 15: comments are closed")]
    answer = publish(ingest(external_id="190"), operator)
    publication = one_publication(answer)
    send_publication(publication.pk)
    from django.template.loader import render_to_string

    html = render_to_string("answers/_publications.html", {"answer": answer, "can_act": True})
    assert f"/publications/{publication.pk}/retry/" in html
    assert f"/publications/{publication.pk}/manual/" in html
    assert "comments are closed" in html
    read_only = render_to_string("answers/_publications.html", {"answer": answer})
    assert "/retry/" not in read_only


def test_only_the_service_may_act_on_publications(client, operator, executor, director, settings):
    settings.OTKLIK_CHANNEL_ADAPTERS = {}
    publication = one_publication(publish(ingest(external_id="200"), operator))
    for user in (executor, director):
        client.force_login(user)
        response = client.post(f"/publications/{publication.pk}/manual/", {"url": "https://vk.com/wall-1_200"})
        assert response.status_code == 403
    publication.refresh_from_db()
    assert publication.status == P.MANUAL


def test_a_wrong_adapter_path_fails_the_publication_with_the_reason(operator, settings):
    publication = one_publication(publish(ingest(external_id="210"), operator))
    settings.OTKLIK_CHANNEL_ADAPTERS = {"vk": "otklik.nowhere.VkAdapter"}
    send_publication(publication.pk)
    publication.refresh_from_db()
    assert publication.status == P.FAILED
    assert "otklik.nowhere.VkAdapter" in publication.last_error


def test_a_wrong_adapter_path_does_not_stop_publishing(operator, settings):
    settings.OTKLIK_CHANNEL_ADAPTERS = {"vk": "otklik.nowhere.VkAdapter"}
    answer = publish(ingest(external_id="220"), operator)
    publication = one_publication(answer)
    assert publication.status == P.PENDING
    send_publication(publication.pk)
    publication.refresh_from_db()
    assert publication.status == P.FAILED
