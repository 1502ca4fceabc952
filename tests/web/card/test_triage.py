"""Actions on the incident itself from the card: take, classify, edit details, no answer, merge, split, unmerge.

Each goes through its service; an HTMX request gets the fresh card partial, a plain one a redirect back; an error
shows next to its field with what the user typed kept.
"""

from __future__ import annotations

import pytest
from django.utils import translation

from otklik.cases.choices import EventVerb, IncidentStatus
from otklik.cases.models import Incident
from otklik.cases.services import do_mark_no_answer, do_merge
from otklik.org.models import Territory, Topic
from tests.factories import ingest

pytestmark = pytest.mark.django_db
S = IncidentStatus


def url(incident: Incident, action: str = "") -> str:
    return f"/incidents/{incident.pk}/{action}"


def htmx_post(client, path: str, data: dict | None = None):
    return client.post(path, data or {}, HTTP_HX_REQUEST="true")


def is_card_partial(response) -> bool:
    content = response.content.decode()
    return response.status_code == 200 and content.lstrip().startswith('<div id="card"') and "<html" not in content


def test_taking_the_incident_makes_the_operator_its_owner_and_comes_back_to_the_card(as_operator, operator, incident):
    response = as_operator.post(url(incident, "take/"))

    incident.refresh_from_db()
    assert response.status_code == 302
    assert response["Location"] == url(incident)
    assert incident.owner == operator
    assert incident.events.filter(verb=EventVerb.TAKEN).exists()


def test_taking_through_htmx_returns_the_fresh_card_with_the_message(as_operator, operator, incident):
    response = htmx_post(as_operator, url(incident, "take/"))

    assert is_card_partial(response)
    assert operator.display_name in response.content.decode()
    assert 'class="alert alert-success' in response.content.decode()
    assert Incident.objects.get(pk=incident.pk).owner == operator


def test_choosing_a_topic_sets_its_group_and_priority(as_operator, incident, housing_group):
    from otklik.org.models import TopicGroup

    roads_group = TopicGroup.objects.create(name="Дороги")
    pit = Topic.objects.create(name="Яма на проезжей части", group=roads_group, priority=True)

    response = htmx_post(as_operator, url(incident, "classify/"), {"topic": pit.pk})

    incident.refresh_from_db()
    assert is_card_partial(response)
    assert (incident.topic, incident.group, incident.priority) == (pit, roads_group, True)
    assert incident.confidence == 1.0
    assert "★" in response.content.decode()


def test_an_unknown_topic_is_refused_next_to_the_field(as_operator, incident, hot_water):
    response = htmx_post(as_operator, url(incident, "classify/"), {"topic": 999999})

    content = response.content.decode()
    incident.refresh_from_db()
    assert is_card_partial(response)
    assert 'id="id_classify_topic"' in content  # the block stays open for editing
    assert "invalid-feedback" in content
    assert incident.topic == hot_water


def test_editing_the_address_territory_and_priority_records_before_and_after(as_operator, incident):
    district = Territory.objects.create(name="Старый город")

    response = as_operator.post(
        url(incident, "details/"), {"address": "ул. Ленина, 5", "territory": district.pk, "priority": "on"}
    )

    incident.refresh_from_db()
    assert response.status_code == 302
    assert (incident.address, incident.territory, incident.priority) == ("ул. Ленина, 5", district, True)
    event = incident.events.get(verb=EventVerb.UPDATED)
    assert event.after == {"address": "ул. Ленина, 5", "territory": "Старый город", "priority": "True"}
    content = as_operator.get(url(incident)).content.decode()
    assert '<span class="before">—</span> → <span class="after">ул. Ленина, 5</span>' in content


def test_too_long_an_address_is_refused_and_what_was_typed_stays(as_operator, incident):
    typed = "ул. Ленина " + "д" * 600

    response = htmx_post(as_operator, url(incident, "details/"), {"address": typed})

    content = response.content.decode()
    incident.refresh_from_db()
    assert is_card_partial(response)
    assert typed in content
    assert "is-invalid" in content
    assert incident.address == ""


def test_no_answer_needs_a_reason_and_says_so_in_russian(as_operator, incident):
    response = htmx_post(as_operator, url(incident, "no-answer/"), {"reason": "", "note": "мат в тексте"})

    content = response.content.decode()
    incident.refresh_from_db()
    assert is_card_partial(response)
    assert "Выберите причину, по которой ответ не требуется." in content
    assert "мат в тексте" in content  # kept
    assert incident.status == S.NEW


def test_no_answer_for_another_reason_needs_a_description(as_operator, incident):
    response = htmx_post(as_operator, url(incident, "no-answer/"), {"reason": "other"})

    assert "Опишите причину." in response.content.decode()
    assert Incident.objects.get(pk=incident.pk).status == S.NEW


