"""The answer editor: write, publish (with the link of the reply), approval by the head, closing and reopening."""

from __future__ import annotations

import datetime as dt
import html
import re

import pytest
from django.utils import timezone, translation

from otklik.answers.choices import AnswerKind, AnswerStatus
from otklik.answers.models import Answer
from otklik.answers.services import do_approve_answer, do_draft_answer, do_publish_answer, do_submit_for_approval
from otklik.cases.choices import EventVerb, IncidentStatus
from otklik.cases.models import Incident
from otklik.cases.services import do_accept_information, do_route, do_submit_information
from tests.web.card.conftest import login

pytestmark = pytest.mark.django_db
S = IncidentStatus
LINK = "https://vk.com/wall-1_100?reply=501"
INFO = "Горячую воду дадут 12.12 после замены задвижки."


def htmx_post(client, path: str, data: dict | None = None):
    return client.post(path, data or {}, HTTP_HX_REQUEST="true")


def ru(message: str) -> str:
    with translation.override("ru"):
        return translation.gettext(message)


def prefilled(content: str, kind: str) -> str:
    """The text the editor offers for `kind` (its radio button carries it)."""
    match = re.search(rf'value="{kind}" data-template="([^"]*)"', content)
    assert match, kind
    return html.unescape(match.group(1))


@pytest.fixture
def routed(incident, operator, housing) -> Incident:
    do_route(incident, actor=operator, lead=housing)
    return incident


@pytest.fixture
def answering(routed, operator, executor) -> Incident:
    lead = routed.assignments.get()
    do_submit_information(lead, actor=executor, text=INFO)
    do_accept_information(lead, actor=operator)
    routed.refresh_from_db()
    assert routed.status == S.ANSWERING
    return routed


def test_a_routine_incident_goes_from_the_card_to_a_published_answer_in_at_most_six_operator_actions(
    client, operator, executor, executor_other, incident, rule, housing, roads
):
    """Open the card → confirm the route → (the executor answers) → accept → paste the link → publish."""
    login(client, operator)
    actions = 0

    page = client.get(f"/incidents/{incident.pk}/")  # 1. open the card
    actions += 1
    confirm = re.search(r'name="confirm" value="(\d+)"', page.content.decode()).group(1)
    htmx_post(client, f"/incidents/{incident.pk}/route/", {"confirm": confirm})  # 2. confirm the route
    actions += 1

    lead = incident.assignments.get(department=housing)
    do_submit_information(lead, actor=executor, text=INFO)  # the executor, on his own page
    # The co-executor answers too (a final answer waits for every co-executor): the department's work, not ours.
    co = incident.assignments.get(department=roads)
    do_submit_information(co, actor=executor_other, text="Раскопку после ремонта восстановим.")

    card = htmx_post(client, f"/incidents/{incident.pk}/assignments/{lead.pk}/accept/")  # 3. accept
    actions += 1
    content = card.content.decode()
    assert 'value="final" data-template="' in content and re.search(r'value="final"[^>]*checked', content)
    text = prefilled(content, "final")  # chosen and filled in already: nothing to write
    assert text.startswith(ru("Hello, %(name)s!") % {"name": "Иван"})
    assert INFO in text
    # 4. paste the link of the reply, 5. press «Publish» (one request).
    response = htmx_post(
        client,
        f"/incidents/{incident.pk}/answers/",
        {"kind": "final", "text": text, "link": LINK, "action": "publish"},
    )
    actions += 2

    incident.refresh_from_db()
    answer = incident.answers.get()
    assert response.status_code == 200
    assert (answer.status, answer.kind, answer.link, answer.text) == (AnswerStatus.PUBLISHED, "final", LINK, text)
    assert incident.status == S.CLOSED  # OTKLIK_CLOSE_AFTER_FINAL_ANSWER is on by default
    assert actions <= 6


def test_publishing_a_final_answer_closes_the_incident_with_two_events(as_operator, answering):
    htmx_post(
        as_operator,
        f"/incidents/{answering.pk}/answers/",
        {"kind": "final", "text": "Здравствуйте! " + INFO, "link": LINK, "action": "publish"},
    )

    answering.refresh_from_db()
    published, closed = answering.events.order_by("-pk")[:2][::-1]
    assert answering.status == S.CLOSED and answering.closed_at is not None
    assert (published.verb, published.after["status"]) == (EventVerb.ANSWER_PUBLISHED, S.ANSWERED)
    assert (closed.verb, closed.before, closed.after) == (
        EventVerb.CLOSED,
        {"status": S.ANSWERED},
        {"status": S.CLOSED},
    )


def test_a_refusal_closes_the_incident_too(as_operator, routed):
    as_operator.post(
        f"/incidents/{routed.pk}/answers/",
        {"kind": "refusal", "text": "Вопрос не относится к городу.", "link": LINK, "action": "publish"},
    )

    assert Incident.objects.get(pk=routed.pk).status == S.CLOSED


