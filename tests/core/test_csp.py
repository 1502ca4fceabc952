"""The Content-Security-Policy: strict on every page of the product (no inline scripts, no eval), relaxed only for
the Django admin and Swagger UI; and the templates carry nothing a strict policy would block or that would run code
from markup: no inline <script> bodies, no on* event handlers, no javascript: URLs, no hx-on (htmx would eval it)."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from django.conf import settings

from otklik.answers.services import do_draft_answer
from otklik.cases.models import Assignment
from otklik.cases.services import do_route
from tests.factories import ingest

ROOT = Path(settings.BASE_DIR)


def directives(header: str) -> dict[str, list[str]]:
    policy: dict[str, list[str]] = {}
    for part in header.split(";"):
        words = part.split()
        if words:
            policy[words[0].lower()] = words[1:]
    return policy


def script_sources(header: str) -> list[str]:
    policy = directives(header)
    return policy.get("script-src", policy.get("default-src", []))


@pytest.fixture
def pages(operator, housing):
    incident = ingest("Нет горячей воды на улице Ленина 5", author_name="Иван", url="https://vk.com/wall-1_1")
    do_route(incident, actor=operator, lead=housing)
    do_draft_answer(incident, actor=operator, kind="primary", text="Здравствуйте! Проверим до 5 декабря.")
    assignment = Assignment.objects.get(incident=incident)
    return {
        "operator": ["/inbox/", f"/incidents/{incident.pk}/", "/dashboard/", "/settings/users/", "/notifications/"],
        "executor": ["/assignments/", f"/assignments/{assignment.pk}/"],
    }


@pytest.mark.django_db
def test_the_login_page_has_a_strict_policy(client):
    response = client.get("/login/")
    header = response["Content-Security-Policy"]
    assert script_sources(header) == ["'self'"]


@pytest.mark.django_db
@pytest.mark.parametrize("persona", ["operator", "executor"])
def test_every_main_page_has_a_strict_policy_without_inline_scripts(request, client, pages, persona):
    client.force_login(request.getfixturevalue(persona if persona != "operator" else "head"))
    for path in pages[persona]:
        response = client.get(path)
        assert response.status_code == 200, path
        header = response.get("Content-Security-Policy", "")
        policy = directives(header)
        assert script_sources(header) == ["'self'"], path
        assert "'unsafe-inline'" not in policy.get("style-src", []), path
        assert policy.get("object-src") == ["'none'"], path
        assert policy.get("frame-ancestors") == ["'none'"], path
        assert policy.get("base-uri") == ["'self'"], path
        # What the browser gets: no inline script element in the page either.
        assert INLINE_SCRIPT.search(response.content.decode()) is None, path


@pytest.mark.django_db
def test_the_api_answers_carry_the_policy_too(client, operator):
    client.force_login(operator)
    response = client.get("/api/v1/auth/me")
    assert script_sources(response["Content-Security-Policy"]) == ["'self'"]


@pytest.mark.django_db
def test_only_the_admin_and_swagger_get_the_relaxed_policy(client, admin_user):
    client.force_login(admin_user)
    for path in ["/admin/", "/api/docs/"]:
        assert "'unsafe-inline'" in script_sources(client.get(path)["Content-Security-Policy"]), path
    # A path that merely starts like them is not relaxed.
    assert "'unsafe-inline'" not in script_sources(client.get("/administrator/")["Content-Security-Policy"])


# --- the static scan of the templates --------------------------------------------------------------------------

# A <script> element with content, or without a src attribute (an inline script, maybe filled by a template).
INLINE_SCRIPT = re.compile(r"<script\b(?![^>]*\bsrc\s*=)[^>]*>|<script\b[^>]*>\s*[^<\s]", re.IGNORECASE)
# onclick=, onerror=, … as an HTML attribute (not a word inside text: preceded by whitespace inside a tag).
EVENT_HANDLER = re.compile(r"<[a-zA-Z][^>]*\son[a-z]+\s*=", re.IGNORECASE | re.DOTALL)
JAVASCRIPT_URL = re.compile(r"javascript\s*:", re.IGNORECASE)
HX_ON = re.compile(r"\shx-on(?::|-)", re.IGNORECASE)
# The Django admin's overrides live under templates/admin/ and are served with the relaxed policy.
EXEMPT_DIRS = ("templates/admin/",)


def template_files() -> list[Path]:
    files = list((ROOT / "templates").rglob("*.html"))
    files += [p for p in (ROOT / "otklik").rglob("*.html") if "templates" in p.parts]
    return sorted(f for f in files if not str(f.relative_to(ROOT)).startswith(EXEMPT_DIRS))


def offenders(pattern: re.Pattern[str]) -> list[str]:
    found = []
    for path in template_files():
        text = path.read_text(encoding="utf-8")
        for match in pattern.finditer(text):
            line = text.count("\n", 0, match.start()) + 1
            found.append(f"{path.relative_to(ROOT)}:{line}: {match.group(0)[:80]!r}")
    return found


def test_the_scan_sees_the_templates():
    names = {str(p.relative_to(ROOT)) for p in template_files()}
    assert "templates/base.html" in names
    assert "templates/cases/card.html" in names
    assert len(names) > 50


@pytest.mark.parametrize(
    ("pattern", "bad", "good"),
    [
        (INLINE_SCRIPT, "<script>alert(1)</script>", '<script src="/static/a.js" defer></script>'),
        (INLINE_SCRIPT, '<script type="module">import x</script>', "<p>script</p>"),
        (EVENT_HANDLER, '<img src="x" onerror="alert(1)">', "<p>Call us on Monday</p>"),
        (EVENT_HANDLER, '<button\n  class="btn" onClick = "go()">', '<a class="on-call" href="/">'),
        (JAVASCRIPT_URL, '<a href="javascript:alert(1)">', '<a href="https://example.org/">'),
        (HX_ON, '<form hx-on::after-request="this.reset()">', '<form hx-post="/x">'),
    ],
)
def test_the_scan_would_catch_an_offender(pattern, bad, good):
    assert pattern.search(bad) is not None
    assert pattern.search(good) is None


def test_no_template_has_an_inline_script():
    assert offenders(INLINE_SCRIPT) == []


def test_no_template_has_an_event_handler_attribute():
    assert offenders(EVENT_HANDLER) == []


def test_no_template_has_a_javascript_url():
    assert offenders(JAVASCRIPT_URL) == []


def test_no_template_has_hx_on_code():
    assert offenders(HX_ON) == []
