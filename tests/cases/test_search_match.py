"""The posts' search match on PostgreSQL (`PostTextMatches`, intake 0009): one scan of the stored full-text vector OR
the substring, finding exactly what the full-text expression and `text__icontains` found as two scans."""

from __future__ import annotations

import pytest
from django.contrib.postgres.search import SearchQuery, SearchVector
from django.db import connection

from otklik.cases.models import Incident
from otklik.cases.selectors import search_incidents
from otklik.intake.models import Post
from tests.factories import ingest

pytestmark = pytest.mark.django_db

TEXTS = [
    "Огромные ямы на дороге у дома Ленина 12",
    "Яма во дворе, машины бьются",
    "Ленинский проспект: не горят фонари",
    "Нет горячей воды третий день, Мира 7",
    "Горячая вода еле тёплая",
    "Скидка 50% на окна! Звоните",  # a literal percent sign
    "Логин user_name не входит в личный кабинет",  # a literal underscore
    "Сломана скамейка в сквере",
    "Дом 120 по улице Мира: течёт крыша",
]
QUERIES = [
    "ямы",
    "яма",
    "Лени",
    "12",
    "горячей воды",
    "50%",
    "r_n",
    "r_x",
    "_",
    "%",
    "яма -двор",
    "крыша течёт",
    "сквер",
]


@pytest.fixture
def postgres():
    if connection.vendor != "postgresql":
        pytest.skip("the full-text vector is PostgreSQL's")


def reference(q: str, ids: list[int]) -> set[int]:
    """What the search found before intake 0009: the full-text expression and the substring, each on its own."""
    posts = Post.objects.filter(incident_id__in=ids)
    by_words = posts.annotate(v=SearchVector("text", config="russian")).filter(
        v=SearchQuery(q, config="russian", search_type="websearch")
    )
    by_text = posts.filter(text__icontains=q)
    by_address = Incident.objects.filter(pk__in=ids, address__icontains=q)
    return (
        set(by_words.values_list("incident_id", flat=True))
        | set(by_text.values_list("incident_id", flat=True))
        | set(by_address.values_list("pk", flat=True))
    )


def found(q: str, **window: int) -> set[int]:
    return set(search_incidents(Incident.objects.all(), q, full_text=True, **window).values_list("pk", flat=True))


def test_the_one_scan_finds_what_the_two_found(postgres):
    ids = [ingest(text, author_id=f"a{i}").pk for i, text in enumerate(TEXTS)]
    for q in QUERIES:
        assert found(q) == reference(q, ids), q
    # The word forms, the parts of words and the literal characters, checked by hand too.
    assert len(found("ямы")) == 2  # «ямы» and «яма»
    assert found("Лени") == reference("Лени", ids) and len(found("Лени")) == 2  # Ленина, Ленинский
    assert len(found("50%")) == 1 and len(found("r_n")) == 1 and len(found("r_x")) == 0 and len(found("_")) == 1


def test_the_windows_keep_their_range(postgres):
    ids = [ingest(f"Яма на дороге номер {i}", author_id=f"w{i}").pk for i in range(5)]
    assert found("ямы", from_id=ids[1], before_id=ids[4]) == set(ids[1:4])
    assert found("ямы", before_id=ids[2]) == set(ids[:2])


def test_the_vector_follows_the_text(postgres):
    incident = ingest("Петров П. жалуется на лужу во дворе", author_id="pd")
    assert found("лужи") == {incident.pk}  # a word form
    Post.objects.filter(incident=incident).update(text="[удалено] жалуется на яму во дворе")  # as a masking would
    assert found("лужи") == set()
    assert found("ямы") == {incident.pk}