def test_with_follow_up_configured_the_incident_waits_answered_and_the_card_offers_to_close(
    as_operator, answering, settings
):
    settings.OTKLIK_CLOSE_AFTER_FINAL_ANSWER = False

    response = htmx_post(
        as_operator,
        f"/incidents/{answering.pk}/answers/",
        {"kind": "final", "text": INFO, "link": LINK, "action": "publish"},
    )

    answering.refresh_from_db()
    assert answering.status == S.ANSWERED
    assert f'action="/incidents/{answering.pk}/close/"' in response.content.decode()

    closed = htmx_post(as_operator, f"/incidents/{answering.pk}/close/", {"note": "Житель поблагодарил"})

    answering.refresh_from_db()
    assert answering.status == S.CLOSED
    assert f'action="/incidents/{answering.pk}/close/"' not in closed.content.decode()
    assert f'action="/incidents/{answering.pk}/reopen/"' in closed.content.decode()


def test_a_final_answer_without_accepted_information_explains_why_publish_is_off(as_operator, routed):
    content = as_operator.get(f"/incidents/{routed.pk}/").content.decode()
    # The editor starts with a primary answer; choosing «final» (card.js) switches «Publish» off and shows why.
    assert 'data-lead-accepted="0"' in content
    assert "data-final-blocked" in content

    response = htmx_post(
        as_operator,
        f"/incidents/{routed.pk}/answers/",
        {"kind": "final", "text": "Здравствуйте! Всё сделано.", "link": LINK, "action": "publish"},
    )

    content = response.content.decode()
    assert (
        ru(
            "A final answer needs the lead department's information accepted. "
            "Accept it first, or give the reason to publish without it."
        )
        in content
    )
    assert re.search(r"data-publish disabled", content)  # «Publish» is off for this kind
    assert '<div data-final-blocked class="alert alert-warning py-2 px-2 small">' in content  # shown, with the reason
    assert "Здравствуйте! Всё сделано." in content  # what was typed stays
    assert LINK in content
    assert not Answer.objects.filter(incident=routed).exists()  # no stray draft
    assert Incident.objects.get(pk=routed.pk).status == S.ROUTED


def test_a_final_answer_can_be_published_anyway_with_a_reason(as_operator, routed):
    htmx_post(
        as_operator,
        f"/incidents/{routed.pk}/answers/",
        {
            "kind": "final",
            "text": "Здравствуйте! Всё сделано.",
            "link": LINK,
            "override_reason": "Подразделение ответило по телефону",
            "action": "publish",
        },
    )

    answer = Answer.objects.get(incident=routed)
    assert answer.status == AnswerStatus.PUBLISHED
    assert answer.override_reason == "Подразделение ответило по телефону"


def test_publishing_needs_the_link_of_the_published_reply(as_operator, routed):
    response = htmx_post(
        as_operator,
        f"/incidents/{routed.pk}/answers/",
        {"kind": "primary", "text": "Здравствуйте! Передали в ЖКХ.", "link": "", "action": "publish"},
    )

    content = response.content.decode()
    assert re.search(
        r'<input type="url" name="link"[^>]* class="form-control is-invalid"[^>]* id="id_answer_link">', content
    )
    assert 'id="id_answer_link_error"' in content
    assert "Здравствуйте! Передали в ЖКХ." in content
    assert not Answer.objects.filter(incident=routed).exists()


def test_a_primary_answer_is_published_and_listed_with_its_kind_time_and_link(as_operator, routed):
    response = htmx_post(
        as_operator,
        f"/incidents/{routed.pk}/answers/",
        {"kind": "primary", "text": "Здравствуйте! Передали в ЖКХ.", "link": LINK, "action": "publish"},
    )

    routed.refresh_from_db()
    answer = routed.answers.get()
    content = response.content.decode()
    assert routed.status == S.ROUTED and routed.first_answered_at is not None
    assert f'id="answer-{answer.pk}"' in content
    assert str(AnswerKind.PRIMARY.label) in content or ru("Primary") in content
    assert f'href="{html.escape(LINK)}" target="_blank" rel="noopener noreferrer"' in content


def test_an_intermediate_answer_needs_the_promised_date(as_operator, routed):
    refused = htmx_post(
        as_operator,
        f"/incidents/{routed.pk}/answers/",
        {"kind": "intermediate", "text": "Работы запланированы.", "link": LINK, "action": "publish"},
    )
    assert ru("An intermediate answer promises a date: give the date of the final answer.") in refused.content.decode()

    promised = timezone.localdate() + dt.timedelta(days=7)
    htmx_post(
        as_operator,
        f"/incidents/{routed.pk}/answers/",
        {
            "kind": "intermediate",
            "text": "Работы запланированы, итоговый ответ дадим через неделю.",
            "promised_date": promised.isoformat(),
            "link": LINK,
            "action": "publish",
        },
    )

    answer = routed.answers.get()
    assert (answer.status, answer.promised_date) == (AnswerStatus.PUBLISHED, promised)
    assert Incident.objects.get(pk=routed.pk).status == S.ROUTED


