"""The deadline settings pages of the head: policies, the duty rota, the working calendar, delegations."""

from __future__ import annotations

import datetime as dt
import re
from zoneinfo import ZoneInfo

import pytest
from django.contrib.admin.models import ADDITION, CHANGE, DELETION, LogEntry
from django.utils import timezone

from otklik.cases.models import Incident
from otklik.core import worktime
from otklik.core.worktime import add_working_hours, get_calendar
from otklik.org.models import Topic, TopicGroup
from otklik.sla.choices import ClockKind
from otklik.sla.clocks import do_start_clock, select_policy
from otklik.sla.models import CalendarDay, Delegation, DutyShift, SlaPolicy, WorkSchedule
from otklik.sla.services import acting_heads

EKB = ZoneInfo("Asia/Yekaterinburg")
pytestmark = pytest.mark.django_db

PAGES = [
    "/settings/sla/",
    "/settings/sla/policies/",
    "/settings/sla/policies/new/",
    "/settings/sla/duty/",
    "/settings/sla/duty/new/",
    "/settings/sla/calendar/",
    "/settings/sla/calendar/?year=2027",
    "/settings/sla/calendar/schedule/",
    "/settings/sla/calendar/days/new/",
    "/settings/sla/delegations/",
    "/settings/sla/delegations/new/",
]


def at(*args: int) -> dt.datetime:
    return dt.datetime(*args, tzinfo=EKB)


def local_input(moment: dt.datetime) -> str:
    """A moment as a datetime-local input sends it (the city's time)."""
    return timezone.localtime(moment).strftime("%Y-%m-%dT%H:%M")


def errors_of(html: str) -> list[str]:
    return re.findall(r'<div class="invalid-feedback d-block">(.*?)</div>', html)


@pytest.fixture
def heating(db):
    group = TopicGroup.objects.create(name="ЖКХ")
    other = TopicGroup.objects.create(name="Дороги")
    return {
        "group": group,
        "topic": Topic.objects.create(name="Нет отопления", group=group, priority=True),
        "other_group": other,
        "pothole": Topic.objects.create(name="Ямы на дорогах", group=other),
    }


def policy_data(**overrides: object) -> dict[str, object]:
    data: dict[str, object] = {
        "name": "Отопление зимой",
        "group": "",
        "topic": "",
        "priority": "any",
        "channel": "",
        "first_answer_hours": "",
        "assignment_hours": "4",
        "answer_hours": "6",
        "final_answer_days": "7",
        "warn_at_percent": "80",
        "long_overdue_hours": "8",
        "long_overdue_roles": "director",
        "order": "10",
        "is_active": "on",
    }
    data.update(overrides)
    return data


# --- access ---------------------------------------------------------------------------------------------------


def test_every_page_renders_for_the_head(client, head):
    client.force_login(head)
    for url in PAGES:
        response = client.get(url)
        assert response.status_code == 200, url
        html = response.content.decode()
        if url.endswith(("/new/", "/schedule/")):
            assert '<form method="post" class="card card-body" novalidate>' in html, url
        else:
            assert 'href="/settings/sla/delegations/"' in html, url  # the sub-navigation


def test_operators_and_departments_are_refused(client, operator, executor, dept_head, director):
    for user in (operator, executor, dept_head, director):
        client.force_login(user)
        for url in PAGES:
            assert client.get(url).status_code == 403, (user.role, url)
        assert client.post("/settings/sla/policies/new/", policy_data()).status_code == 403
    assert not SlaPolicy.objects.exists()


def test_a_visitor_is_sent_to_sign_in(client):
    response = client.get("/settings/sla/policies/")
    assert response.status_code == 302
    assert "login" in response["Location"]


def test_an_acting_operator_does_not_get_the_settings(client, head, operator):
    # The delegation gives the head's decisions (approvals, extensions), not the reference data.
    Delegation.objects.create(
        head=head,
        acting=operator,
        starts_at=timezone.now() - dt.timedelta(hours=1),
        ends_at=timezone.now() + dt.timedelta(days=1),
    )
    client.force_login(operator)
    assert client.get("/settings/sla/").status_code == 403


# --- deadline policies ----------------------------------------------------------------------------------------


