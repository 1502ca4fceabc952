"""CSRF everywhere: every URL of the project refuses an unsafe request (POST, PUT, PATCH, DELETE) made with the
session cookie but without the CSRF token — the pages, the Django admin and the API used from the browser.

The URL patterns are enumerated from the resolver, so a page added later is covered without touching this test.
Only requests authenticated by an API token (a header the browser never sends by itself) need no CSRF token.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from django.http import HttpRequest, HttpResponse
from django.test import Client
from django.urls import URLPattern, URLResolver, get_resolver, resolve
from django.urls.exceptions import Resolver404
from django.urls.resolvers import RegexPattern, RoutePattern
from django.utils.regex_helper import normalize
from knox.models import AuthToken
from rest_framework.authentication import SessionAuthentication
from rest_framework.exceptions import PermissionDenied

# CSRF does not depend on the database: the SQLite pass runs this sweep, the PostgreSQL pass skips it.
pytestmark = [pytest.mark.django_db, pytest.mark.once]

UNSAFE_METHODS = ("post", "put", "patch", "delete")
# Reviewed exemptions: views that change nothing and answer the same to anyone, so a forged request gains nothing.
# Each is asserted to answer what it says for every unsafe method.
EXEMPT_BY_DESIGN = {
    # Any other path under /api/: the API's JSON 404 (an API client without cookies must not get a CSRF page).
    "otklik.api.views.not_found": 404,
}
MARKER = "X-Test-Csrf-Rejected"
# Sample values for path converters: any value that resolves; the view never runs (the CSRF check comes first).
SAMPLE = {"int": "1", "str": "x", "slug": "x", "path": "x", "uuid": "00000000-0000-0000-0000-000000000001"}


def csrf_rejected(request: HttpRequest, reason: str = "") -> HttpResponse:
    """CSRF_FAILURE_VIEW for these tests: a 403 that says it was the CSRF check (not a permission)."""
    response = HttpResponse(status=403)
    response[MARKER] = reason or "rejected"
    return response


def _pattern_to_path(pattern: Any) -> str:
    if isinstance(pattern, RoutePattern):
        route = str(pattern._route)
        for name, converter in pattern.converters.items():
            kind = {
                "IntConverter": "int",
                "StringConverter": "str",
                "SlugConverter": "slug",
                "PathConverter": "path",
                "UUIDConverter": "uuid",
            }.get(type(converter).__name__, "str")
            route = route.replace(f"<{kind}:{name}>", SAMPLE[kind]).replace(f"<{name}>", SAMPLE[kind])
        # A converter of our own: whatever it is named, take its regex's simplest match.
        assert "<" not in route, f"unknown converter in {route}"
        return route
    assert isinstance(pattern, RegexPattern)
    format_string, params = normalize(pattern._regex)[0]
    return format_string % {param: "1" for param in params}


def every_url() -> Iterator[tuple[str, Any]]:
    """(a concrete path, the view) for every URL pattern of the project."""

    def walk(patterns: list[Any], prefix: str) -> Iterator[tuple[str, Any]]:
        for entry in patterns:
            part = prefix + _pattern_to_path(entry.pattern)
            if isinstance(entry, URLResolver):
                yield from walk(entry.url_patterns, part)
            elif isinstance(entry, URLPattern):
                yield "/" + part, entry.callback

    seen: set[str] = set()
    for path, callback in walk(get_resolver().url_patterns, ""):
        if path not in seen:
            seen.add(path)
            yield path, callback


URLS = sorted(every_url())


DRF_REJECTED: list[str] = []


def is_csrf_rejection(response: HttpResponse) -> bool:
    """A 403 from Django's CSRF check (the marker of CSRF_FAILURE_VIEW) or from DRF's (recorded by the fixture:
    the schema and docs views render their errors as YAML or HTML, so the body alone cannot say)."""
    if response.status_code != 403:
        return False
    return response.has_header(MARKER) or response.wsgi_request.path in DRF_REJECTED


@pytest.fixture
def browser_session(settings, monkeypatch, admin_user) -> Client:
    """A logged-in administrator (sees every page) whose client enforces CSRF checks like a browser."""
    settings.CSRF_FAILURE_VIEW = "tests.core.test_csrf.csrf_rejected"
    original = SessionAuthentication.enforce_csrf

    def recording(self: SessionAuthentication, request: Any) -> None:
        try:
            original(self, request)
        except PermissionDenied:
            DRF_REJECTED.append(request.path)
            raise

    monkeypatch.setattr(SessionAuthentication, "enforce_csrf", recording)
    DRF_REJECTED.clear()
    client = Client(enforce_csrf_checks=True)
    client.force_login(admin_user)
    return client


def test_the_enumeration_finds_the_urls_and_each_resolves():
    paths = [path for path, _view in URLS]
    assert len(paths) > 100
    for must in ["/login/", "/logout/", "/inbox/", "/admin/", "/api/v1/posts", "/settings/users/new/"]:
        assert any(p.rstrip("/") == must.rstrip("/") for p in paths), must
    unresolved = []
    for path in paths:
        try:
            resolve(path)
        except Resolver404:
            unresolved.append(path)
    assert unresolved == []


def view_name(view: Any) -> str:
    return f"{view.__module__}.{getattr(view, '__qualname__', view.__class__.__name__)}"


def test_no_view_is_csrf_exempt_but_the_apis_and_the_reviewed_ones():
    """DRF's views are exempted by DRF and checked by its SessionAuthentication instead (see below)."""
    exempt = [
        f"{path} {view_name(view)}"
        for path, view in URLS
        if getattr(view, "csrf_exempt", False) and not hasattr(view, "cls") and view_name(view) not in EXEMPT_BY_DESIGN
    ]
    assert exempt == []


