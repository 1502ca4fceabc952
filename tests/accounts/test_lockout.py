"""Login throttling: failed logins are counted in the database per username and address; too many lock the login."""

from __future__ import annotations

import datetime as dt

import pytest
import time_machine
from django.test import Client
from django.utils import timezone

from otklik.accounts.models import Lockout, LoginFailure
from tests.factories import PASSWORD

pytestmark = pytest.mark.django_db

ATTACKER = "203.0.113.7"
OFFICE = "198.51.100.20"


def attempt(client: Client, username: str, password: str, ip: str = ATTACKER, **extra: str):
    return client.post("/login/", {"username": username, "password": password}, REMOTE_ADDR=ip, **extra)


def error_codes(response) -> list[str]:
    form = response.context["form"]
    return [error.code for error in form.non_field_errors().as_data()]


def logged_in(client: Client) -> bool:
    return "_auth_user_id" in client.session


@pytest.fixture
def limits(settings):
    settings.OTKLIK_LOGIN_MAX_FAILURES = 5
    settings.OTKLIK_LOGIN_MAX_FAILURES_PER_IP = 30
    settings.OTKLIK_LOGIN_MAX_FAILURES_PER_USER = 30
    settings.OTKLIK_LOGIN_FAILURE_WINDOW_MINUTES = 15
    settings.OTKLIK_LOGIN_LOCKOUT_MINUTES = 15
    settings.OTKLIK_TRUSTED_PROXY_COUNT = 0
    return settings


def test_five_wrong_passwords_lock_the_username_from_that_address_even_for_the_right_password(client, operator, limits):
    for _ in range(4):
        response = attempt(client, "operator", "wrong")
        assert response.status_code == 200
        assert error_codes(response) == ["invalid_login"]
    fifth = attempt(client, "operator", "wrong")
    assert error_codes(fifth) == ["locked"]  # the lock is announced at once

    right = attempt(client, "operator", PASSWORD)

    assert right.status_code == 200
    assert error_codes(right) == ["locked"]
    assert not logged_in(client)
    lock = Lockout.objects.get()
    assert (lock.username, lock.ip, lock.failures) == ("operator", ATTACKER, 5)
    assert lock.locked_until - lock.created_at == dt.timedelta(minutes=15)
    # The page says until when (the city's time).
    assert timezone.localtime(lock.locked_until).strftime("%H:%M") in right.content.decode()


def test_attempts_during_a_lock_are_not_checked_and_do_not_extend_it(client, operator, limits):
    for _ in range(5):
        attempt(client, "operator", "wrong")
    lock = Lockout.objects.get()
    for _ in range(10):
        attempt(client, "operator", "wrong")
    assert LoginFailure.objects.count() == 5
    assert Lockout.objects.get().locked_until == lock.locked_until


def test_the_same_user_from_another_address_still_logs_in(client, operator, limits):
    for _ in range(5):
        attempt(client, "operator", "wrong")

    response = attempt(Client(), "operator", PASSWORD, ip=OFFICE)

    assert response.status_code == 302


def test_the_username_is_counted_whatever_its_case(client, operator, limits):
    for name in ["operator", "Operator", "OPERATOR", "operator ", "OpErAtOr"]:
        attempt(client, name, "wrong")
    assert error_codes(attempt(client, "operator", PASSWORD)) == ["locked"]


def test_a_successful_login_forgets_the_failures(client, operator, limits):
    for _ in range(4):
        attempt(client, "operator", "wrong")
    assert attempt(client, "operator", PASSWORD).status_code == 302
    client.logout()
    for _ in range(4):
        attempt(client, "operator", "wrong")

    assert attempt(client, "operator", PASSWORD).status_code == 302
    assert not Lockout.objects.exists()


def test_the_lock_ends_after_its_minutes_and_old_failures_do_not_count(client, operator, limits):
    start = timezone.now()
    with time_machine.travel(start, tick=False):
        for _ in range(5):
            attempt(client, "operator", "wrong")
    with time_machine.travel(start + dt.timedelta(minutes=14), tick=False):
        assert error_codes(attempt(client, "operator", PASSWORD)) == ["locked"]
    with time_machine.travel(start + dt.timedelta(minutes=16), tick=False):
        # The lock is over; the 5 failures before it are out of the window.
        assert error_codes(attempt(client, "operator", "wrong")) == ["invalid_login"]
        assert attempt(client, "operator", PASSWORD).status_code == 302


def test_after_a_lock_ends_the_failures_that_caused_it_no_longer_count(client, operator, limits):
    limits.OTKLIK_LOGIN_FAILURE_WINDOW_MINUTES = 60  # longer than the lock
    start = timezone.now()
    with time_machine.travel(start, tick=False):
        for _ in range(5):
            attempt(client, "operator", "wrong")
    with time_machine.travel(start + dt.timedelta(minutes=16), tick=False):
        for _ in range(4):
            assert error_codes(attempt(client, "operator", "wrong")) == ["invalid_login"]
        assert error_codes(attempt(client, "operator", "wrong")) == ["locked"]  # five new ones lock again
    assert Lockout.objects.count() == 2


