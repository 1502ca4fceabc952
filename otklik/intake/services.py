"""Ingestion of posts: idempotent by (source, external id); each new post opens an incident."""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from django.core.files.base import ContentFile
from django.db import IntegrityError, transaction
from django.db.models import Count
from django.utils import timezone
from django.utils.translation import gettext as _

from otklik.cases.choices import OPEN_STATUSES, EventVerb
from otklik.cases.models import Incident, channel_mark, channels_value
from otklik.cases.services import create_incident, do_stop_waiting, record_event, refresh_from_posts
from otklik.core.errors import DomainError
from otklik.core.permissions import ensure_service
from otklik.intake import dispatch
from otklik.intake.choices import Channel, ImportOutcome, ImportStatus
from otklik.intake.importing import (
    TARGET_LABELS,
    TARGETS,
    ImportFileError,
    MappedRow,
    Table,
    TopicIndex,
    guess_mapping,
    map_rows,
    missing_required,
    read_table,
)
from otklik.intake.models import ImportJob, ImportRow, Post, Source

if TYPE_CHECKING:
    from otklik.accounts.models import User
    from otklik.org.models import Topic


def default_source(channel: str) -> Source:
    if channel not in Channel.values:
        raise DomainError(_("Unknown source «%s».") % channel, field="source")
    source, _created = Source.objects.get_or_create(
        channel=channel, account="", defaults={"name": str(Channel(channel).label)}
    )
    return source


@dataclass(frozen=True)
class IngestResult:
    post: Post
    created: bool

    @property
    def incident_id(self) -> int | None:
        return self.post.incident_id


def do_ingest_post(
    *,
    source: Source,
    external_id: str,
    text: str,
    posted_at: dt.datetime,
    author_name: str = "",
    author_id: str = "",
    url: str = "",
    thread_id: str = "",
    topic: Topic | None = None,
    actor: User | None = None,
    received_at: dt.datetime | None = None,
) -> IngestResult:
    """Store a post once; a repeat (same source and external id) returns the stored one and changes nothing.

    1. Look for the post; found → return it (`created=False`).
    2. In one transaction: create the post and its incident (a post not written in a thread: the incident first,
       then the post with it) — or attach it to the open incident of the thread when the same author continues
       there. Two concurrent calls collide on the unique constraint: the loser rolls back and returns the winner's
       post.
    3. After commit the post is handed to the worker's analysis (topic, routing): a queued analysis message takes
       it, else one is sent (otklik.intake.dispatch).

    `received_at` backdates the new incident (imports of history, the demo stream); by default it is now.
    """
    external_id = external_id.strip()
    if not external_id:
        raise DomainError(_("The external id is empty."), field="external_id")
    if not text.strip():
        raise DomainError(_("The text is empty."), field="text")
    if timezone.is_naive(posted_at):
        posted_at = timezone.make_aware(posted_at)

    existing = _stored_post(source, external_id)
    if existing is not None:
        return IngestResult(existing, False)
    fields: dict[str, Any] = {
        "source": source,
        "external_id": external_id,
        "text": text,
        "posted_at": posted_at,
        "author_name": author_name.strip(),
        "author_id": author_id.strip(),
        "url": url.strip(),
        "thread_id": thread_id.strip(),
        "topic_hint": topic,
    }
    try:
        with transaction.atomic():
            if not fields["thread_id"]:
                # Not a reply in a thread: no thread incident, no follow-up — a new incident, the post saved with it.
                incident = create_incident(
                    actor=actor,
                    created_at=received_at,
                    channels=channels_value([source.channel]),
                    last_post_at=posted_at,
                )
                post = Post.objects.create(**fields, incident=incident)
            else:
                post = _ingest_reply(fields, actor=actor, received_at=received_at)
            dispatch.request_analysis_on_commit(post.pk)
    except IntegrityError:
        winner = _stored_post(source, external_id)
        if winner is None:
            raise
        return IngestResult(winner, False)
    return IngestResult(post, True)


def _stored_post(source: Source, external_id: str) -> Post | None:
    return next(iter(Post.objects.filter(source=source, external_id=external_id).order_by()[:1]), None)