@pytest.mark.parametrize("method", UNSAFE_METHODS)
def test_every_url_refuses_an_unsafe_request_without_the_csrf_token(browser_session, method):
    accepted = []
    for path, view in URLS:
        response = getattr(browser_session, method)(path)
        expected = EXEMPT_BY_DESIGN.get(view_name(view))
        if expected is not None:
            if response.status_code != expected:
                accepted.append(f"{method.upper()} {path} → {response.status_code} (exempt, expected {expected})")
        elif not is_csrf_rejection(response):
            accepted.append(f"{method.upper()} {path} → {response.status_code}")
    assert accepted == []


def test_the_same_form_with_the_token_passes_the_csrf_check(browser_session):
    """The refusals above come from the CSRF check (the marker), and the token is all a form needs."""
    browser_session.get("/settings/users/new/")  # a form: sets the CSRF cookie
    token = browser_session.cookies["csrftoken"].value
    without = browser_session.post("/settings/users/new/", {"username": ""})
    with_token = browser_session.post("/settings/users/new/", {"username": "", "csrfmiddlewaretoken": token})
    assert is_csrf_rejection(without)
    assert with_token.status_code == 200 and not is_csrf_rejection(with_token)  # the form, with its errors
    api = browser_session.post("/api/v1/auth/me", HTTP_X_CSRFTOKEN=token)
    assert not is_csrf_rejection(api)  # a 405: GET only, but past the CSRF check


def test_the_logout_page_needs_the_token(browser_session):
    response = browser_session.post("/logout/")
    assert is_csrf_rejection(response)
    assert browser_session.get("/inbox/").status_code == 200  # still logged in


def test_the_api_from_the_browser_session_needs_the_token(browser_session, operator):
    response = browser_session.post("/api/v1/posts", {"text": "x"}, content_type="application/json")
    assert response.status_code == 403
    assert is_csrf_rejection(response)


def test_the_api_with_a_token_needs_no_csrf_token(operator):
    """Token auth is a header a foreign site cannot make the browser send: CSRF cannot ride on it."""
    _instance, key = AuthToken.objects.create(user=operator)
    client = Client(enforce_csrf_checks=True)
    response = client.post("/api/v1/auth/logout", HTTP_AUTHORIZATION=f"Token {key}")
    assert response.status_code == 204
    assert not AuthToken.objects.filter(user=operator).exists()
