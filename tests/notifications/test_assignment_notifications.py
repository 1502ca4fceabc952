"""A department hears of a new assignment and of a return for rework: in the app and by e-mail."""

from __future__ import annotations

import pytest
from django.core import mail

from otklik.cases.services import do_return_for_rework, do_route, do_submit_information
from otklik.notifications.choices import DeliveryStatus, NotificationKind
from otklik.notifications.models import Notification
from otklik.notifications.tasks import send_notification_email
from otklik.ops.models import TaskRun
from tests.factories import ingest


@pytest.fixture
def incident(db):
    return ingest("Третий день нет горячей воды на улице Ленина 5")


@pytest.fixture
def routed(incident, operator, housing, executor, dept_head, executor_other, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        [assignment] = do_route(incident, actor=operator, lead=housing)
    return assignment


def notified(kind: str) -> dict[str, Notification]:
    return {n.recipient.username: n for n in Notification.objects.filter(kind=kind).select_related("recipient")}


def test_a_new_assignment_notifies_each_user_of_the_department_in_the_app(routed, incident):
    notes = notified(NotificationKind.ASSIGNMENT_NEW)

    assert set(notes) == {"executor", "dept_head"}
    for note in notes.values():
        assert (note.incident_id, note.assignment_id) == (incident.pk, routed.pk)
        assert str(incident.pk) in note.title
        assert note.url == f"/assignments/{routed.pk}/"
        assert note.read_at is None


def test_a_new_assignment_is_e_mailed_to_each_user_of_the_department(routed, incident):
    assert sorted(m.to[0] for m in mail.outbox) == ["depthead@example.org", "executor@example.org"]
    message = next(m for m in mail.outbox if m.to == ["executor@example.org"])
    assert str(incident.pk) in message.subject
    assert f"/assignments/{routed.pk}/" in message.body
    for note in notified(NotificationKind.ASSIGNMENT_NEW).values():
        assert note.email_status == DeliveryStatus.SENT
        assert note.emailed_at is not None


def test_users_of_another_department_are_not_notified(routed, executor_other):
    assert not Notification.objects.filter(recipient=executor_other).exists()
    assert all("roads@example.org" not in m.to for m in mail.outbox)


def test_the_e_mail_goes_once_even_if_the_task_runs_twice(routed):
    note = notified(NotificationKind.ASSIGNMENT_NEW)["executor"]

    send_notification_email.apply(args=(note.pk,))  # the broker delivers the message again
    TaskRun.objects.all().delete()  # even without the recorded run, the claim on the row holds
    send_notification_email.apply(args=(note.pk,))

    assert len(mail.outbox) == 2  # one each for executor and dept_head, from the routing
    assert [m.to for m in mail.outbox].count(["executor@example.org"]) == 1


def test_routing_again_to_the_same_department_does_not_notify_again(
    routed, incident, operator, housing, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        do_route(incident, actor=operator, lead=housing)

    assert Notification.objects.filter(kind=NotificationKind.ASSIGNMENT_NEW).count() == 2
    assert len(mail.outbox) == 2


def test_a_return_for_rework_notifies_the_department(routed, operator, executor, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        do_submit_information(routed, actor=executor, text="Подача воды восстановлена 30 ноября.")
    mail.outbox.clear()

    with django_capture_on_commit_callbacks(execute=True):
        do_return_for_rework(routed, actor=operator, comment="Укажите время восстановления подачи.")

    notes = notified(NotificationKind.ASSIGNMENT_REWORK)
    assert set(notes) == {"executor", "dept_head"}
    assert notes["executor"].body == "Укажите время восстановления подачи."
    assert sorted(m.to[0] for m in mail.outbox) == ["depthead@example.org", "executor@example.org"]
    assert all("Укажите время восстановления подачи." in m.body for m in mail.outbox)


def test_a_second_return_for_rework_notifies_again(routed, operator, executor, django_capture_on_commit_callbacks):
    for comment in ("Первое замечание.", "Второе замечание."):
        with django_capture_on_commit_callbacks(execute=True):
            do_submit_information(routed, actor=executor, text="Сведения.")
            do_return_for_rework(routed, actor=operator, comment=comment)

    assert Notification.objects.filter(kind=NotificationKind.ASSIGNMENT_REWORK, recipient=executor).count() == 2
