"""Running an import: good rows become posts, broken rows are kept with their reasons, a re-import adds nothing
and updates what changed, and the run is idempotent and resumable."""

from __future__ import annotations

import pytest
from django.db import OperationalError

from otklik.cases.choices import EventVerb
from otklik.cases.models import Event, Incident
from otklik.core.errors import DomainError, NotAllowed
from otklik.intake import services
from otklik.intake.choices import Channel, ImportOutcome, ImportStatus
from otklik.intake.models import ImportJob, ImportRow, Post
from otklik.intake.services import (
    do_create_import_job,
    do_run_import_job,
    do_start_import_job,
    do_update_imported_post,
)
from otklik.notifications.models import Notification
from otklik.org.models import Topic

pytestmark = pytest.mark.django_db


def run(data: bytes, *, name: str = "export.csv", channel: str = Channel.IM, actor=None, mapping=None) -> ImportJob:
    job = do_create_import_job(actor=actor, data=data, file_name=name, channel=channel)
    job = do_start_import_job(job, actor=actor, mapping=mapping or job.mapping, channel=channel, enqueue=False)
    return do_run_import_job(job.pk)


def outcomes(job: ImportJob) -> dict[int, str]:
    return dict(job.rows.values_list("row_number", "outcome"))


def test_it_imports_the_good_rows_and_keeps_every_rejected_row_with_its_reason(reference, sample):
    job = run(sample("im_utf8_comma.csv"))
    assert job.status == ImportStatus.DONE
    assert (job.total_rows, job.imported, job.updated, job.skipped, job.rejected) == (7, 4, 0, 0, 3)
    assert job.warned == 1
    assert outcomes(job) == {
        2: "imported",
        3: "imported",
        4: "imported",
        5: "rejected",
        6: "rejected",
        7: "rejected",
        8: "imported",
    }
    rejected = {r.row_number: r for r in job.rows.filter(outcome=ImportOutcome.REJECTED)}
    assert "«Текст»" in rejected[5].message  # the empty text, naming its column
    assert "вчера вечером" in rejected[6].message
    assert "IM-1001" in rejected[7].message and "2" in rejected[7].message
    assert rejected[6].values[0] == "IM-1005"  # the raw values are kept for the report
    warned = job.rows.get(row_number=8)
    assert "Гололёд у школ" in warned.message and warned.post is not None
    assert warned.post.topic_hint is None

    posts = Post.objects.filter(source__channel="im").order_by("external_id")
    assert [p.external_id for p in posts] == ["IM-1001", "IM-1002", "IM-1003", "IM-1007"]
    assert all(p.incident_id for p in posts)
    hot_water = posts.get(external_id="IM-1001")
    assert hot_water.topic_hint == Topic.objects.get(name="Отсутствие горячей воды")
    assert hot_water.author_name == "Ирина Петрова"
    assert hot_water.url == "https://vk.com/wall-123456_1001"
    assert posts.get(external_id="IM-1002").topic_hint.name == "Ямы во дворах"  # given with ★
    assert posts.get(external_id="IM-1003").url == "https://vk.com/wall-123456_1003"  # «vk.com/…» completed


def test_importing_the_same_file_again_creates_nothing_new(reference, sample):
    run(sample("im_utf8_comma.csv"))
    counts = (Post.objects.count(), Incident.objects.count(), Event.objects.count())
    again = run(sample("im_utf8_comma.csv"))
    assert (again.imported, again.updated, again.skipped, again.rejected) == (0, 0, 4, 3)
    assert (Post.objects.count(), Incident.objects.count(), Event.objects.count()) == counts


def test_a_changed_row_updates_its_post_and_the_incident_records_it(reference, sample):
    first = run(sample("im_utf8_comma.csv"))
    post = first.rows.get(row_number=3).post
    changed = sample("im_utf8_comma.csv").decode().replace("вчера пробил колесо", "сегодня пробил два колеса")
    changed = changed.replace("Сергей К.", "Сергей Кузнецов")
    again = run(changed.encode(), name="export-2.csv")
    assert (again.imported, again.updated, again.skipped, again.rejected) == (0, 1, 3, 3)
    assert again.rows.get(row_number=3).outcome == ImportOutcome.UPDATED
    post.refresh_from_db()
    assert "сегодня пробил два колеса" in post.text
    assert post.author_name == "Сергей Кузнецов"
    event = Event.objects.get(incident=post.incident, verb=EventVerb.UPDATED)
    assert "вчера пробил колесо" in event.before["text"]
    assert "сегодня пробил два колеса" in event.after["text"]
    assert event.before["author_name"] == "Сергей К."
    assert "url" not in event.after  # only what changed