def test_failures_spread_beyond_the_window_do_not_lock(client, operator, limits):
    start = timezone.now()
    for i in range(8):
        with time_machine.travel(start + dt.timedelta(minutes=4 * i), tick=False):
            attempt(client, "operator", "wrong")
    assert not Lockout.objects.exists()  # never 5 within 15 minutes


def test_one_address_guessing_many_usernames_is_locked_for_every_username(client, operator, limits):
    limits.OTKLIK_LOGIN_MAX_FAILURES_PER_IP = 6
    for i in range(6):
        attempt(client, f"user{i}", "wrong")

    assert error_codes(attempt(client, "operator", PASSWORD)) == ["locked"]
    lock = Lockout.objects.get()
    assert (lock.username, lock.ip) == ("", ATTACKER)
    assert attempt(Client(), "operator", PASSWORD, ip=OFFICE).status_code == 302


def test_many_addresses_guessing_one_username_lock_the_username(client, operator, limits):
    limits.OTKLIK_LOGIN_MAX_FAILURES_PER_USER = 6
    for i in range(6):
        attempt(client, "operator", "wrong", ip=f"192.0.2.{i + 1}")

    assert error_codes(attempt(Client(), "operator", PASSWORD, ip=OFFICE)) == ["locked"]
    assert Lockout.objects.filter(username="operator", ip="").exists()


def test_x_forwarded_for_is_ignored_without_a_trusted_proxy(client, operator, limits):
    for i in range(5):
        attempt(client, "operator", "wrong", HTTP_X_FORWARDED_FOR=f"192.0.2.{i}")
    assert Lockout.objects.get().ip == ATTACKER
    assert error_codes(attempt(client, "operator", PASSWORD, HTTP_X_FORWARDED_FOR="192.0.2.99")) == ["locked"]


def test_behind_a_trusted_proxy_the_address_it_saw_counts_not_what_the_client_claims(client, operator, limits):
    limits.OTKLIK_TRUSTED_PROXY_COUNT = 1
    proxy = "127.0.0.1"
    for i in range(5):
        # The client forges the left part; nginx appends the address it saw.
        attempt(client, "operator", "wrong", ip=proxy, HTTP_X_FORWARDED_FOR=f"10.9.9.{i}, {ATTACKER}")
    lock = Lockout.objects.get()
    assert lock.ip == ATTACKER
    # Another citizen behind the same proxy is not locked.
    assert attempt(Client(), "operator", PASSWORD, ip=proxy, HTTP_X_FORWARDED_FOR=OFFICE).status_code == 302


def test_a_lockout_is_shared_by_every_web_process_through_the_database(client, operator, limits):
    """Another gunicorn process has its own memory but the same database: a lock written there refuses here."""
    Lockout.objects.create(
        username="operator", ip=ATTACKER, failures=5, locked_until=timezone.now() + dt.timedelta(minutes=15)
    )
    assert error_codes(attempt(client, "operator", PASSWORD)) == ["locked"]


def test_an_administrator_sees_the_lockouts_and_unlocks_one(client, operator, admin_user, limits):
    for _ in range(5):
        attempt(client, "operator", "wrong")
    lock = Lockout.objects.get()
    admin = Client()
    admin.force_login(admin_user)

    listing = admin.get("/admin/accounts/lockout/")
    assert listing.status_code == 200
    assert ATTACKER in listing.content.decode()
    response = admin.post("/admin/accounts/lockout/", {"action": "unlock", "_selected_action": [lock.pk]}, follow=True)

    assert response.status_code == 200
    lock.refresh_from_db()
    assert lock.cleared_at is not None and lock.cleared_by == admin_user and not lock.is_active
    assert not LoginFailure.objects.filter(username="operator").exists()
    assert attempt(client, "operator", PASSWORD).status_code == 302


@pytest.mark.parametrize("persona", ["operator", "head"])
def test_only_an_administrator_sees_the_lockouts(request, client, persona):
    client.force_login(request.getfixturevalue(persona))
    assert client.get("/admin/accounts/lockout/").status_code in (302, 403)


def test_the_admin_login_page_is_throttled_too(client, admin_user, limits):
    for _ in range(5):
        response = client.post(
            "/admin/login/?next=/admin/", {"username": admin_user.username, "password": "wrong"}, REMOTE_ADDR=ATTACKER
        )
    response = client.post(
        "/admin/login/?next=/admin/", {"username": admin_user.username, "password": PASSWORD}, REMOTE_ADDR=ATTACKER
    )
    assert response.status_code == 200
    assert error_codes(response) == ["locked"]
    assert not logged_in(client)


def test_old_failures_are_deleted(client, operator, limits):
    with time_machine.travel(timezone.now() - dt.timedelta(days=2), tick=False):
        attempt(client, "someone", "wrong")
    attempt(client, "operator", "wrong")
    assert list(LoginFailure.objects.values_list("username", flat=True)) == ["operator"]