def test_the_head_creates_a_policy_and_it_is_logged_and_used(client, head, heating):
    client.force_login(head)
    response = client.post(
        "/settings/sla/policies/new/",
        policy_data(group=heating["group"].pk, topic=heating["topic"].pk, priority="high", calendar_time="on"),
    )
    assert response.status_code == 302
    assert response["Location"] == "/settings/sla/policies/"
    policy = SlaPolicy.objects.get()
    assert (policy.topic, policy.priority, policy.calendar_time) == (heating["topic"], "high", True)
    assert policy.answer_hours == 6
    assert LogEntry.objects.get(object_id=str(policy.pk)).action_flag == ADDITION
    # The policy is in force at once for new deadlines (the cached policies were reset).
    chosen = select_policy(group_id=heating["group"].pk, topic_id=heating["topic"].pk, priority=True)
    assert chosen == policy


def test_the_list_shows_what_a_policy_applies_to_and_searches(client, head, heating):
    SlaPolicy.objects.create(name="Отопление", topic=heating["topic"], group=heating["group"], calendar_time=True)
    SlaPolicy.objects.create(name="Дороги", group=heating["other_group"], answer_hours=12, order=5)
    client.force_login(head)
    page = client.get("/settings/sla/policies/").content.decode()
    assert "Нет отопления" in page and "24/7" in page
    assert page.index("Дороги") < page.index("Отопление")  # by order
    found = client.get("/settings/sla/policies/", {"q": "отопл"}).content.decode()
    assert "Нет отопления" in found
    assert 'href="/settings/sla/policies/' + str(SlaPolicy.objects.get(name="Дороги").pk) + '/"' not in found
    partial = client.get("/settings/sla/policies/", {"q": "отопл"}, headers={"HX-Request": "true"}).content.decode()
    assert partial.lstrip().startswith('<div id="results">')


def test_hours_must_be_more_than_zero(client, head):
    client.force_login(head)
    response = client.post("/settings/sla/policies/new/", policy_data(answer_hours="0", first_answer_hours="-1"))
    assert response.status_code == 200
    html = response.content.decode()
    assert len(errors_of(html)) == 2
    assert 'id="id_answer_hours"' in html
    assert not SlaPolicy.objects.exists()


def test_the_topic_must_belong_to_the_group(client, head, heating):
    client.force_login(head)
    response = client.post(
        "/settings/sla/policies/new/", policy_data(group=heating["group"].pk, topic=heating["pothole"].pk)
    )
    assert response.status_code == 200
    form = response.context["form"]
    assert list(form.errors) == ["topic"]  # next to the field, not repeated for the whole form
    assert "Дороги" in form.errors["topic"][0]
    assert not SlaPolicy.objects.exists()


def test_unknown_roles_and_a_wrong_warning_share_are_refused(client, head):
    client.force_login(head)
    response = client.post(
        "/settings/sla/policies/new/", policy_data(long_overdue_roles="director, boss", warn_at_percent="100")
    )
    assert set(response.context["form"].errors) == {"long_overdue_roles", "warn_at_percent"}
    assert "boss" in response.context["form"].errors["long_overdue_roles"][0]


def test_editing_saves_and_logs_the_changed_fields(client, head):
    policy = SlaPolicy.objects.create(name="Все обращения", answer_hours=9)
    client.force_login(head)
    page = client.get(f"/settings/sla/policies/{policy.pk}/").content.decode()
    assert 'value="Все обращения"' in page
    response = client.post(f"/settings/sla/policies/{policy.pk}/", policy_data(name="Все обращения", answer_hours="7"))
    assert response.status_code == 302
    policy.refresh_from_db()
    assert policy.answer_hours == 7
    entry = LogEntry.objects.get(object_id=str(policy.pk))
    assert entry.action_flag == CHANGE
    assert "Answer, hours" in entry.change_message


