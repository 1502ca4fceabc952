"""The card shows the incident: the posts as a thread, what Otklik understood, the suggested route, the timeline."""

from __future__ import annotations

import pytest
from django.utils import translation

from otklik.cases.choices import EventVerb
from otklik.cases.services import do_merge, do_route, do_submit_information, do_take
from tests.factories import ingest

pytestmark = pytest.mark.django_db


def ru(label) -> str:
    with translation.override("ru"):
        return str(label)


def test_it_shows_the_posts_as_a_thread_with_author_source_time_and_a_link_to_the_original(as_operator, incident):
    page = as_operator.get(f"/incidents/{incident.pk}/")

    assert page.status_code == 200
    content = page.content.decode()
    assert "Третий день нет горячей воды на улице Ленина 5" in content
    assert "Иван Петров" in content
    assert "bi-people-fill" in content  # the VK icon
    assert '<a class="ms-auto" href="https://vk.com/wall-1_100" target="_blank" rel="noopener noreferrer">' in content
    assert "<time datetime=" in content  # relative time, absolute on hover


def test_it_shows_a_post_with_a_script_as_text(as_operator, incident):
    bad = ingest("<script>alert(1)</script> нет воды", author_name='<b onmouseover="x()">Хакер</b>')
    do_merge(bad, into=incident, actor=None)

    content = as_operator.get(f"/incidents/{incident.pk}/").content.decode()

    assert "&lt;script&gt;alert(1)&lt;/script&gt; нет воды" in content
    assert "<script>alert(1)" not in content
    assert "&lt;b onmouseover=" in content
    assert "<b onmouseover" not in content


def test_it_links_only_web_addresses_of_posts(as_operator, hot_water):
    incident = ingest("Нет света", url="javascript:alert(1)")

    content = as_operator.get(f"/incidents/{incident.pk}/").content.decode()

    assert "javascript:alert(1)" not in content


def test_it_shows_what_otklik_understood_with_the_confidence(as_operator, incident):
    content = as_operator.get(f"/incidents/{incident.pk}/").content.decode()

    assert "Отсутствие горячей воды" in content
    assert "82 %" in content
    assert "ЖКХ" in content


def test_it_shows_the_suggested_route_with_the_rule_that_chose_it_and_a_one_click_confirmation(
    as_operator, incident, rule
):
    content = as_operator.get(f"/incidents/{incident.pk}/").content.decode()

    assert '<strong class="suggested-lead">Департамент ЖКХ</strong>' in content
    assert "Управление дорог и благоустройства" in content
    assert "«ЖКХ → Департамент ЖКХ»" in content
    assert f'<input type="hidden" name="confirm" value="{rule.pk}">' in content


def test_it_shows_the_timeline_with_who_what_when_and_the_values_before_and_after(as_operator, operator, incident):
    do_take(incident, actor=operator)

    content = as_operator.get(f"/incidents/{incident.pk}/").content.decode()

    assert ru(EventVerb.CREATED.label) in content
    assert ru(EventVerb.CLASSIFIED.label) in content
    assert ru(EventVerb.TAKEN.label) in content
    assert '<span class="before">—</span> → <span class="after">Отсутствие горячей воды</span>' in content
    assert '<span class="after">operator</span>' in content  # the new owner


def test_it_shows_the_assignments_with_their_information_attachments_and_clocks(
    as_operator, operator, executor, incident, housing
):
    from django.core.files.uploadedfile import SimpleUploadedFile

    (assignment,) = do_route(incident, actor=operator, lead=housing, request="Когда дадут воду?")
    photo = SimpleUploadedFile("act.jpg", b"\xff\xd8\xff" + b"0" * 100, content_type="image/jpeg")
    do_submit_information(assignment, actor=executor, text="Воду дадут 12.12 после ремонта.", files=[photo])

    content = as_operator.get(f"/incidents/{incident.pk}/").content.decode()

    attachment = assignment.attachments.get()
    assert "Когда дадут воду?" in content
    assert "Воду дадут 12.12 после ремонта." in content
    assert f'<a href="/api/v1/attachments/{attachment.pk}">act.jpg</a>' in content
    assert "time-left" in content


def test_the_attachment_link_downloads_the_file_for_the_operator(as_operator, operator, executor, incident, housing):
    from django.core.files.uploadedfile import SimpleUploadedFile

    (assignment,) = do_route(incident, actor=operator, lead=housing)
    do_submit_information(
        assignment, actor=executor, text="Акт во вложении.", files=[SimpleUploadedFile("act.pdf", b"%PDF-1.4 act")]
    )

    response = as_operator.get(f"/api/v1/attachments/{assignment.attachments.get().pk}")

    assert response.status_code == 200
    assert b"".join(response.streaming_content) == b"%PDF-1.4 act"


def test_an_htmx_request_for_editing_gets_only_the_block_with_the_topics_grouped(as_operator, incident):
    response = as_operator.get(f"/incidents/{incident.pk}/?edit=classify", HTTP_HX_REQUEST="true")

    content = response.content.decode()
    assert response.status_code == 200
    assert content.lstrip().startswith('<section class="card mb-3" id="understood"')
    assert "<html" not in content
    assert '<optgroup label="ЖКХ">' in content
    assert f'action="/incidents/{incident.pk}/classify/"' in content


def test_without_htmx_the_editing_block_opens_in_the_full_page(as_operator, incident):
    content = as_operator.get(f"/incidents/{incident.pk}/?edit=details").content.decode()

    assert "<html" in content
    assert f'action="/incidents/{incident.pk}/details/"' in content


def test_the_number_of_queries_does_not_grow_with_posts_events_and_assignments(
    client, operator, incident, housing, roads, executor, django_assert_max_num_queries
):
    from django.core.files.uploadedfile import SimpleUploadedFile

    from otklik.cases.services import do_return_for_rework
    from tests.web.card.conftest import login

    do_route(incident, actor=operator, lead=housing)
    login(client, operator)
    with django_assert_max_num_queries(40) as small:
        client.get(f"/incidents/{incident.pk}/")
    for n in range(8):
        extra = ingest(f"И у нас в доме {n} нет горячей воды", author_name=f"Житель {n}")
        do_merge(extra, into=incident, actor=operator)
    for assignment in do_route(incident, actor=operator, lead=housing, co_executors=[roads]):
        assert assignment.department == roads
    lead = incident.assignments.get(department=housing)
    for n in range(3):
        files = [SimpleUploadedFile(f"photo{n}-{i}.jpg", b"jpg", content_type="image/jpeg") for i in range(2)]
        do_submit_information(lead, actor=executor, text=f"Вода будет завтра ({n}).", files=files)
        do_return_for_rework(lead, actor=operator, comment=f"Уточните время ({n}).")
    do_take(incident, actor=operator)

    with django_assert_max_num_queries(len(small.captured_queries)) as big:
        response = client.get(f"/incidents/{incident.pk}/")

    content = response.content.decode()
    assert response.status_code == 200
    assert content.count('class="list-group-item post"') == 9
    assert content.count("bi-paperclip") == 6
    assert "Уточните время (2)." in content
    assert len(big.captured_queries) <= len(small.captured_queries) <= 20
