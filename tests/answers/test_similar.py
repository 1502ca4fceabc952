"""«Похожие ответы»: the published answers of other incidents about the same problem, nearest first."""

from __future__ import annotations

import os

import pytest

from otklik.answers import similar
from otklik.answers.choices import AnswerKind
from otklik.answers.models import Answer
from otklik.answers.services import do_draft_answer, do_publish_answer
from otklik.cases.models import Incident
from otklik.cases.services import do_route
from tests.factories import PASSWORD, ingest

pytestmark = pytest.mark.django_db

LINK = "https://vk.com/wall-1_1?reply=2"


@pytest.fixture(autouse=True)
def _fresh_index():
    similar.invalidate()
    yield
    similar.invalidate()


def answered(complaint: str, answer: str, *, head, department, kind: str = AnswerKind.REFUSAL) -> Answer:
    """An incident with `complaint`, answered with `answer` (published by the head; the incident is closed)."""
    incident = ingest(complaint)
    do_route(incident, actor=head, lead=department)
    draft = do_draft_answer(incident, actor=head, kind=kind, text=answer)
    return do_publish_answer(draft, actor=head, link=LINK, override_reason="тест", quality_override_reason="тест")


@pytest.fixture
def past(head, housing, roads) -> dict[str, Answer]:
    return {
        "water": answered(
            "Третий день нет горячей воды в доме на улице Мира 12, когда дадут горячую воду?",
            "Здравствуйте! Горячую воду отключили из-за аварии на теплотрассе, подачу восстановят 12.12.",
            head=head,
            department=housing,
        ),
        "pothole": answered(
            "Огромная яма на дороге у школы на улице Гагарина, машины бьют колёса",
            "Здравствуйте! Яму на дороге у школы заделают до 15 декабря, подрядчик уже на месте.",
            head=head,
            department=roads,
        ),
        "garbage": answered(
            "Во дворе дома 7 на улице Ленина неделю не вывозят мусор, контейнеры переполнены",
            "Здравствуйте! Мусор вывезли 3 декабря, график вывоза восстановлен.",
            head=head,
            department=housing,
        ),
    }


def test_the_nearest_answer_is_the_one_about_the_same_problem(past, operator, housing):
    incident = ingest("На улице Нефтяников 3 нет горячей воды с понедельника, дети не могут помыться")

    found = similar.similar_answers(incident)

    assert found, "no similar answer found"
    assert found[0].answer == past["water"]
    assert len(found) <= similar.LIMIT


def test_a_pothole_finds_the_pothole_answer_first(past):
    incident = ingest("Яма на дороге у остановки на улице Мира, колесо пробил")

    found = similar.similar_answers(incident)

    assert found and found[0].answer == past["pothole"]


def test_the_incidents_own_answer_and_unrelated_complaints_are_not_offered(past, head, housing):
    own = past["garbage"].incident

    found = similar.similar_answers(own)

    assert all(item.answer.incident_id != own.pk for item in found)
    unrelated = ingest("Спасибо за концерт в парке, было здорово")
    assert [item.answer for item in similar.similar_answers(unrelated)] == []


def test_an_answer_published_after_the_index_was_built_is_found(past, head, housing):
    incident = ingest("Из крана течёт ржавая вода уже неделю, улица Строителей 8")
    before = [item.answer for item in similar.similar_answers(incident)]
    assert similar._index is not None  # built by the first look-up

    rusty = answered(
        "Ржавая вода из крана в доме на улице Победы 2, пить невозможно",
        "Здравствуйте! Промывку труб проведут 10 декабря, после неё вода станет чистой.",
        head=head,
        department=housing,
    )
    after = [item.answer for item in similar.similar_answers(incident)]

    assert rusty not in before
    assert after[0] == rusty
    assert similar._index is not None and similar._index.added == 1  # added, not rebuilt


def test_the_panel_shows_the_topic_a_snippet_and_an_insert_button_with_the_text(client, operator, past):
    incident = ingest("Нет горячей воды на улице Нефтяников 3")
    assert client.login(username=operator.username, password=PASSWORD)

    content = client.get(f"/incidents/{incident.pk}/answers/similar/", HTTP_HX_REQUEST="true").content.decode()

    water = past["water"]
    assert f'data-similar-answer="{water.pk}"' in content
    assert "data-insert-answer" in content
    assert 'data-text="Здравствуйте! Горячую воду отключили из-за аварии на теплотрассе' in content
    assert "подачу восстановят 12.12." in content  # the snippet


def test_the_index_is_rebuilt_when_an_answer_disappears(past):
    incident = ingest("Нет горячей воды на улице Нефтяников 3")
    assert similar.similar_answers(incident)[0].answer == past["water"]

    Incident.objects.filter(pk=past["water"].incident_id).delete()
    found = [item.answer.pk for item in similar.similar_answers(incident)]

    assert past["water"].pk not in found