def _ingest_reply(fields: dict[str, Any], *, actor: User | None, received_at: dt.datetime | None) -> Post:
    """A post written in a thread: it joins the author's open incident there, or the followed one
    (otklik.satisfaction), else it opens a new incident."""
    from otklik.satisfaction.services import follow_up_incident

    post = Post.objects.create(**fields)
    incident = follow_up_incident(post, _thread_incident(post))
    if incident is None:
        incident = create_incident(
            actor=actor,
            created_at=received_at,
            channels=channels_value([post.source.channel]),
            last_post_at=post.posted_at,
        )
        post.incident = incident
        post.save(update_fields=["incident"])
    else:
        post.incident = incident
        post.save(update_fields=["incident"])
        _add_post(incident, post)
        record_event(incident, EventVerb.POST_ADDED, actor=actor, after={"post": post.pk})
        if incident.waiting_since is not None and _from_the_author(post, incident):
            do_stop_waiting(incident, actor=None, note=_("The author replied in the thread."))
    return post


def _add_post(incident: Incident, post: Post) -> None:
    """`post` joined `incident`: its `channels` name the post's channel and its `last_post_at` is no earlier than
    the post (read under a lock, so a move of its posts meanwhile is seen; usually the thread's own channel, already
    there, and a newer post: the time is the only write)."""
    row = Incident.objects.select_for_update().filter(pk=incident.pk).values_list("channels", "last_post_at").first()
    if row is None:
        return
    channels, last_post_at = row
    if channel_mark(post.source.channel) not in channels:
        refresh_from_posts([incident.pk])
    elif last_post_at is None or post.posted_at > last_post_at:
        Incident.objects.filter(pk=incident.pk).update(last_post_at=post.posted_at)


def _from_the_author(post: Post, incident: Incident) -> bool:
    """A reply by the author of the incident's first post (any post when the authors are not known)."""
    first = incident.posts.exclude(pk=post.pk).order_by("posted_at", "pk").first()
    if first is None or not first.author_id or not post.author_id:
        return True
    return first.author_id == post.author_id


def _thread_incident(post: Post):  # type: ignore[no-untyped-def]
    """The open incident of the post this one answers, when the same author writes again in his thread."""
    if not post.thread_id or not post.author_id:
        return None
    parent = (
        Post.objects.filter(source=post.source, external_id=post.thread_id, author_id=post.author_id)
        .select_related("incident")
        .first()
    )
    if parent is None or parent.incident is None or parent.incident.status not in OPEN_STATUSES:
        return None
    return parent.incident


# --- imports of IM and ПОС exports ------------------------------------------------------------------------

#: Sources an export can come from.
IMPORT_CHANNELS = (Channel.IM, Channel.POS)
#: Fields of a post an import may change when the same post comes again with other values.
IMPORT_UPDATABLE_FIELDS = ("text", "url", "author_name", "author_id")


@transaction.atomic
def do_update_imported_post(
    post: Post,
    *,
    text: str,
    url: str = "",
    author_name: str = "",
    author_id: str = "",
    actor: User | None = None,
    note: str = "",
) -> list[str]:
    """Bring a post in line with a newer export of it; returns the names of the fields that changed.

    1. Lock the post; compare text, link, author and author's id (an empty text is refused).
    2. Nothing changed → nothing written, [] returned (a re-import of the same file).
    3. Save the changed fields and record an event on the incident with the values before and after.
    The incident's topic, route and deadlines stay as they are: a corrected text is not a new problem, so nothing
    is analysed or routed again.
    """
    ensure_service(actor)
    if not text.strip():
        raise DomainError(_("The text is empty."), field="text")
    post = Post.objects.select_for_update().get(pk=post.pk)
    wanted = {"text": text, "url": url.strip(), "author_name": author_name.strip(), "author_id": author_id.strip()}
    changed = [name for name in IMPORT_UPDATABLE_FIELDS if getattr(post, name) != wanted[name]]
    if not changed:
        return []
    before = {name: getattr(post, name) for name in changed}
    for name in changed:
        setattr(post, name, wanted[name])
    post.save(update_fields=changed)
    if post.incident is not None:
        labels = ", ".join(str(getattr(Post._meta.get_field(name), "verbose_name", name)) for name in changed)
        message = _("Post %(external_id)s updated from an import (%(fields)s).") % {
            "external_id": post.external_id,
            "fields": labels,
        }
        if note:
            message = f"{message} {note}"
        record_event(
            post.incident,
            EventVerb.UPDATED,
            actor=actor,
            before={"post": post.pk, **before},
            after={"post": post.pk, **{name: wanted[name] for name in changed}},
            message=message,
        )
    return changed