def test_sending_for_approval_then_the_head_approves_and_the_operator_publishes(client, operator, head, answering):
    login(client, operator)
    sent = htmx_post(
        client, f"/incidents/{answering.pk}/answers/", {"kind": "final", "text": INFO, "action": "approval"}
    )
    answer = answering.answers.get()
    assert answer.status == AnswerStatus.APPROVAL
    assert Incident.objects.get(pk=answering.pk).status == S.APPROVAL
    assert f'/answers/{answer.pk}/approve/"' not in sent.content.decode()  # not for the operator

    client.logout()
    login(client, head)
    page = client.get(f"/incidents/{answering.pk}/").content.decode()
    assert f'action="/incidents/{answering.pk}/answers/{answer.pk}/approve/"' in page
    htmx_post(client, f"/incidents/{answering.pk}/answers/{answer.pk}/approve/")
    answer.refresh_from_db()
    assert answer.status == AnswerStatus.APPROVED

    client.logout()
    login(client, operator)
    htmx_post(client, f"/incidents/{answering.pk}/answers/{answer.pk}/", {"link": LINK, "action": "publish"})
    answer.refresh_from_db()
    assert (answer.status, answer.link) == (AnswerStatus.PUBLISHED, LINK)


def test_an_operator_cannot_approve_an_answer(as_operator, operator, answering):
    answer = do_draft_answer(answering, actor=operator, kind="final", text=INFO)
    do_submit_for_approval(answer, actor=operator)

    response = htmx_post(as_operator, f"/incidents/{answering.pk}/answers/{answer.pk}/approve/")

    answer.refresh_from_db()
    assert answer.status == AnswerStatus.APPROVAL
    assert ru("Only the head of the service can do this.") in response.content.decode()


def test_the_head_returns_an_answer_with_a_comment_and_the_operator_corrects_it(client, operator, head, answering):
    answer = do_draft_answer(answering, actor=operator, kind="final", text=INFO)
    do_submit_for_approval(answer, actor=operator)
    login(client, head)

    refused = htmx_post(client, f"/incidents/{answering.pk}/answers/{answer.pk}/reject/", {"comment": ""})
    assert ru("Say what must be corrected in the answer.") in refused.content.decode()
    htmx_post(client, f"/incidents/{answering.pk}/answers/{answer.pk}/reject/", {"comment": "Поблагодарите жителя"})
    answer.refresh_from_db()
    assert answer.status == AnswerStatus.DRAFT

    client.logout()
    login(client, operator)
    page = client.get(f"/incidents/{answering.pk}/").content.decode()
    assert "Поблагодарите жителя" in page
    htmx_post(
        client,
        f"/incidents/{answering.pk}/answers/{answer.pk}/",
        {"text": "Спасибо, что написали! " + INFO, "action": "approval"},
    )
    answer.refresh_from_db()
    assert (answer.status, answer.text) == (AnswerStatus.APPROVAL, "Спасибо, что написали! " + INFO)


def test_reopening_needs_a_reason_and_can_go_back_to_answering(as_operator, operator, answering):
    answer = do_draft_answer(answering, actor=operator, kind="final", text=INFO)
    do_publish_answer(answer, actor=operator, link=LINK)
    assert Incident.objects.get(pk=answering.pk).status == S.CLOSED

    refused = htmx_post(as_operator, f"/incidents/{answering.pk}/reopen/", {"reason": "", "to": "answering"})
    assert ru("Say why the incident is reopened.") in refused.content.decode()
    assert '<details class="card-action mb-2" open>' in refused.content.decode()

    htmx_post(
        as_operator, f"/incidents/{answering.pk}/reopen/", {"reason": "Житель пишет: воды нет", "to": "answering"}
    )
    assert Incident.objects.get(pk=answering.pk).status == S.ANSWERING


def test_reopening_back_to_the_departments_asks_them_again(as_operator, operator, answering):
    answer = do_draft_answer(answering, actor=operator, kind="final", text=INFO)
    do_publish_answer(answer, actor=operator, link=LINK)

    as_operator.post(f"/incidents/{answering.pk}/reopen/", {"reason": "Воды всё ещё нет", "to": "routed"})

    answering.refresh_from_db()
    assert answering.status == S.ROUTED
    assert answering.assignments.get().status == "rework"


def test_the_director_sees_the_published_answers_but_no_editor(client, director, operator, answering):
    answer = do_draft_answer(answering, actor=operator, kind="final", text=INFO)
    do_submit_for_approval(answer, actor=operator)
    do_approve_answer(answer, actor=None)
    do_publish_answer(answer, actor=operator, link=LINK)

    content = login(client, director).get(f"/incidents/{answering.pk}/").content.decode()

    assert f'id="answer-{answer.pk}"' in content
    assert "data-answer-editor" not in content


def test_no_second_answer_is_started_while_one_is_on_approval(as_operator, operator, answering):
    answer = do_draft_answer(answering, actor=operator, kind="final", text=INFO)
    do_submit_for_approval(answer, actor=operator)

    content = as_operator.get(f"/incidents/{answering.pk}/").content.decode()

    assert f'id="answer-{answer.pk}"' in content
    assert "data-answer-editor" not in content
