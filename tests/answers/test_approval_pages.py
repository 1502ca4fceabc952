"""The approval rules page (/settings/approval/): the head lists, creates, edits and deactivates rules."""

from __future__ import annotations

import pytest
from django.contrib.admin.models import LogEntry

from otklik.answers.models import ApprovalRule
from otklik.org.models import TopicGroup

pytestmark = pytest.mark.django_db


@pytest.fixture
def zhkh(db):
    return TopicGroup.objects.create(name="ЖКХ")


@pytest.fixture
def as_head(client, head):
    client.force_login(head)
    return client


def form_data(**fields):
    data = {"group": "", "kind": "", "new_operator_days": "", "note": "", "is_active": "on"}
    data.update({k: v for k, v in fields.items() if v is not None})
    return data


def test_only_the_head_sees_the_page(client, operator, head):
    client.force_login(operator)
    assert client.get("/settings/approval/").status_code == 403
    assert client.post("/settings/approval/new/", form_data(kind="final")).status_code == 403
    assert not ApprovalRule.objects.exists()
    client.force_login(head)
    assert client.get("/settings/approval/").status_code == 200


def test_the_list_shows_the_rules_and_filters_them(as_head, zhkh):
    ApprovalRule.objects.create(group=zhkh, note="На контроле мэра")
    ApprovalRule.objects.create(kind="refusal", note="Отказы читает начальник", is_active=False)
    page = as_head.get("/settings/approval/").content.decode()
    assert "На контроле мэра" in page and "Отказы читает начальник" not in page
    inactive = as_head.get("/settings/approval/?active=inactive", headers={"HX-Request": "true"}).content.decode()
    assert "Отказы читает начальник" in inactive and "На контроле мэра" not in inactive
    assert "<html" not in inactive  # the results region only
    found = as_head.get("/settings/approval/?active=all&q=мэра").content.decode()
    assert "На контроле мэра" in found and "Отказы читает начальник" not in found


def test_the_head_creates_a_rule_and_it_is_logged(as_head, head, zhkh):
    response = as_head.post(
        "/settings/approval/new/", form_data(group=zhkh.pk, kind="final", high_priority_only="on", note=" Важное ")
    )
    assert response.status_code == 302
    rule = ApprovalRule.objects.get()
    assert (rule.group, rule.kind, rule.high_priority_only, rule.note, rule.is_active) == (
        zhkh,
        "final",
        True,
        "Важное",
        True,
    )
    assert LogEntry.objects.filter(object_id=str(rule.pk), user=head).exists()


def test_a_rule_without_conditions_needs_every_answer_ticked(as_head):
    refused = as_head.post("/settings/approval/new/", form_data())
    assert refused.status_code == 200 and not ApprovalRule.objects.exists()
    assert refused.context["form"].non_field_errors()
    assert as_head.post("/settings/approval/new/", form_data(every_answer="on")).status_code == 302
    assert ApprovalRule.objects.get().group is None


def test_every_answer_and_a_condition_contradict_each_other(as_head):
    refused = as_head.post("/settings/approval/new/", form_data(kind="final", every_answer="on"))
    assert "every_answer" in refused.context["form"].errors
    assert not ApprovalRule.objects.exists()


@pytest.mark.parametrize("days", ["0", "-3", "99999", "abc"])
def test_the_new_operator_days_must_be_sensible(as_head, days):
    refused = as_head.post("/settings/approval/new/", form_data(new_operator_days=days))
    assert "new_operator_days" in refused.context["form"].errors
    assert not ApprovalRule.objects.exists()


def test_a_duplicate_active_rule_is_refused(as_head, zhkh):
    ApprovalRule.objects.create(group=zhkh, kind="final")
    refused = as_head.post("/settings/approval/new/", form_data(group=zhkh.pk, kind="final"))
    assert refused.context["form"].non_field_errors()
    assert ApprovalRule.objects.count() == 1
    # An inactive twin is fine (kept for the record).
    inactive = {"group": zhkh.pk, "kind": "final", "new_operator_days": "", "note": ""}
    assert as_head.post("/settings/approval/new/", inactive).status_code == 302
    assert ApprovalRule.objects.filter(is_active=False).count() == 1


def test_the_head_edits_a_rule(as_head):
    rule = ApprovalRule.objects.create(kind="final")
    page = as_head.get(f"/settings/approval/{rule.pk}/")
    assert page.status_code == 200
    assert as_head.post(f"/settings/approval/{rule.pk}/", form_data(new_operator_days="30")).status_code == 302
    rule.refresh_from_db()
    assert (rule.kind, rule.new_operator_days) == ("", 30)


def test_a_rule_without_conditions_shows_every_answer_ticked(as_head):
    rule = ApprovalRule.objects.create()
    assert as_head.get(f"/settings/approval/{rule.pk}/").context["form"]["every_answer"].initial is True


def test_the_head_deactivates_and_activates_a_rule(as_head):
    rule = ApprovalRule.objects.create(kind="final")
    response = as_head.post(f"/settings/approval/{rule.pk}/toggle/", {"next": "/settings/approval/?active=all"})
    assert response.status_code == 302 and response["Location"] == "/settings/approval/?active=all"
    rule.refresh_from_db()
    assert rule.is_active is False
    response = as_head.post(f"/settings/approval/{rule.pk}/toggle/", {"next": "https://evil.example/"})
    assert response["Location"] == "/settings/approval/"
    rule.refresh_from_db()
    assert rule.is_active is True
    assert as_head.get(f"/settings/approval/{rule.pk}/toggle/").status_code == 405
