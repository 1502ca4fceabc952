"""The frame in a real browser: login, the CSP lets our own scripts run and blocks nothing of ours."""

from __future__ import annotations

import pytest

pytestmark = pytest.mark.django_db(transaction=True)


def test_an_operator_logs_in_and_the_page_has_no_console_errors(page, live_server, login_as, operator):
    login_as(operator)
    assert "/login/" not in page.url
    assert page.locator("nav form[action='/logout/'] button").is_visible()
    csp_errors = [e for e in page.console_errors if "Content Security Policy" in e or "Refused" in e]
    assert csp_errors == []
