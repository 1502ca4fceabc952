"""GET /api/v1/notifications and marking them read: each user sees and marks only his own notifications."""

from __future__ import annotations

import pytest

from otklik.cases.models import Assignment
from otklik.cases.services import do_return_for_rework, do_route, do_submit_information
from otklik.notifications.choices import NotificationKind
from otklik.notifications.models import Notification
from otklik.notifications.services import do_mark_read, do_notify
from tests.factories import ingest

pytestmark = pytest.mark.django_db

NOTIFICATION_KEYS = ["id", "kind", "title", "body", "url", "incident", "assignment", "created_at", "read_at"]
LIST = "/api/v1/notifications"
READ_ALL = "/api/v1/notifications/read-all"


def read_url(notification: Notification) -> str:
    return f"/api/v1/notifications/{notification.pk}/read"


@pytest.fixture
def assignment(operator, housing, roads, executor, dept_head, executor_other) -> Assignment:
    """A new incident routed to housing: its executor and department head are notified, roads is not."""
    incident = ingest("Третий день нет горячей воды на улице Ленина 5")
    [lead] = do_route(incident, actor=operator, lead=housing)
    return lead


@pytest.fixture
def returned(assignment, operator, executor) -> Assignment:
    """The same assignment, its information then returned for rework: a second notification to the department."""
    do_submit_information(assignment, actor=executor, text="Воду дадут к вечеру")
    do_return_for_rework(assignment, actor=operator, comment="Укажите точное время")
    return assignment


def mine(user) -> Notification:
    return Notification.objects.get(recipient=user, kind=NotificationKind.ASSIGNMENT_NEW)


# --- the list -----------------------------------------------------------------------------------------------


def test_it_lists_the_notification_of_a_new_assignment_to_the_executor(client_for, executor, assignment):
    response = client_for(executor).get(LIST)

    assert response.status_code == 200
    body = response.json()
    assert body["count"] == 1
    [note] = body["results"]
    assert list(note) == NOTIFICATION_KEYS
    assert note["id"] == mine(executor).pk
    assert note["kind"] == "assignment_new"
    assert str(assignment.incident_id) in note["title"]
    assert (note["incident"], note["assignment"]) == (assignment.incident_id, assignment.pk)
    assert note["url"] == f"/assignments/{assignment.pk}/"
    assert note["created_at"]
    assert note["read_at"] is None


def test_it_lists_only_the_user_s_own_notifications(
    client_for, executor, dept_head, executor_other, operator, assignment
):
    executor_ids = [n["id"] for n in client_for(executor).get(LIST).json()["results"]]
    dept_head_ids = [n["id"] for n in client_for(dept_head).get(LIST).json()["results"]]

    assert executor_ids == [mine(executor).pk]
    assert dept_head_ids == [mine(dept_head).pk]
    assert client_for(executor_other).get(LIST).json() == {"count": 0, "next": None, "previous": None, "results": []}
    assert client_for(operator).get(LIST).json()["count"] == 0


def test_it_lists_the_newest_first(client_for, executor, returned):
    kinds = [n["kind"] for n in client_for(executor).get(LIST).json()["results"]]

    assert kinds == ["assignment_rework", "assignment_new"]


def test_it_shows_the_rework_comment_in_the_notification(client_for, executor, returned):
    [rework] = [n for n in client_for(executor).get(LIST).json()["results"] if n["kind"] == "assignment_rework"]

    assert rework["body"] == "Укажите точное время"
    assert rework["assignment"] == returned.pk


def test_it_filters_by_unread(client_for, executor, returned):
    client = client_for(executor)
    first = mine(executor)
    client.post(read_url(first))

    unread = client.get(LIST, {"unread": "true"}).json()["results"]
    read = client.get(LIST, {"unread": "false"}).json()["results"]

    assert [n["kind"] for n in unread] == ["assignment_rework"]
    assert [n["id"] for n in read] == [first.pk]
    assert client.get(LIST, {"unread": ""}).json()["count"] == 2


def test_it_answers_400_naming_the_parameter_to_an_invalid_unread_value(client_for, executor, assignment):
    response = client_for(executor).get(LIST, {"unread": "maybe"})

    assert response.status_code == 400
    assert list(response.json()) == ["unread"]


def test_it_pages_the_list(client_for, executor, returned):
    body = client_for(executor).get(LIST, {"page_size": 1}).json()

    assert body["count"] == 2
    assert len(body["results"]) == 1
    assert body["next"]


# --- marking read -------------------------------------------------------------------------------------------


