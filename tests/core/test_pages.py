"""The common frame: login, start page by role, notifications, the strict CSP, Russian error pages."""

from __future__ import annotations

import pytest

from otklik.cases.services import do_route
from tests.factories import PASSWORD, ingest

pytestmark = pytest.mark.django_db


def login(client, user):
    assert client.login(username=user.username, password=PASSWORD)
    return client


def test_an_anonymous_visitor_is_sent_to_the_login_page(client):
    response = client.get("/")
    assert response.status_code == 302 and response["Location"].startswith("/login/")
    page = client.get("/login/")
    assert page.status_code == 200
    assert "Войти" in page.content.decode()


def test_every_page_has_a_strict_content_security_policy(client):
    policy = client.get("/login/")["Content-Security-Policy"]
    assert "script-src 'self'" in policy
    assert "unsafe-inline" not in policy


def test_the_admin_gets_its_own_relaxed_policy(client, admin_user):
    login(client, admin_user)
    policy = client.get("/admin/")["Content-Security-Policy"]
    assert "unsafe-inline" in policy


def test_each_role_starts_where_its_work_is(client, operator, executor):
    assert login(client, operator).get("/")["Location"] == "/inbox/"
    client.logout()
    assert login(client, executor).get("/")["Location"] == "/assignments/"


def test_an_executor_sees_his_notifications_and_opening_one_marks_it_read(client, operator, executor, housing):
    incident = ingest()
    do_route(incident, actor=operator, lead=housing)
    login(client, executor)
    page = client.get("/notifications/")
    assert page.status_code == 200
    content = page.content.decode()
    assert f"№{incident.pk}" in content
    notification = executor.notifications.get()
    response = client.post(f"/notifications/{notification.pk}/open/")
    assert response.status_code == 302 and response["Location"] == notification.url
    notification.refresh_from_db()
    assert notification.read_at is not None


def test_someone_elses_notification_cannot_be_opened(client, operator, executor, executor_other, housing):
    do_route(ingest(), actor=operator, lead=housing)
    notification = executor.notifications.get()
    login(client, executor_other)
    client.post(f"/notifications/{notification.pk}/open/")
    notification.refresh_from_db()
    assert notification.read_at is None