def test_no_answer_with_a_reason_ends_the_incident_and_offers_to_return_it(as_operator, incident):
    response = htmx_post(as_operator, url(incident, "no-answer/"), {"reason": "abusive", "note": "Мат"})

    incident.refresh_from_db()
    content = response.content.decode()
    assert is_card_partial(response)
    assert (incident.status, incident.no_answer_reason) == (S.NO_ANSWER, "abusive")
    assert f'action="/incidents/{incident.pk}/restore/"' in content
    assert f'action="/incidents/{incident.pk}/no-answer/"' not in content


def test_returning_to_work_needs_a_note_then_goes_to_triage(as_operator, operator, incident):
    do_mark_no_answer(incident, actor=operator, reason="spam")

    refused = htmx_post(as_operator, url(incident, "restore/"), {"note": " "})
    assert "Укажите, почему инцидент возвращается в работу." in refused.content.decode()
    assert Incident.objects.get(pk=incident.pk).status == S.NO_ANSWER

    as_operator.post(url(incident, "restore/"), {"note": "Это не спам"})
    assert Incident.objects.get(pk=incident.pk).status == S.TRIAGE


def test_the_merge_preview_shows_the_incident_to_merge_into(as_operator, incident):
    other = ingest("Нет горячей воды, Ленина 7")

    response = as_operator.get(url(incident, f"merge-preview/?into={other.pk}"), HTTP_HX_REQUEST="true")
    missing = as_operator.get(url(incident, "merge-preview/?into=999999"), HTTP_HX_REQUEST="true")

    assert f'data-target="{other.pk}"' in response.content.decode()
    assert "Нет горячей воды, Ленина 7" in response.content.decode()
    assert "data-target" not in missing.content.decode()


def test_merging_moves_the_posts_and_links_to_the_target(as_operator, incident):
    target = ingest("Нет горячей воды, Ленина 7")

    response = htmx_post(as_operator, url(incident, "merge/"), {"into": target.pk})

    incident.refresh_from_db()
    content = response.content.decode()
    assert (incident.status, incident.merged_into) == (S.MERGED, target)
    assert target.posts.count() == 2
    assert f'<a href="/incidents/{target.pk}/" class="merged-target">' in content
    assert f'action="/incidents/{incident.pk}/unmerge/"' in content


def test_merging_into_an_unknown_incident_is_refused_next_to_the_number(as_operator, incident):
    response = htmx_post(as_operator, url(incident, "merge/"), {"into": 999999})

    content = response.content.decode()
    assert "999999" in content
    assert 'class="form-control is-invalid"' in content
    assert Incident.objects.get(pk=incident.pk).status == S.NEW


def test_merging_into_itself_is_refused_with_the_services_message(as_operator, incident):
    response = htmx_post(as_operator, url(incident, "merge/"), {"into": incident.pk})

    with translation.override("ru"):
        assert translation.gettext("An incident cannot be merged into itself.") in response.content.decode()
    assert Incident.objects.get(pk=incident.pk).status == S.NEW


def test_unmerging_brings_the_posts_back(as_operator, operator, incident):
    target = ingest("Нет горячей воды, Ленина 7")
    do_merge(incident, into=target, actor=operator)

    as_operator.post(url(incident, "unmerge/"), {"note": "Разные дома"})

    incident.refresh_from_db()
    assert incident.status == S.TRIAGE
    assert incident.posts.count() == 1
    assert target.posts.count() == 1


def test_splitting_moves_the_chosen_posts_to_a_new_incident(as_operator, operator, incident):
    other = ingest("А ещё во дворе яма", author_name="Пётр")
    do_merge(other, into=incident, actor=operator)
    moved = incident.posts.get(author_name="Пётр")

    response = htmx_post(as_operator, url(incident, "split/"), {"post_ids": [moved.pk]})

    moved.refresh_from_db()
    assert is_card_partial(response)
    assert moved.incident_id != incident.pk
    assert moved.incident.status == S.TRIAGE
    assert f"№{moved.incident_id}" in response.content.decode()


def test_splitting_off_every_post_is_refused(as_operator, operator, incident):
    other = ingest("А ещё во дворе яма", author_name="Пётр")
    do_merge(other, into=incident, actor=operator)
    ids = list(incident.posts.values_list("pk", flat=True))

    response = htmx_post(as_operator, url(incident, "split/"), {"post_ids": ids})

    assert "В инциденте должно остаться хотя бы одно сообщение." in response.content.decode()
    assert incident.posts.count() == 2


def test_saving_the_same_topic_again_records_nothing(as_operator, incident, hot_water):
    as_operator.post(url(incident, "classify/"), {"topic": hot_water.pk})  # confirms the classifier's 82 %
    classified = incident.events.filter(verb=EventVerb.CLASSIFIED).count()

    as_operator.post(url(incident, "classify/"), {"topic": hot_water.pk})

    assert incident.events.filter(verb=EventVerb.CLASSIFIED).count() == classified