def do_create_import_job(
    *,
    actor: User | None,
    data: bytes,
    file_name: str,
    channel: str = Channel.IM,
    encoding: str = "auto",
    delimiter: str = "auto",
) -> ImportJob:
    """Store an uploaded export and what its reading found; the columns get a guessed mapping.

    Raises ImportFileError (field `file`) when the file cannot be read, DomainError for a wrong source.
    """
    ensure_service(actor)
    _check_import_channel(channel)
    table = read_table(data, encoding=encoding, delimiter=delimiter)
    job = ImportJob(
        created_by=actor,
        file_name=file_name[:255],
        file_format=table.file_format,
        encoding=table.encoding,
        delimiter=table.delimiter,
        channel=channel,
        headers=table.headers,
        mapping=guess_mapping(table.headers),
        total_rows=table.total_rows,
        status=ImportStatus.MAPPING,
    )
    job.file.save(_storage_name(file_name, table.file_format), ContentFile(data), save=False)
    job.save()
    return job


def do_reread_import_job(job: ImportJob, *, actor: User | None, encoding: str, delimiter: str) -> ImportJob:
    """Read the stored file again with another encoding or delimiter (the columns may change: mapping guessed anew)."""
    ensure_service(actor)
    with transaction.atomic():
        job = _lock_job(job)
        if job.status != ImportStatus.MAPPING:
            raise DomainError(_("This import has already been started."))
        table = read_job_table(job, encoding=encoding, delimiter=delimiter)
        job.encoding = table.encoding
        job.delimiter = table.delimiter
        job.headers = table.headers
        job.mapping = guess_mapping(table.headers)
        job.total_rows = table.total_rows
        job.save(update_fields=["encoding", "delimiter", "headers", "mapping", "total_rows"])
    return job


def read_job_table(
    job: ImportJob, *, encoding: str | None = None, delimiter: str | None = None, limit: int | None = None
) -> Table:
    """The job's file read as the job says (or with the given encoding and delimiter); `limit`: the first rows."""
    try:
        with job.file.open("rb") as handle:
            data = handle.read()
    except (FileNotFoundError, ValueError):
        raise ImportFileError(_("The uploaded file is no longer stored: upload it again.")) from None
    return read_table(
        data,
        encoding=encoding if encoding is not None else (job.encoding or "auto"),
        delimiter=delimiter if delimiter is not None else (job.delimiter or "auto"),
        limit=limit,
    )


def validate_import_mapping(mapping: dict[str, int], headers: list[str]) -> dict[str, int]:
    """Known targets, existing columns, each column once, the required targets present. Raises DomainError."""
    clean: dict[str, int] = {}
    used: dict[int, str] = {}
    for target in TARGETS:
        index = mapping.get(target)
        if index is None:
            continue
        if not isinstance(index, int) or not 0 <= index < len(headers):
            raise DomainError(_("There is no such column in the file."), field=target)
        if index in used:
            raise DomainError(
                _("The column «%(column)s» is already chosen for «%(other)s».")
                % {"column": headers[index], "other": TARGET_LABELS[used[index]]},
                field=target,
            )
        used[index] = target
        clean[target] = index
    for target in missing_required(clean):
        raise DomainError(
            _("Choose the column with the %(field)s: it is required.") % {"field": str(TARGET_LABELS[target]).lower()},
            field=target,
        )
    return clean


