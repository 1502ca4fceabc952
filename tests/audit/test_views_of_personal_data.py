"""Every successful GET of a page or endpoint showing personal data leaves one record: who, what, when, from where."""

from __future__ import annotations

from django.urls import URLPattern, URLResolver, get_resolver

from otklik.audit.views_registry import PERSONAL_DATA_VIEWS
from tests.factories import ingest


def _url_names(resolver: URLResolver, namespace: str = "") -> set[str]:
    names: set[str] = set()
    for pattern in resolver.url_patterns:
        if isinstance(pattern, URLResolver):
            inner = f"{namespace}{pattern.namespace}:" if pattern.namespace else namespace
            names |= _url_names(pattern, inner)
        elif isinstance(pattern, URLPattern) and pattern.name:
            names.add(f"{namespace}{pattern.name}")
    return names


def test_every_listed_view_is_a_url_name_of_the_project():
    names = _url_names(get_resolver())
    missing = sorted(set(PERSONAL_DATA_VIEWS) - names)
    assert missing == [], f"not URL names (renamed or removed?): {missing}"


def test_the_listed_views_name_real_models():
    from django.apps import apps

    for name, spec in PERSONAL_DATA_VIEWS.items():
        assert apps.get_model(spec.object_type), name


def test_opening_an_incident_card_is_recorded_once_with_the_incident(login, operator, new_records):
    incident = ingest("Нет воды", author_name="Петров Пётр")
    client = login(operator)
    new_records()
    response = client.get(f"/incidents/{incident.pk}/", REMOTE_ADDR="192.0.2.7")
    assert response.status_code == 200
    assert "Петров Пётр" in response.content.decode()
    records = new_records()
    assert [(r.action, r.object_type, r.object_id) for r in records] == [("view", "cases.incident", str(incident.pk))]
    view = records[0]
    assert view.username == "operator" and view.role == "operator" and view.ip == "192.0.2.7"
    assert view.method == "GET" and view.path == f"/incidents/{incident.pk}/" and view.note == "incident-card"
    assert response["X-Request-ID"] == view.request_id


def test_a_page_without_personal_data_is_not_recorded(login, operator, new_records):
    client = login(operator)
    new_records()
    assert client.get("/kb/").status_code == 200
    assert new_records() == []


def test_a_refused_or_missing_page_is_not_a_view(login, executor_other, operator, new_records):
    incident = ingest("Нет воды")
    client = login(executor_other)
    new_records()
    assert client.get(f"/incidents/{incident.pk}/").status_code in (403, 404)
    assert login(operator).get("/incidents/999999/").status_code == 404
    assert [r for r in new_records() if r.action == "view"] == []


def test_an_xlsx_export_of_the_inbox_is_recorded_as_an_export_with_its_filters(login, operator, new_records):
    ingest("Нет воды")
    client = login(operator)
    new_records()
    response = client.get("/inbox/?q=воды&format=xlsx")
    assert response.status_code == 200
    b"".join(response.streaming_content) if response.streaming else response.content
    [entry] = new_records()
    assert entry.action == "export" and entry.object_type == "cases.incident" and entry.object_id == ""
    assert entry.path.startswith("/inbox/?q=") and "format=xlsx" in entry.path


def test_the_api_incident_detail_is_recorded_for_the_tokens_user(client_for, operator, new_records):
    incident = ingest("Нет воды")
    client = client_for(operator)
    new_records()
    assert client.get(f"/api/v1/incidents/{incident.pk}").status_code == 200
    [entry] = new_records()
    assert (entry.action, entry.object_id, entry.username, entry.origin) == (
        "view",
        str(incident.pk),
        "operator",
        "api",
    )


def test_one_insert_per_request_for_a_view(login, operator, django_assert_max_num_queries):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    incident = ingest("Нет воды")
    client = login(operator)
    with CaptureQueriesContext(connection) as captured:
        client.get(f"/incidents/{incident.pk}/")
    inserts = [q["sql"] for q in captured.captured_queries if "audit_auditrecord" in q["sql"]]
    assert len(inserts) == 1 and inserts[0].startswith("INSERT")


def test_a_view_that_cannot_be_recorded_is_not_shown(login, operator, monkeypatch):
    """Fail closed: no record, no page."""
    import pytest

    from otklik.audit import middleware

    incident = ingest("Нет воды")
    client = login(operator)
    client.raise_request_exception = False

    def broken(*args, **kwargs):
        raise RuntimeError("the log is down")

    monkeypatch.setattr(middleware, "record", broken)
    response = client.get(f"/incidents/{incident.pk}/")
    assert response.status_code == 500
    assert "Нет воды" not in response.content.decode()
    with pytest.raises(RuntimeError):
        login(operator).get(f"/incidents/{incident.pk}/")