def test_it_marks_one_notification_read(client_for, executor, returned):
    client = client_for(executor)
    note = mine(executor)

    response = client.post(read_url(note))

    assert response.status_code == 200
    assert list(response.json()) == NOTIFICATION_KEYS
    assert response.json()["id"] == note.pk
    assert response.json()["read_at"]
    note.refresh_from_db()
    assert note.read_at is not None
    assert Notification.objects.filter(recipient=executor, read_at__isnull=True).count() == 1


def test_marking_read_again_changes_nothing(client_for, executor, assignment):
    client = client_for(executor)
    note = mine(executor)
    first = client.post(read_url(note)).json()["read_at"]
    note.refresh_from_db()
    read_at = note.read_at

    again = client.post(f"{read_url(note)}/")

    assert again.status_code == 200
    assert again.json()["read_at"] == first
    note.refresh_from_db()
    assert note.read_at == read_at


def test_it_answers_404_to_someone_else_s_notification(client_for, executor, dept_head, executor_other, assignment):
    note = mine(executor)

    assert client_for(executor_other).post(read_url(note)).status_code == 404
    assert client_for(dept_head).post(read_url(note)).status_code == 404  # the same department: still not his
    assert client_for(executor).post("/api/v1/notifications/999999/read").status_code == 404
    note.refresh_from_db()
    assert note.read_at is None


def test_it_marks_all_the_user_s_notifications_read_and_no_one_else_s(client_for, executor, dept_head, returned):
    client = client_for(executor)

    response = client.post(READ_ALL)

    assert response.status_code == 200
    assert response.json() == {"marked": 2}
    assert not Notification.objects.filter(recipient=executor, read_at__isnull=True).exists()
    assert Notification.objects.filter(recipient=dept_head, read_at__isnull=True).count() == 2
    assert client.post(f"{READ_ALL}/").json() == {"marked": 0}
    assert client.get(LIST, {"unread": "true"}).json()["count"] == 0


def test_marking_all_read_keeps_the_first_reading_time(client_for, executor, returned):
    client = client_for(executor)
    note = mine(executor)
    client.post(read_url(note))
    note.refresh_from_db()
    read_at = note.read_at

    assert client.post(READ_ALL).json() == {"marked": 1}

    note.refresh_from_db()
    assert note.read_at == read_at


def test_the_service_never_marks_another_user_s_notification(executor, executor_other, assignment):
    note = mine(executor)

    assert do_mark_read(executor_other, notification_ids=[note.pk]) == 0
    assert do_mark_read(executor_other) == 0

    note.refresh_from_db()
    assert note.read_at is None


# --- who may ------------------------------------------------------------------------------------------------


def test_the_director_may_read_and_mark_his_own_notifications(client_for, director):
    note = do_notify(
        [director], kind=NotificationKind.GENERIC, title="Отчёт за неделю готов", dedup_key="weekly-report:1"
    )[0]
    client = client_for(director)

    assert [n["id"] for n in client.get(LIST).json()["results"]] == [note.pk]
    assert client.post(read_url(note)).status_code == 200
    assert client.post(READ_ALL).json() == {"marked": 0}
    note.refresh_from_db()
    assert note.read_at is not None


def test_the_director_stays_read_only_elsewhere(client_for, director):
    incident = ingest()

    response = client_for(director).post(f"/api/v1/incidents/{incident.pk}/take")

    assert response.status_code == 403
    incident.refresh_from_db()
    assert incident.owner is None


@pytest.mark.parametrize(
    ("method", "url"), [("get", LIST), ("post", READ_ALL), ("post", "/api/v1/notifications/1/read")]
)
def test_it_requires_a_token(anon, method, url):
    assert getattr(anon, method)(url).status_code == 401


def test_it_answers_with_a_trailing_slash_too(client_for, executor, assignment):
    assert client_for(executor).get(f"{LIST}/").json()["count"] == 1


# --- the unread count in /auth/me ---------------------------------------------------------------------------


def test_me_counts_the_unread_notifications(client_for, executor, executor_other, returned):
    client = client_for(executor)

    assert client.get("/api/v1/auth/me").json()["unread_notifications"] == 2
    client.post(read_url(mine(executor)))
    assert client.get("/api/v1/auth/me").json()["unread_notifications"] == 1
    client.post(READ_ALL)
    assert client.get("/api/v1/auth/me").json()["unread_notifications"] == 0
    assert client_for(executor_other).get("/api/v1/auth/me").json()["unread_notifications"] == 0