def test_deactivating_and_activating_a_policy(client, head):
    policy = SlaPolicy.objects.create(name="Все обращения")
    client.force_login(head)
    response = client.post(
        f"/settings/sla/policies/{policy.pk}/toggle/", {"next": "/settings/sla/policies/?active=all"}
    )
    assert response["Location"] == "/settings/sla/policies/?active=all"
    policy.refresh_from_db()
    assert not policy.is_active
    assert select_policy(group_id=None, topic_id=None, priority=False) is None
    client.post(f"/settings/sla/policies/{policy.pk}/toggle/", {"next": "https://evil.example/"})
    policy.refresh_from_db()
    assert policy.is_active
    assert LogEntry.objects.filter(object_id=str(policy.pk), action_flag=CHANGE).count() == 2
    assert client.get(f"/settings/sla/policies/{policy.pk}/toggle/").status_code == 405


# --- the duty rota --------------------------------------------------------------------------------------------


def test_the_head_adds_a_shift(client, head, operator):
    client.force_login(head)
    starts = timezone.now() + dt.timedelta(hours=2)
    response = client.post(
        "/settings/sla/duty/new/",
        {
            "user": operator.pk,
            "starts_at": local_input(starts),
            "ends_at": local_input(starts + dt.timedelta(hours=12)),
        },
    )
    assert response.status_code == 302
    shift = DutyShift.objects.get()
    assert shift.user == operator
    assert shift.ends_at - shift.starts_at == dt.timedelta(hours=12)
    assert LogEntry.objects.get(object_id=str(shift.pk)).action_flag == ADDITION
    assert operator.display_name in client.get("/settings/sla/duty/").content.decode()


def test_a_shift_must_end_after_it_starts_and_not_overlap(client, head, operator):
    client.force_login(head)
    starts = timezone.now() + dt.timedelta(hours=2)
    backwards = client.post(
        "/settings/sla/duty/new/",
        {"user": operator.pk, "starts_at": local_input(starts), "ends_at": local_input(starts - dt.timedelta(hours=1))},
    )
    assert list(backwards.context["form"].errors) == ["ends_at"]
    DutyShift.objects.create(user=operator, starts_at=starts, ends_at=starts + dt.timedelta(hours=8))
    overlapping = client.post(
        "/settings/sla/duty/new/",
        {
            "user": operator.pk,
            "starts_at": local_input(starts + dt.timedelta(hours=4)),
            "ends_at": local_input(starts + dt.timedelta(hours=10)),
        },
    )
    assert list(overlapping.context["form"].errors) == ["starts_at"]
    assert DutyShift.objects.count() == 1


def test_an_executor_cannot_be_put_on_duty(client, head, executor):
    client.force_login(head)
    starts = timezone.now() + dt.timedelta(hours=2)
    response = client.post(
        "/settings/sla/duty/new/",
        {"user": executor.pk, "starts_at": local_input(starts), "ends_at": local_input(starts + dt.timedelta(hours=8))},
    )
    assert "user" in response.context["form"].errors
    assert not DutyShift.objects.exists()


def test_a_current_shift_ends_now_and_a_future_one_is_deleted(client, head, operator, operator2):
    now = timezone.now()
    current = DutyShift.objects.create(
        user=operator, starts_at=now - dt.timedelta(hours=1), ends_at=now + dt.timedelta(hours=5)
    )
    future = DutyShift.objects.create(
        user=operator2, starts_at=now + dt.timedelta(days=1), ends_at=now + dt.timedelta(days=1, hours=8)
    )
    client.force_login(head)
    page = client.get("/settings/sla/duty/").content.decode()
    assert (page.count('data-action="end"'), page.count('data-action="delete"')) == (1, 1)

    client.post(f"/settings/sla/duty/{current.pk}/end/")
    current.refresh_from_db()
    assert current.ends_at <= timezone.now()
    assert DutyShift.objects.filter(pk=current.pk).exists()  # kept: it was worked

    client.post(f"/settings/sla/duty/{future.pk}/end/")
    assert not DutyShift.objects.filter(pk=future.pk).exists()
    assert LogEntry.objects.filter(action_flag=DELETION, object_id=str(future.pk)).exists()


# --- the working calendar -------------------------------------------------------------------------------------


def test_the_year_shows_the_working_days_and_hours(client, head):
    client.force_login(head)
    page = client.get("/settings/sla/calendar/?year=2026").content.decode()
    assert 'data-working-days="247"' in page
    assert 'data-working-hours="1972"' in page  # the official 2026 figures (40-hour week)


