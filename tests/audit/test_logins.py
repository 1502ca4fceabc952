"""Logins, logouts and failed logins are recorded (the password tried never is)."""

from __future__ import annotations

from django.test import Client

from tests.factories import PASSWORD


def test_a_login_and_a_logout_are_recorded(operator, new_records):
    client = Client()
    response = client.post("/login/", {"username": "operator", "password": PASSWORD}, REMOTE_ADDR="198.51.100.4")
    assert response.status_code == 302
    client.post("/logout/")
    records = new_records()
    assert [(r.action, r.username, r.user_id) for r in records] == [
        ("login", "operator", operator.pk),
        ("logout", "operator", operator.pk),
    ]
    assert records[0].ip == "198.51.100.4"
    # The last_login stamp of the login is bookkeeping, not a change.
    assert not [r for r in records if r.action == "update"]


def test_a_failed_login_is_recorded_with_the_login_tried_and_without_the_password(operator, new_records):
    response = Client().post("/login/", {"username": "operator", "password": "wrong-guess"}, REMOTE_ADDR="203.0.113.9")
    assert response.status_code == 200
    failures = [r for r in new_records() if r.action == "login_failed"]
    assert len(failures) == 1
    entry = failures[0]
    assert entry.user is None and entry.username == "operator" and entry.ip == "203.0.113.9"
    assert "wrong-guess" not in str(entry.changes) + entry.note + entry.path
