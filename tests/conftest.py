"""Shared fixtures: personas, reference data, fast settings.

Personas (all share the demo password): `operator`, `head`, `director`, `admin_user`, `executor` (housing
department), `dept_head` (housing department), `executor_other` (roads department, "another department").
Celery runs eagerly here; a test that needs the work done after commit wraps the call in
`django_capture_on_commit_callbacks(execute=True)`. Integration tests start a real worker instead.
"""

from __future__ import annotations

import os

os.environ.setdefault("OTKLIK_FAST_TESTS", "1")

import pytest  # noqa: E402
from django.core.management import call_command  # noqa: E402

from otklik.celery import app as celery_app  # noqa: E402
from tests import factories  # noqa: E402

celery_app.conf.task_always_eager = True
celery_app.conf.task_eager_propagates = True


@pytest.fixture(autouse=True)
def _fast_settings(settings, tmp_path):
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
    settings.MAILERS = {"default": {"BACKEND": "django.core.mail.backends.locmem.EmailBackend"}}
    settings.MEDIA_ROOT = tmp_path / "media"
    settings.LANGUAGE_CODE = "ru"
    # Many tests log in and then travel days ahead with time-machine: the production session age (12 h, checked in
    # tests/ops/test_deploy_check.py) would log them out on the way.
    settings.SESSION_COOKIE_AGE = 10 * 365 * 24 * 3600


@pytest.fixture(autouse=True)
def _fresh_caches(request, monkeypatch):
    """Per-process caches of database rows (the calendar, the deadline policies) start empty in every test: a
    rolled-back test would leave them stale. A test without the database uses the built-in calendar."""
    from otklik.core import worktime
    from otklik.sla.clocks import reset_policies

    worktime.reset_calendar()
    reset_policies()
    from otklik.nlp.gazetteer import reset_cache as reset_gazetteer

    reset_gazetteer()
    from otklik.core.rowcache import reset_all

    reset_all()
    uses_db = request.node.get_closest_marker("django_db") is not None or bool(
        {"db", "transactional_db", "django_db_setup"} & set(request.fixturenames)
    )
    if not uses_db:
        monkeypatch.setattr(worktime, "_load_calendar", worktime.default_calendar)


@pytest.fixture
def reference(db):
    """The IM rubricator (topics and groups) as shipped with the product."""
    call_command("load_reference", verbosity=0)


@pytest.fixture
def housing(db):
    return factories.make_department("Департамент ЖКХ", short_name="ЖКХ", email="zhkh@example.org")


@pytest.fixture
def roads(db):
    return factories.make_department("Управление дорог и благоустройства", short_name="Дороги")


@pytest.fixture
def operator(db):
    return factories.make_user("operator", role="operator", email="operator@example.org")


@pytest.fixture
def operator2(db):
    return factories.make_user("operator2", role="operator")


@pytest.fixture
def head(db):
    return factories.make_user("head", role="head", email="head@example.org")


@pytest.fixture
def director(db):
    return factories.make_user("director", role="director")


@pytest.fixture
def admin_user(db):
    return factories.make_user("admin", role="admin", is_staff=True, is_superuser=True)


@pytest.fixture
def executor(housing):
    return factories.make_user("executor", role="executor", department=housing, email="executor@example.org")


@pytest.fixture
def dept_head(housing):
    return factories.make_user("dept_head", role="dept_head", department=housing, email="depthead@example.org")


@pytest.fixture
def executor_other(roads):
    return factories.make_user("executor_roads", role="executor", department=roads, email="roads@example.org")