def do_start_import_job(
    job: ImportJob, *, actor: User | None, mapping: dict[str, int], channel: str, enqueue: bool = True
) -> ImportJob:
    """Fix the mapping and the source and queue the job: the worker gets it after commit (`enqueue`), or the
    caller runs it itself (`do_run_import_job`, the command line)."""
    from otklik.intake.tasks import run_import

    ensure_service(actor)
    _check_import_channel(channel)
    with transaction.atomic():
        job = _lock_job(job)
        if job.status != ImportStatus.MAPPING:
            raise DomainError(_("This import has already been started."))
        job.mapping = validate_import_mapping(mapping, job.headers)
        job.channel = channel
        job.status = ImportStatus.QUEUED
        job.save(update_fields=["mapping", "channel", "status"])
        if enqueue:
            run_import.delay_on_commit(job.pk)
    return job


#: The job's counters and progress are written after this many rows (and at the end).
IMPORT_PROGRESS_EVERY = 25

_OUTCOME_COUNTER: dict[str, str] = {
    ImportOutcome.IMPORTED: "imported",
    ImportOutcome.UPDATED: "updated",
    ImportOutcome.SKIPPED: "skipped",
    ImportOutcome.REJECTED: "rejected",
}


def do_run_import_job(
    job_id: int,
    *,
    table: Table | None = None,
    progress: Callable[[ImportJob], None] | None = None,
) -> ImportJob:
    """Import the rows of a queued job. Idempotent: run again, it finishes what is left and changes nothing else.

    1. Claim the job: `queued` → `running` (a `running` job is a run interrupted by a crash: resume it; a
       finished one is returned as it is).
    2. Read the file (unreadable → the job `failed` with the reason).
    3. Each row not yet recorded, in its own transaction: a rejected row is recorded with its reasons; a new post
       is ingested (`do_ingest_post`, idempotent by source + external id); a post already there is updated when
       its text, link or author changed (`do_update_imported_post`), else counted as unchanged.
    4. Every IMPORT_PROGRESS_EVERY rows the counters go to the job (the progress bar); at the end the counters are
       recounted from the rows, the job is `done`, and the person who uploaded it is notified.
    """
    now = timezone.now()
    ImportJob.objects.filter(pk=job_id, status=ImportStatus.QUEUED).update(status=ImportStatus.RUNNING, started_at=now)
    job = ImportJob.objects.select_related("created_by").get(pk=job_id)
    if job.status != ImportStatus.RUNNING:
        return job
    try:
        if table is None:
            table = read_job_table(job)
    except ImportFileError as exc:
        return _finish_import(job, failed=exc.message)
    if table.headers != list(job.headers):
        return _finish_import(job, failed=_("The columns of the file are not those it was mapped with."))

    actor = job.created_by
    source = default_source(job.channel)
    topics = TopicIndex()
    done = set(job.rows.values_list("row_number", flat=True))
    counts = _recount(job)  # a resumed run goes on from what the rows say
    processed = len(done)
    ImportJob.objects.filter(pk=job.pk).update(total_rows=table.total_rows)
    job.total_rows = table.total_rows

    for row in map_rows(table.rows, job.mapping, job.headers, topics=topics):
        if row.row_number in done:
            continue
        outcome = _import_row(job, row, source=source, actor=actor)
        processed += 1
        if outcome is not None:
            counts[_OUTCOME_COUNTER[outcome]] += 1
            if row.warnings and outcome != ImportOutcome.REJECTED:
                counts["warned"] += 1
        if processed % IMPORT_PROGRESS_EVERY == 0:
            ImportJob.objects.filter(pk=job.pk).update(processed_rows=processed, **counts)
            if progress is not None:
                job.processed_rows = processed
                progress(job)
    return _finish_import(job)