def test_a_day_off_changes_the_due_times_and_the_year(client, head):
    start = at(2026, 12, 1, 9)
    assert add_working_hours(start, 16) == at(2026, 12, 2, 18)
    get_calendar()  # cached in this process before the change
    client.force_login(head)
    response = client.post(
        "/settings/sla/calendar/days/new/", {"date": "2026-12-02", "kind": "off", "note": "День города"}
    )
    assert response.status_code == 302
    assert response["Location"] == "/settings/sla/calendar/?year=2026"
    entry = CalendarDay.objects.get()
    assert LogEntry.objects.get(object_id=str(entry.pk)).action_flag == ADDITION

    # New deadlines use it at once: 2 December is skipped.
    assert add_working_hours(start, 16) == at(2026, 12, 3, 18)
    clock = do_start_clock(ClockKind.ANSWER, incident=Incident.objects.create(), hours=16, start=start)
    assert clock.due_at == at(2026, 12, 3, 18)
    page = client.get("/settings/sla/calendar/?year=2026").content.decode()
    assert 'data-working-days="246"' in page
    assert "День города" in page

    client.post(f"/settings/sla/calendar/days/{entry.pk}/delete/")
    assert not CalendarDay.objects.exists()
    assert add_working_hours(start, 16) == at(2026, 12, 2, 18)
    assert LogEntry.objects.filter(action_flag=DELETION, object_id=str(entry.pk)).exists()


def test_a_working_saturday_and_editing_an_entry(client, head):
    client.force_login(head)
    client.post("/settings/sla/calendar/days/new/", {"date": "2026-12-05", "kind": "working"})
    entry = CalendarDay.objects.get()
    # Friday 17:00 + 2 working hours: 18:00 Friday, then 09:00 Saturday → 10:00 Saturday.
    assert add_working_hours(at(2026, 12, 4, 17), 2) == at(2026, 12, 5, 10)
    client.post(f"/settings/sla/calendar/days/{entry.pk}/", {"date": "2026-12-05", "kind": "shortened"})
    entry.refresh_from_db()
    assert entry.kind == "shortened"
    assert get_calendar().working_hours(dt.date(2026, 12, 5)) == 7


def test_the_same_date_twice_is_refused(client, head):
    CalendarDay.objects.create(date=dt.date(2026, 12, 2), kind="off")
    client.force_login(head)
    response = client.post("/settings/sla/calendar/days/new/", {"date": "2026-12-02", "kind": "working"})
    assert list(response.context["form"].errors) == ["date"]
    assert CalendarDay.objects.get().kind == "off"


def test_the_schedule_is_edited_and_used(client, head):
    client.force_login(head)
    response = client.post(
        "/settings/sla/calendar/schedule/",
        {"start": "08:00", "end": "17:00", "break_start": "12:00", "break_end": "13:00", "shortened_by_minutes": "60"},
    )
    assert response.status_code == 302
    assert WorkSchedule.objects.count() == 1
    assert add_working_hours(at(2026, 12, 1, 8), 8) == at(2026, 12, 1, 17)
    # A second save edits the same row.
    client.post(
        "/settings/sla/calendar/schedule/",
        {"start": "09:00", "end": "18:00", "break_start": "", "break_end": "", "shortened_by_minutes": "60"},
    )
    assert WorkSchedule.objects.count() == 1
    assert add_working_hours(at(2026, 12, 1, 9), 9) == at(2026, 12, 1, 18)
    assert LogEntry.objects.filter(action_flag=CHANGE).count() == 1


def test_a_break_outside_the_day_is_refused(client, head):
    client.force_login(head)
    response = client.post(
        "/settings/sla/calendar/schedule/",
        {"start": "09:00", "end": "18:00", "break_start": "19:00", "break_end": "20:00", "shortened_by_minutes": "60"},
    )
    assert list(response.context["form"].errors) == ["break_start"]
    missing_end = client.post(
        "/settings/sla/calendar/schedule/",
        {"start": "09:00", "end": "18:00", "break_start": "13:00", "break_end": "", "shortened_by_minutes": "60"},
    )
    assert list(missing_end.context["form"].errors) == ["break_end"]
    assert not WorkSchedule.objects.exists()


