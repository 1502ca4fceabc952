"""The log is append-only: the ORM refuses to change or delete a record, and so does PostgreSQL itself."""

from __future__ import annotations

import os

import pytest
from django.db import DatabaseError, connection, transaction

from otklik.audit.models import AppendOnlyError, AuditRecord
from otklik.audit.services import record
from tests.factories import make_user


@pytest.fixture
def entry(db):
    return record("view", username="someone", note="original")


def test_a_record_cannot_be_saved_again(entry):
    entry.note = "rewritten"
    with pytest.raises(AppendOnlyError):
        entry.save()
    assert AuditRecord.objects.get(pk=entry.pk).note == "original"


def test_a_record_cannot_be_deleted(entry):
    with pytest.raises(AppendOnlyError):
        entry.delete()
    assert AuditRecord.objects.filter(pk=entry.pk).exists()


def test_querysets_cannot_update_or_delete(entry):
    with pytest.raises(AppendOnlyError):
        AuditRecord.objects.filter(pk=entry.pk).update(note="x")
    with pytest.raises(AppendOnlyError):
        AuditRecord.objects.all().delete()
    with pytest.raises(AppendOnlyError):
        AuditRecord.objects.bulk_update([entry], ["note"])
    assert AuditRecord.objects.get(pk=entry.pk).note == "original"


def test_deleting_a_user_keeps_the_records_with_the_username(db):
    user = make_user("leaver", role="operator")
    kept = record("login", user, user=user)
    user.delete()
    kept = AuditRecord.objects.get(pk=kept.pk)
    assert kept.user_id is None and kept.username == "leaver" and kept.action == "login"


on_postgres = pytest.mark.skipif(os.environ.get("OTKLIK_DB") != "postgres", reason="the trigger is PostgreSQL's")


@pytest.mark.postgres
@on_postgres
@pytest.mark.parametrize(
    "sql",
    [
        "UPDATE audit_auditrecord SET note = 'rewritten' WHERE id = %s",
        "UPDATE audit_auditrecord SET user_id = NULL, note = 'rewritten' WHERE id = %s",
        "DELETE FROM audit_auditrecord WHERE id = %s",
    ],
)
def test_postgresql_refuses_raw_updates_and_deletes(entry, sql):
    with pytest.raises(DatabaseError, match="append-only"), transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(sql, [entry.pk])
    assert AuditRecord.objects.get(pk=entry.pk).note == "original"


@pytest.mark.postgres
@on_postgres
def test_postgresql_refuses_the_base_manager_too(entry):
    with pytest.raises(DatabaseError, match="append-only"), transaction.atomic():
        AuditRecord._base_manager.filter(pk=entry.pk).update(note="x")


@pytest.mark.postgres
@on_postgres
def test_postgresql_lets_a_deleted_user_go_and_nothing_else(db):
    user = make_user("leaver", role="operator")
    kept = record("login", user, user=user)
    user.delete()  # ON DELETE SET NULL: the one update the trigger allows
    assert AuditRecord.objects.get(pk=kept.pk).user_id is None
