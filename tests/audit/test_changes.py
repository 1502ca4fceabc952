"""Every change made by a person is recorded with its before and after values; secrets and citizens' data masked."""

from __future__ import annotations

from knox.models import AuthToken

from otklik.audit.models import AuditRecord
from otklik.audit.services import PERSONAL_MASK, SECRET_MASK
from otklik.cases.services import do_classify
from otklik.org.models import Department, RoutingRule
from tests.audit.helpers import context_of
from tests.factories import ingest, make_user


def _one(records, action, object_type):
    found = [r for r in records if r.action == action and r.object_type == object_type]
    assert len(found) == 1, [(r.action, r.object_type) for r in records]
    return found[0]


def pipeline(records):
    return [r for r in records if r.object_type in {"intake.post", "cases.incident", "cases.event"}]


def test_an_edit_through_the_web_records_who_changed_which_fields_from_what_to_what(login, head, housing, new_records):
    client = login(head)
    new_records()
    response = client.post(
        f"/settings/departments/{housing.pk}/",
        {
            "name": housing.name,
            "short_name": "ЖКХ-2",
            "kind": housing.kind,
            "email": "new@example.org",
            "phone": "",
            "contacts": "",
            "is_active": "on",
        },
        REMOTE_ADDR="10.1.2.3",
    )
    assert response.status_code in (200, 302)
    housing.refresh_from_db()
    assert housing.short_name == "ЖКХ-2"

    entry = _one(new_records(), "update", "org.department")
    assert entry.user == head and entry.username == "head" and entry.role == "head"
    assert entry.ip == "10.1.2.3" and entry.method == "POST" and entry.origin == "web"
    assert entry.path == f"/settings/departments/{housing.pk}/"
    assert entry.object_id == str(housing.pk)
    assert entry.changes == {"short_name": ["ЖКХ", "ЖКХ-2"], "email": ["zhkh@example.org", "new@example.org"]}
    assert len(entry.request_id) == 32


def test_a_save_that_changes_nothing_writes_nothing(login, head, housing, new_records):
    with context_of(head):
        new_records()
        housing.save()
    assert new_records() == []


def test_create_and_delete_list_the_values_set(head, new_records):
    with context_of(head):
        department = Department.objects.create(name="Отдел транспорта", email="t@example.org")
        pk = department.pk
        department.delete()
    created, deleted = new_records()
    assert created.action == "create" and created.object_id == str(pk)
    assert created.changes["name"] == [None, "Отдел транспорта"] and created.changes["email"] == [None, "t@example.org"]
    assert deleted.action == "delete" and deleted.object_id == str(pk)
    assert deleted.changes["name"] == ["Отдел транспорта", None]
    assert created.username == deleted.username == "head"


def test_passwords_and_tokens_are_masked(head, operator, new_records):
    with context_of(head):
        operator.set_password("a-new-secret-password")
        operator.save()
        instance, _key = AuthToken.objects.create(user=operator)
    records = new_records()
    password_change = _one(records, "update", "accounts.user")
    assert password_change.changes == {"password": [SECRET_MASK, SECRET_MASK]}
    token = _one(records, "create", "knox.authtoken")
    assert token.changes["token_key"] == [None, SECRET_MASK] and token.changes["user"] == [None, operator.pk]
    assert token.object_id == "" and token.object_repr == ""
    dump = str([(r.changes, r.object_id, r.object_repr) for r in records])
    assert "a-new-secret-password" not in dump and operator.password not in dump
    assert instance.digest not in dump and instance.token_key not in dump


def test_citizens_personal_data_is_never_copied_into_the_log(operator, new_records):
    with context_of(operator):
        incident = ingest("Иванов Иван, тел. 89001234567: нет воды", author_name="Иванов Иван", author_id="id777")
    post = _one(new_records(), "create", "intake.post")
    assert post.changes["author_name"] == [None, PERSONAL_MASK]
    assert post.changes["text"] == [None, PERSONAL_MASK]
    assert post.object_repr == ""
    everything = str(list(AuditRecord.objects.values_list("changes", "object_repr", "note")))
    assert "Иванов" not in everything and "89001234567" not in everything and "id777" not in everything
    assert incident.pk


def test_a_persons_action_through_a_service_is_recorded_but_the_timeline_event_is_not_duplicated(
    operator, topic, new_records
):
    incident = ingest("Нет горячей воды")  # the system's ingestion: not recorded (pipeline models)
    assert not pipeline(new_records())
    with context_of(operator):
        do_classify(incident, topic=topic, actor=operator)
    records = new_records()
    change = _one(records, "update", "cases.incident")
    assert change.changes["topic"] == [None, topic.pk]
    assert not [r for r in records if r.object_type == "cases.event"]


def test_the_system_changes_of_accounts_are_recorded_with_the_task_or_system_as_origin(new_records):
    user = make_user("robot", role="operator")  # no request: a command, the shell
    entry = _one(new_records(), "create", "accounts.user")
    assert entry.user is None and entry.username == "" and entry.origin == "system"
    assert entry.object_id == str(user.pk)


def test_system_changes_of_pipeline_models_are_recorded_only_when_asked(settings, new_records):
    ingest("Яма на дороге")
    assert not pipeline(new_records())
    settings.OTKLIK_AUDIT_SYSTEM_CHANGES = True
    ingest("Ещё одна яма")
    assert {r.object_type for r in new_records()} >= {"intake.post", "cases.incident"}


def test_many_to_many_changes_are_recorded_with_the_sets_before_and_after(head, housing, roads, new_records):
    from otklik.org.models import TopicGroup

    group = TopicGroup.objects.create(name="ЖКХ")
    rule = RoutingRule.objects.create(name="Вода", group=group, lead=housing)
    m2m = [f.name for f in RoutingRule._meta.local_many_to_many]
    assert m2m, "routing rules have co-executors"
    field = m2m[0]
    with context_of(head):
        new_records()
        getattr(rule, field).add(roads)
    entry = _one(new_records(), "update", "org.routingrule")
    assert entry.changes == {field: [[], [roads.pk]]}


def test_a_queryset_update_bypasses_the_log_as_documented(head, housing, new_records):
    with context_of(head):
        new_records()
        Department.objects.filter(pk=housing.pk).update(short_name="X")
    assert new_records() == []
