"""Every version of an answer's text is kept: drafted, edited, submitted, returned, approved, published."""

from __future__ import annotations

import datetime as dt

import pytest
from django.template.loader import render_to_string
from django.utils import timezone

from otklik.answers.choices import VersionReason
from otklik.answers.services import (
    do_approve_answer,
    do_draft_answer,
    do_edit_answer,
    do_publish_answer,
    do_reject_answer,
    do_submit_for_approval,
)
from otklik.answers.versions import diff_words, version_rows, versions
from otklik.cases.services import do_route
from tests.factories import ingest

pytestmark = pytest.mark.django_db

V = VersionReason
FIRST = "Здравствуйте! Горячую воду дадут 12 декабря после замены задвижки на сетях."
SECOND = "Здравствуйте! Горячую воду дадут 12 декабря после замены задвижки на сетях, работы идут по графику."


@pytest.fixture
def routed(operator, housing):
    incident = ingest()
    do_route(incident, actor=operator, lead=housing, co_executors=[])
    incident.refresh_from_db()
    return incident


def reasons(answer):
    return [(v.number, v.reason) for v in versions(answer)]


def test_a_draft_is_version_one(routed, operator):
    answer = do_draft_answer(routed, actor=operator, kind="primary", text=FIRST)
    (version,) = versions(answer)
    assert (version.number, version.reason, version.text, version.author) == (1, V.DRAFTED, FIRST, operator)


def test_an_edit_keeps_a_version_only_when_something_changed(routed, operator):
    answer = do_draft_answer(routed, actor=operator, kind="primary", text=FIRST)
    do_edit_answer(answer, actor=operator, text=f"  {FIRST}  ")  # the same text once trimmed
    assert reasons(answer) == [(1, V.DRAFTED)]
    do_edit_answer(answer, actor=operator, text=SECOND)
    assert reasons(answer) == [(1, V.DRAFTED), (2, V.EDITED)]
    assert versions(answer).last().text == SECOND


def test_a_new_promised_date_is_a_new_version(routed, operator):
    first = timezone.localdate() + dt.timedelta(days=7)
    answer = do_draft_answer(routed, actor=operator, kind="intermediate", text=FIRST, promised_date=first)
    do_edit_answer(answer, actor=operator, text=FIRST, promised_date=first)
    do_edit_answer(answer, actor=operator, text=FIRST, promised_date=first + dt.timedelta(days=3))
    assert [(v.reason, v.promised_date) for v in versions(answer)] == [
        (V.DRAFTED, first),
        (V.EDITED, first + dt.timedelta(days=3)),
    ]


def test_the_whole_way_to_publication_is_kept_in_order(routed, operator, head):
    answer = do_draft_answer(routed, actor=operator, kind="primary", text=FIRST)
    do_submit_for_approval(answer, actor=operator)
    do_reject_answer(answer, actor=head, comment="Скажите, что работы идут по графику.")
    do_edit_answer(answer, actor=operator, text=SECOND)
    do_submit_for_approval(answer, actor=operator)
    do_approve_answer(answer, actor=head)
    do_publish_answer(answer, actor=operator, link="https://vk.com/wall-1_1")
    assert reasons(answer) == [
        (1, V.DRAFTED),
        (2, V.SUBMITTED),
        (3, V.RETURNED),
        (4, V.EDITED),
        (5, V.SUBMITTED),
        (6, V.APPROVED),
        (7, V.PUBLISHED),
    ]
    returned = versions(answer)[2]
    assert (returned.author, returned.comment, returned.text) == (head, "Скажите, что работы идут по графику.", FIRST)
    assert versions(answer).last().text == SECOND


def test_a_failed_publication_keeps_no_version(routed, operator):
    answer = do_draft_answer(
        routed, actor=operator, kind="primary", text="Здравствуйте! Отремонтируем в ближайшее время, спасибо."
    )
    with pytest.raises(Exception):  # noqa: B017 — the gate's DomainError; the point is the rollback
        do_publish_answer(answer, actor=operator)
    assert reasons(answer) == [(1, V.DRAFTED)]


def test_the_word_diff_marks_insertions_and_deletions_and_escapes_text():
    html = diff_words("Воду дадут <b>завтра</b> утром.", "Воду дадут <b>сегодня</b> утром, извините.")
    assert "<b>" not in html and "&lt;b&gt;" in html
    assert '<del class="answer-diff-del">&lt;b&gt;завтра&lt;/b&gt; утром.</del>' in html
    assert '<ins class="answer-diff-ins">&lt;b&gt;сегодня&lt;/b&gt; утром, извините.</ins>' in html
    assert html.startswith("Воду дадут ")


def test_unchanged_versions_are_marked_so(routed, operator):
    answer = do_draft_answer(routed, actor=operator, kind="primary", text=FIRST)
    do_submit_for_approval(answer, actor=operator)
    rows = version_rows(answer)
    assert [row.changed for row in rows] == [True, False]


def test_the_partial_lists_the_versions_in_a_collapsed_block(routed, operator, head):
    answer = do_draft_answer(routed, actor=operator, kind="primary", text="Здравствуйте! <script>x</script> " + FIRST)
    do_submit_for_approval(answer, actor=operator)
    do_reject_answer(answer, actor=head, comment="Уберите <i>лишнее</i>")
    do_edit_answer(answer, actor=operator, text=FIRST)
    html = render_to_string("answers/_versions.html", {"answer": answer})
    assert "<details" in html and "open" not in html.split(">", 1)[0]
    assert "(4)" in html  # «Версии текста (4)»
    assert "<script>" not in html and "&lt;script&gt;" in html
    assert "<i>лишнее</i>" not in html and "&lt;i&gt;лишнее&lt;/i&gt;" in html
    assert 'class="answer-diff-del"' in html
    labels = [str(V.EDITED.label), str(V.RETURNED.label), str(V.SUBMITTED.label), str(V.DRAFTED.label)]
    assert sorted(labels, key=html.index) == labels  # newest first


def test_the_partial_is_empty_without_versions(routed, operator):
    answer = do_draft_answer(routed, actor=operator, kind="primary", text=FIRST)
    answer.versions.all().delete()
    assert render_to_string("answers/_versions.html", {"answer": answer}).strip() == ""
