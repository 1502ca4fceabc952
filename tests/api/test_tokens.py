"""API tokens: made by `create_api_token`, stored hashed, revocable; a session works too."""

from __future__ import annotations

from io import StringIO

import pytest
from django.core.management import CommandError, call_command
from knox.crypto import hash_token
from knox.models import AuthToken
from rest_framework.test import APIClient

from tests.factories import PASSWORD

pytestmark = pytest.mark.django_db

ME = "/api/v1/auth/me"


def create_token(*args: str) -> tuple[str, str]:
    out, err = StringIO(), StringIO()
    call_command("create_api_token", *args, stdout=out, stderr=err)
    return out.getvalue(), err.getvalue()


def with_token(key: str) -> APIClient:
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {key}")
    return client


def test_it_prints_the_new_token_alone_on_the_last_line(operator):
    output, _err = create_token("operator")

    key = output.strip().splitlines()[-1]
    assert key.strip() == key
    assert len(key) == 64
    response = with_token(key).get(ME)
    assert response.status_code == 200
    assert response.json() == {
        "username": "operator",
        "role": "operator",
        "department": None,
        "unread_notifications": 0,
    }


def test_it_stores_only_a_hash_of_the_token(operator):
    output, _err = create_token("operator")
    key = output.strip().splitlines()[-1]

    row = AuthToken.objects.values().get()
    assert key not in {str(value) for value in row.values()}
    assert row["digest"] == hash_token(key)


def test_it_refuses_an_unknown_user(db):
    with pytest.raises(CommandError):
        create_token("nobody")


def test_it_refuses_an_inactive_user(operator):
    operator.is_active = False
    operator.save(update_fields=["is_active"])

    with pytest.raises(CommandError):
        create_token("operator")


def test_it_revokes_the_old_tokens_with_revoke_all(operator):
    old_key = create_token("operator")[0].strip().splitlines()[-1]
    new_key = create_token("operator", "--revoke-all")[0].strip().splitlines()[-1]

    assert with_token(old_key).get(ME).status_code == 401
    assert with_token(new_key).get(ME).status_code == 200
    assert AuthToken.objects.count() == 1


def test_it_warns_that_a_department_user_cannot_send_posts(executor):
    output, err = create_token("executor")

    assert err.strip()
    assert with_token(output.strip().splitlines()[-1]).get(ME).json()["department"]["id"] == executor.department_id


def test_it_revokes_the_current_token_on_logout(operator):
    first = create_token("operator")[0].strip().splitlines()[-1]
    second = create_token("operator")[0].strip().splitlines()[-1]

    response = with_token(first).post("/api/v1/auth/logout")

    assert response.status_code == 204
    assert with_token(first).get(ME).status_code == 401
    assert with_token(second).get(ME).status_code == 200


def test_it_revokes_all_tokens_on_logout_all(operator):
    first = create_token("operator")[0].strip().splitlines()[-1]
    second = create_token("operator")[0].strip().splitlines()[-1]

    assert with_token(first).post("/api/v1/auth/logout-all/").status_code == 204

    assert with_token(first).get(ME).status_code == 401
    assert with_token(second).get(ME).status_code == 401


def test_it_lets_the_director_log_out(director):
    key = create_token("director")[0].strip().splitlines()[-1]

    assert with_token(key).post("/api/v1/auth/logout").status_code == 204


def test_it_answers_401_with_json_to_a_wrong_token(operator):
    create_token("operator")

    response = with_token("0" * 64).get("/api/v1/incidents")

    assert response.status_code == 401
    assert "detail" in response.json()


def test_it_answers_401_to_a_token_of_a_deactivated_user(operator):
    key = create_token("operator")[0].strip().splitlines()[-1]
    operator.is_active = False
    operator.save(update_fields=["is_active"])

    assert with_token(key).get(ME).status_code == 401


def test_it_accepts_the_session_of_the_ui(operator):
    client = APIClient()
    assert client.login(username="operator", password=PASSWORD)

    assert client.get(ME).json()["username"] == "operator"


def test_it_requires_the_csrf_token_for_writes_in_a_session(operator):
    client = APIClient(enforce_csrf_checks=True)
    client.login(username="operator", password=PASSWORD)

    response = client.post("/api/v1/posts", {}, format="json")

    assert response.status_code == 403


def test_it_ends_the_session_on_logout(operator):
    client = APIClient()
    client.login(username="operator", password=PASSWORD)

    assert client.post("/api/v1/auth/logout/").status_code == 204

    assert client.get(ME).status_code == 401