def test_a_corrected_text_does_not_analyse_or_route_the_incident_again(
    reference, sample, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        first = run(sample("im_utf8_comma.csv"))
    post = first.rows.get(row_number=3).post
    incident = Incident.objects.get(pk=post.incident_id)
    before = (incident.status, incident.topic_id, incident.lead_department_id, incident.due_at)
    verbs_before = list(Event.objects.filter(incident=incident).values_list("verb", flat=True))
    post.refresh_from_db()
    analysed_at = post.analyzed_at
    assert analysed_at is not None

    changed = sample("im_utf8_comma.csv").decode().replace("огромная яма", "огромная яма и лужа")
    with django_capture_on_commit_callbacks(execute=True):
        run(changed.encode())
    incident.refresh_from_db()
    post.refresh_from_db()
    assert (incident.status, incident.topic_id, incident.lead_department_id, incident.due_at) == before
    assert post.analyzed_at == analysed_at
    verbs_after = list(Event.objects.filter(incident=incident).values_list("verb", flat=True))
    assert verbs_after == [*verbs_before, EventVerb.UPDATED]


def test_the_chosen_source_is_the_posts_source(sample):
    job = run(sample("pos_cp1251_semicolon.csv"), channel=Channel.POS)
    assert (job.imported, job.rejected) == (2, 2)
    assert set(Post.objects.values_list("source__channel", flat=True)) == {"pos"}
    assert set(Post.objects.values_list("external_id", flat=True)) == {"5012345", "5012346"}


def test_the_same_ids_from_another_source_are_other_posts(sample):
    run(sample("im_utf8_bom_semicolon.csv"), channel=Channel.IM)
    job = run(sample("im_utf8_bom_semicolon.csv"), channel=Channel.POS)
    assert job.imported == 3
    assert Post.objects.count() == 6


def test_an_xlsx_export_is_imported_with_its_date_cells_and_numeric_ids(sample):
    job = run(sample("im_export.xlsx"), name="export.xlsx")
    assert (job.imported, job.rejected) == (3, 1)
    assert set(Post.objects.values_list("external_id", flat=True)) == {"880001", "880002", "880004"}
    assert job.rows.get(row_number=4).outcome == ImportOutcome.REJECTED
    assert Post.objects.get(external_id="880001").author_id == "ok:555"


def test_a_file_without_ids_is_imported_once_by_the_hash_of_its_rows(sample):
    job = run(sample("im_no_ids_tab.csv"))
    assert job.id_from_hash
    assert job.imported == 3
    assert all(p.external_id.startswith("hash:") for p in Post.objects.all())
    again = run(sample("im_no_ids_tab.csv"))
    assert (again.imported, again.skipped) == (0, 3)


def test_running_a_finished_job_again_changes_nothing(sample):
    job = run(sample("im_utf8_comma.csv"))
    rows = ImportRow.objects.count()
    posts = Post.objects.count()
    again = do_run_import_job(job.pk)
    assert again.status == ImportStatus.DONE
    assert (ImportRow.objects.count(), Post.objects.count()) == (rows, posts)
    assert (again.imported, again.rejected) == (job.imported, job.rejected)


def test_an_interrupted_run_resumes_where_it_stopped(sample, monkeypatch):
    job = do_create_import_job(actor=None, data=sample("im_utf8_comma.csv"), file_name="x.csv")
    job = do_start_import_job(job, actor=None, mapping=job.mapping, channel="im", enqueue=False)
    real = services._import_row
    calls = []

    def dying(*args, **kwargs):
        calls.append(1)
        if len(calls) == 3:
            raise OperationalError("the database went away")
        return real(*args, **kwargs)

    monkeypatch.setattr(services, "_import_row", dying)
    with pytest.raises(OperationalError):
        do_run_import_job(job.pk)
    job.refresh_from_db()
    assert job.status == ImportStatus.RUNNING
    assert job.rows.count() == 2

    monkeypatch.setattr(services, "_import_row", real)
    job = do_run_import_job(job.pk)  # the task's retry
    assert job.status == ImportStatus.DONE
    assert job.rows.count() == 7
    assert (job.imported, job.rejected) == (4, 3)
    assert Post.objects.count() == 4


def test_progress_is_saved_on_the_job_every_few_rows(sample, monkeypatch):
    monkeypatch.setattr(services, "IMPORT_PROGRESS_EVERY", 2)
    job = do_create_import_job(actor=None, data=sample("im_utf8_comma.csv"), file_name="x.csv")
    job = do_start_import_job(job, actor=None, mapping=job.mapping, channel="im", enqueue=False)
    seen = []

    def progress(j):
        stored = ImportJob.objects.get(pk=j.pk)
        seen.append((stored.status, stored.processed_rows, stored.imported + stored.rejected))

    do_run_import_job(job.pk, progress=progress)
    assert seen == [("running", 2, 2), ("running", 4, 4), ("running", 6, 6)]


def test_a_job_whose_file_is_gone_fails_with_the_reason(sample):
    job = do_create_import_job(actor=None, data=sample("im_utf8_comma.csv"), file_name="x.csv")
    job = do_start_import_job(job, actor=None, mapping=job.mapping, channel="im", enqueue=False)
    job.file.storage.delete(job.file.name)
    job = do_run_import_job(job.pk)
    assert job.status == ImportStatus.FAILED
    assert job.error
    assert Post.objects.count() == 0


def test_the_uploader_is_notified_when_the_import_is_done(operator, sample):
    job = run(sample("im_utf8_comma.csv"), actor=operator)
    notification = Notification.objects.get(recipient=operator)
    assert notification.url == f"/import/{job.pk}/"
    assert job.file_name in notification.title
    run_again = do_run_import_job(job.pk)
    assert run_again.status == ImportStatus.DONE
    assert Notification.objects.filter(recipient=operator).count() == 1


def test_only_the_service_may_import(executor, sample):
    with pytest.raises(NotAllowed):
        do_create_import_job(actor=executor, data=sample("im_utf8_comma.csv"), file_name="x.csv")


def test_a_mapping_needs_the_text_and_the_date_and_each_column_once(sample):
    job = do_create_import_job(actor=None, data=sample("im_utf8_comma.csv"), file_name="x.csv")
    with pytest.raises(DomainError) as missing:
        do_start_import_job(job, actor=None, mapping={"text": 2}, channel="im", enqueue=False)
    assert missing.value.field == "posted_at"
    with pytest.raises(DomainError) as twice:
        do_start_import_job(job, actor=None, mapping={"text": 2, "posted_at": 2}, channel="im", enqueue=False)
    assert twice.value.field == "posted_at"
    with pytest.raises(DomainError) as wrong_source:
        do_start_import_job(job, actor=None, mapping=job.mapping, channel="vk", enqueue=False)
    assert wrong_source.value.field == "channel"
    job.refresh_from_db()
    assert job.status == ImportStatus.MAPPING


def test_an_update_with_the_same_values_writes_nothing_and_an_empty_text_is_refused(sample):
    run(sample("im_utf8_bom_semicolon.csv"))
    post = Post.objects.get(external_id="IM-1002")
    assert do_update_imported_post(post, text=post.text, url=post.url, author_name=post.author_name) == []
    assert not Event.objects.filter(verb=EventVerb.UPDATED).exists()
    with pytest.raises(DomainError):
        do_update_imported_post(post, text="  ")


def test_the_task_runs_the_job_and_a_redelivery_does_nothing_more(sample, django_capture_on_commit_callbacks):
    from otklik.intake.tasks import run_import
    from otklik.ops.models import TaskRun

    job = do_create_import_job(actor=None, data=sample("im_utf8_comma.csv"), file_name="x.csv")
    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        do_start_import_job(job, actor=None, mapping=job.mapping, channel="im")
    assert len(callbacks) >= 1  # the task is handed to the worker after commit
    job.refresh_from_db()
    assert job.status == ImportStatus.DONE
    result = run_import.apply(args=[job.pk]).get()
    assert result == {"status": "done", "imported": 4, "updated": 0, "skipped": 0, "rejected": 3}
    assert TaskRun.objects.get(key=f"otklik.intake.tasks.run_import({job.pk})").status == "done"
    assert Post.objects.count() == 4