def test_the_calendar_cache_is_reset_after_the_commit(client, head, monkeypatch, django_capture_on_commit_callbacks):
    resets: list[int] = []
    real = worktime.reset_calendar
    monkeypatch.setattr("otklik.sla.views_settings.reset_calendar", lambda: (resets.append(1), real()))
    client.force_login(head)
    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        client.post("/settings/sla/calendar/days/new/", {"date": "2026-12-02", "kind": "off"})
    assert len(resets) == 2  # at once, and again when committed
    assert len(callbacks) >= 1


# --- delegations ----------------------------------------------------------------------------------------------


def test_the_head_delegates_the_role_and_revokes_it(client, head, operator):
    client.force_login(head)
    now = timezone.now()
    response = client.post(
        "/settings/sla/delegations/new/",
        {
            "acting": operator.pk,
            "starts_at": local_input(now - dt.timedelta(minutes=5)),
            "ends_at": local_input(now + dt.timedelta(days=7)),
            "reason": "Отпуск",
        },
    )
    assert response.status_code == 302
    delegation = Delegation.objects.get()
    assert (delegation.head, delegation.acting, delegation.created_by) == (head, operator, head)
    assert acting_heads() == [operator]
    assert "Отпуск" in client.get("/settings/sla/delegations/").content.decode()

    client.post(f"/settings/sla/delegations/{delegation.pk}/revoke/")
    delegation.refresh_from_db()
    assert delegation.revoked_at is not None and delegation.revoked_by == head
    assert acting_heads() == [head]
    assert Delegation.objects.count() == 1  # revoked, never deleted
    again = client.post(f"/settings/sla/delegations/{delegation.pk}/revoke/", follow=True)
    assert again.status_code == 200
    assert delegation.revoked_at == Delegation.objects.get().revoked_at


def test_an_overlapping_delegation_is_refused_next_to_the_field(client, head, operator, operator2):
    now = timezone.now()
    Delegation.objects.create(head=head, acting=operator, starts_at=now, ends_at=now + dt.timedelta(days=3))
    client.force_login(head)
    response = client.post(
        "/settings/sla/delegations/new/",
        {
            "acting": operator2.pk,
            "starts_at": local_input(now + dt.timedelta(days=1)),
            "ends_at": local_input(now + dt.timedelta(days=5)),
        },
    )
    assert response.status_code == 200
    assert list(response.context["form"].errors) == ["starts_at"]  # do_delegate's error, on its field
    assert Delegation.objects.count() == 1


def test_a_delegation_must_end_after_it_starts_and_go_to_the_service(client, head, operator, executor):
    now = timezone.now()
    client.force_login(head)
    backwards = client.post(
        "/settings/sla/delegations/new/",
        {"acting": operator.pk, "starts_at": local_input(now + dt.timedelta(days=2)), "ends_at": local_input(now)},
    )
    assert list(backwards.context["form"].errors) == ["ends_at"]
    to_executor = client.post(
        "/settings/sla/delegations/new/",
        {
            "acting": executor.pk,
            "starts_at": local_input(now),
            "ends_at": local_input(now + dt.timedelta(days=2)),
        },
    )
    assert "acting" in to_executor.context["form"].errors
    assert not Delegation.objects.exists()


def test_another_head_cannot_revoke_and_an_admin_can(client, head, operator, admin_user):
    from tests.factories import make_user

    other_head = make_user("head2", role="head")
    now = timezone.now()
    delegation = Delegation.objects.create(
        head=head, acting=operator, starts_at=now, ends_at=now + dt.timedelta(days=3)
    )
    client.force_login(other_head)
    client.post(f"/settings/sla/delegations/{delegation.pk}/revoke/")
    delegation.refresh_from_db()
    assert delegation.revoked_at is None

    client.force_login(admin_user)
    page = client.get("/settings/sla/delegations/new/").content.decode()
    assert 'name="head"' in page  # an administrator chooses whose role
    client.post(f"/settings/sla/delegations/{delegation.pk}/revoke/")
    delegation.refresh_from_db()
    assert delegation.revoked_by == admin_user