def test_a_change_older_than_the_window_keeps_the_index_one_inside_it_rebuilds(past, monkeypatch, settings):
    """With more published answers than the index holds, its freshness question asks about its window only (the
    answers published since its oldest): a removal older than that cannot concern it; one inside it must."""
    settings.OTKLIK_SIMILAR_CHECK_SECONDS = 0
    monkeypatch.setattr(similar, "MAX_ANSWERS", 2)
    index = similar.current_index()
    assert index.floor == past["pothole"].published_at  # the older of the two newest
    assert set(index.incident_ids) == {past["pothole"].incident_id, past["garbage"].incident_id}

    Incident.objects.filter(pk=past["water"].incident_id).delete()  # older than the window
    assert similar.current_index() is index

    Incident.objects.filter(pk=past["garbage"].incident_id).delete()  # inside it
    rebuilt = similar.current_index()
    assert rebuilt is not index
    assert past["garbage"].incident_id not in rebuilt.incident_ids
    assert rebuilt.floor is None  # two answers left: fewer than the index holds, the window is all of them


def test_an_answer_published_after_a_windowed_build_is_added(past, head, housing, monkeypatch, settings):
    settings.OTKLIK_SIMILAR_CHECK_SECONDS = 0
    monkeypatch.setattr(similar, "MAX_ANSWERS", 2)
    index = similar.current_index()
    rusty = answered(
        "Ржавая вода из крана в доме на улице Победы 2, пить невозможно",
        "Здравствуйте! Промывку труб проведут 10 декабря, после неё вода станет чистой.",
        head=head,
        department=housing,
    )
    updated = similar.current_index()
    assert updated.added == 1 and updated.floor == index.floor  # added, not rebuilt
    assert rusty.pk in updated.answer_ids
    incident = ingest("Из крана течёт ржавая вода уже неделю, улица Строителей 8")
    assert [item.answer for item in similar.similar_answers(incident)][0] == rusty


@pytest.mark.skipif(not os.environ.get("OTKLIK_BENCH_SIMILAR"), reason="a benchmark: set OTKLIK_BENCH_SIMILAR=1")
def test_bench_5000_published_answers(head, housing):  # pragma: no cover - prints timings, asserts only sanity
    """Timings for docs: 5 000 incidents with a published answer each (corpus texts, numbered to be distinct)."""
    import datetime as dt
    import random
    import statistics
    import time

    from django.utils import timezone

    from otklik.intake.models import Post, Source
    from otklik.nlp.corpus import load

    texts = [row.text for row in load()]
    rng = random.Random(5)
    source = Source.objects.create(channel="vk", name="bench")
    now = timezone.now()
    incidents = Incident.objects.bulk_create(
        [Incident(status="closed", created_at=now - dt.timedelta(minutes=i)) for i in range(5000)]
    )
    Post.objects.bulk_create(
        [
            Post(
                source=source,
                external_id=f"b{i}",
                text=f"{rng.choice(texts)} дом {i}",
                posted_at=now - dt.timedelta(minutes=i),
                incident=inc,
            )
            for i, inc in enumerate(incidents)
        ]
    )
    Answer.objects.bulk_create(
        [
            Answer(
                incident=inc,
                kind="final",
                status="published",
                text=f"Здравствуйте! Ответ номер {i}.",
                published_at=now - dt.timedelta(minutes=i),
            )
            for i, inc in enumerate(incidents)
        ]
    )
    query = ingest("Третий день нет горячей воды на улице Ленина 5, дети моются из тазика")
    similar.invalidate()
    started = time.perf_counter()
    first = similar.similar_answers(query)
    cold = time.perf_counter() - started
    warm = []
    for probe in rng.sample(texts, 30):
        incident_like = ingest(probe + " улица Бенчмарка")
        started = time.perf_counter()
        similar.similar_answers(incident_like)
        warm.append(time.perf_counter() - started)
    if os.environ.get("OTKLIK_BENCH_PROFILE"):
        import cProfile
        import pstats

        probe = ingest(rng.choice(texts) + " улица Профиля")
        profiler = cProfile.Profile()
        profiler.enable()
        similar.similar_answers(probe)
        profiler.disable()
        pstats.Stats(profiler).sort_stats("cumulative").print_stats(25)
    answered(
        "Ржавая вода из крана на улице Победы 2",
        "Здравствуйте! Промоем трубы 10 декабря.",
        head=head,
        department=housing,
    )
    started = time.perf_counter()
    similar.similar_answers(query)
    incremental = time.perf_counter() - started
    print(
        f"\n5000 published answers: first look-up (index build) {cold:.2f} s; "
        f"warm look-ups median {statistics.median(warm) * 1000:.0f} ms, max {max(warm) * 1000:.0f} ms; "
        f"after one new publication {incremental * 1000:.0f} ms; found {len(first)}"
    )
    assert first


def test_the_database_is_asked_at_most_once_per_interval_unless_an_answer_changed_here(
    past, settings, django_assert_num_queries
):
    """At city scale the freshness question counts every published answer: a process asks it at most once every
    OTKLIK_SIMILAR_CHECK_SECONDS; an answer saved in this process makes the next look-up ask at once."""
    settings.OTKLIK_SIMILAR_CHECK_SECONDS = 3600
    similar.current_index()  # built, asked
    with django_assert_num_queries(0):
        similar.current_index()
    Answer.objects.filter(pk=past["water"].pk).update(text=past["water"].text)  # another process: no signal here
    with django_assert_num_queries(0):
        similar.current_index()
    past["water"].save(update_fields=["text"])  # saved in this process: the signal
    with django_assert_num_queries(1):
        similar.current_index()
    settings.OTKLIK_SIMILAR_CHECK_SECONDS = 0
    with django_assert_num_queries(1):
        similar.current_index()