def _import_row(job: ImportJob, row: MappedRow, *, source: Source, actor: User | None) -> str | None:
    """One row in one transaction: the post and the row's record together. None: recorded by a concurrent run."""
    try:
        with transaction.atomic():
            post: Post | None = None
            if not row.ok or row.posted_at is None:
                outcome = ImportOutcome.REJECTED
            else:
                existing = Post.objects.filter(source=source, external_id=row.external_id).first()
                if existing is None:
                    result = do_ingest_post(
                        source=source,
                        external_id=row.external_id,
                        text=row.text,
                        posted_at=row.posted_at,
                        author_name=row.author,
                        author_id=row.author_id,
                        url=row.url,
                        topic=row.topic,
                        actor=actor,
                    )
                    post = result.post
                    outcome = ImportOutcome.IMPORTED if result.created else ImportOutcome.SKIPPED
                else:
                    post = existing
                    changed = do_update_imported_post(
                        existing,
                        text=row.text,
                        url=row.url,
                        author_name=row.author,
                        author_id=row.author_id,
                        actor=actor,
                        note=_("Import «%(file)s», row %(row)s.") % {"file": job.file_name, "row": row.row_number},
                    )
                    outcome = ImportOutcome.UPDATED if changed else ImportOutcome.SKIPPED
                    # The export's status and answer columns are not applied, but never passed over in silence.
                    from otklik.intake.roundtrip import export_news

                    row.warnings.extend(export_news(job, row.values, existing))
            ImportRow.objects.create(
                job=job,
                row_number=row.row_number,
                outcome=outcome,
                message=row.message,
                values=row.values if (row.errors or row.warnings) else [],
                external_id=row.external_id[:255],
                post=post,
            )
    except IntegrityError:
        if ImportRow.objects.filter(job=job, row_number=row.row_number).exists():
            return None
        raise
    except DomainError as exc:  # a refusal of the ingestion itself: the row is rejected, never lost
        ImportRow.objects.get_or_create(
            job=job,
            row_number=row.row_number,
            defaults={
                "outcome": ImportOutcome.REJECTED,
                "message": " ".join([*row.errors, exc.message]),
                "values": row.values,
                "external_id": row.external_id[:255],
            },
        )
        return ImportOutcome.REJECTED
    return outcome


def _recount(job: ImportJob) -> dict[str, int]:
    """The job's counters as its rows say: one per outcome, and `warned` (imported rows with a warning)."""
    counts = {name: 0 for name in _OUTCOME_COUNTER.values()}
    for item in job.rows.values("outcome").annotate(n=Count("id")).order_by():
        counts[_OUTCOME_COUNTER[item["outcome"]]] = item["n"]
    counts["warned"] = job.rows.exclude(outcome=ImportOutcome.REJECTED).exclude(message="").count()
    return counts


def _finish_import(job: ImportJob, *, failed: str = "") -> ImportJob:
    counts = _recount(job)
    status = ImportStatus.FAILED if failed else ImportStatus.DONE
    fields: dict[str, Any] = {
        **counts,
        "processed_rows": sum(counts[name] for name in _OUTCOME_COUNTER.values()),
        "status": status,
        "error": failed,
        "finished_at": timezone.now(),
    }
    ImportJob.objects.filter(pk=job.pk).update(**fields)
    job.refresh_from_db()
    if job.created_by is not None:
        _notify_import_finished(job)
    return job


def _notify_import_finished(job: ImportJob) -> None:
    from otklik.notifications.choices import NotificationKind
    from otklik.notifications.services import do_notify

    if job.status == ImportStatus.FAILED:
        title = _("Import of «%(file)s» failed") % {"file": job.file_name}
        body = job.error
    else:
        title = _("Import of «%(file)s» finished") % {"file": job.file_name}
        body = _("Imported: %(imported)s, updated: %(updated)s, unchanged: %(skipped)s, rejected: %(rejected)s.") % {
            "imported": job.imported,
            "updated": job.updated,
            "skipped": job.skipped,
            "rejected": job.rejected,
        }
    do_notify(
        [job.created_by],  # type: ignore[list-item]
        kind=NotificationKind.GENERIC,
        title=title,
        body=body,
        url=f"/import/{job.pk}/",
        dedup_key=f"import-finished:{job.pk}",
    )


def _lock_job(job: ImportJob) -> ImportJob:
    return ImportJob.objects.select_for_update().get(pk=job.pk)


def _check_import_channel(channel: str) -> None:
    if channel not in IMPORT_CHANNELS:
        raise DomainError(_("An import is from «Инцидент Менеджмент» (im) or ПОС (pos)."), field="channel")


def _storage_name(file_name: str, file_format: str) -> str:
    stem = re.sub(r"[^\w.-]+", "_", Path(file_name).stem, flags=re.ASCII).strip("._") or "import"
    return f"{stem[:80]}.{file_format}"
