"""Personal data of citizens (152-ФЗ): removal after the retention period, a person's export and erasure.

What is personal here: a post's author name, profile id and link (the link leads to the author's page or post), and
whatever the citizen wrote about themselves in the text (phones, e-mails, flat-level addresses, СНИЛС, passports,
names introduced as «Я, Иванов Иван…»: `otklik.documents.masking`). The satisfaction threads and surveys keep the
author's profile id too; the rows of imported files keep the original cells.

- `do_remove_expired_personal_data` (a daily beat job, `remove_personal_data` by hand): posts older than
  `OTKLIK_PERSONAL_DATA_RETENTION_DAYS` whose incident is no longer open (or that have none) lose the author's name,
  profile id and link, and their text is masked. Each post is claimed by a conditional UPDATE (`WHERE
  personal_data_removed_at IS NULL`), so two beats or a redelivered task never act twice; a batch at a time, so the
  memory is bounded. Surveys and followed threads of those incidents lose the profile id; rows of imported files
  older than the period lose their cells.
- `person_posts` finds what the service holds about one person (by the profile id in a channel, or by the name);
  `export_person` writes it to an XLSX workbook; `do_erase_person` erases it now, on the person's request, whatever
  the age, and keeps a `PersonalDataRequest` as the proof (a digest of the identifier, not the identifier).

The incidents, their topics, places, deadlines and the service's answers stay: they are the service's own records and
the figures of the reports; only what identifies the citizen goes.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import hashlib
import io
from typing import Any

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import Q, QuerySet
from django.utils import timezone
from django.utils.translation import gettext as _

from otklik.cases.choices import OPEN_STATUSES
from otklik.documents.masking import mask_personal_data
from otklik.intake.models import ImportRow, Post
from otklik.privacy.models import PersonalDataRequest, RequestKind

BATCH = 500


def retention_days() -> int:
    """0 (or less) turns the removal off."""
    return int(getattr(settings, "OTKLIK_PERSONAL_DATA_RETENTION_DAYS", 1095))


def cutoff(now: dt.datetime | None = None) -> dt.datetime | None:
    days = retention_days()
    if days <= 0:
        return None
    return (now or timezone.now()) - dt.timedelta(days=days)


def masked_text(text: str) -> str:
    return mask_personal_data(text or "")


def _erase_post(post_id: int, text: str, now: dt.datetime) -> bool:
    """Claim and erase one post; False when another process did it first (the conditional UPDATE)."""
    return bool(
        Post.objects.filter(pk=post_id, personal_data_removed_at__isnull=True).update(
            author_name="", author_id="", url="", text=masked_text(text), personal_data_removed_at=now
        )
    )


def expired_posts(now: dt.datetime | None = None) -> QuerySet[Post]:
    """Posts past the retention period whose personal data is still there (none when retention is off)."""
    limit = cutoff(now)
    if limit is None:
        return Post.objects.none()
    return Post.objects.filter(personal_data_removed_at__isnull=True, posted_at__lt=limit).filter(
        Q(incident__isnull=True) | ~Q(incident__status__in=OPEN_STATUSES)
    )


@dataclasses.dataclass
class RemovalResult:
    posts: int = 0
    surveys: int = 0
    threads: int = 0
    import_rows: int = 0

    @property
    def total(self) -> int:
        return self.posts + self.surveys + self.threads + self.import_rows


def do_remove_expired_personal_data(*, now: dt.datetime | None = None, batch: int = BATCH) -> RemovalResult:
    """Remove the personal data past the retention period. Idempotent; safe to run twice at once."""
    from otklik.satisfaction.models import FollowedThread, Survey

    now = now or timezone.now()
    result = RemovalResult()
    limit = cutoff(now)
    if limit is None:
        return result
    last_id = 0
    while True:
        rows = list(
            expired_posts(now).filter(pk__gt=last_id).order_by("pk").values_list("pk", "text", "incident_id")[:batch]
        )
        if not rows:
            break
        last_id = rows[-1][0]
        incident_ids: set[int] = set()
        with transaction.atomic():
            for post_id, text, incident_id in rows:
                if _erase_post(post_id, text, now):
                    result.posts += 1
                    if incident_id:
                        incident_ids.add(incident_id)
        if incident_ids:
            result.surveys += (
                Survey.objects.filter(incident_id__in=incident_ids).exclude(author_id="").update(author_id="")
            )
            result.threads += (
                FollowedThread.objects.filter(incident_id__in=incident_ids).exclude(author_id="").update(author_id="")
            )
    # Threads and surveys older than the period, whatever their posts (a thread may outlive the post's removal).
    result.threads += FollowedThread.objects.filter(followed_until__lt=limit).exclude(author_id="").update(author_id="")
    result.surveys += Survey.objects.filter(created_at__lt=limit).exclude(author_id="").update(author_id="")
    # The cells of imported files (kept for rejected rows and warnings) older than the period.
    while True:
        ids = list(
            ImportRow.objects.filter(job__created_at__lt=limit)
            .exclude(values=[])
            .order_by("pk")
            .values_list("pk", flat=True)[:batch]
        )
        if not ids:
            break
        result.import_rows += ImportRow.objects.filter(pk__in=ids).update(values=[])
    if result.total:
        _audit(
            "retention",
            note=_("Personal data past the retention period removed: %(counts)s") % {"counts": summary(result)},
        )
    return result


def summary(result: RemovalResult) -> str:
    return _("posts %(posts)s, surveys %(surveys)s, threads %(threads)s, rows of imported files %(rows)s") % {
        "posts": result.posts,
        "surveys": result.surveys,
        "threads": result.threads,
        "rows": result.import_rows,
    }


# --- one person -------------------------------------------------------------------------------------------------


@dataclasses.dataclass(frozen=True)
class Person:
    """Who: a profile id in a channel (exact), or a name (case-insensitive, exact). The profile id wins."""

    channel: str = ""
    author_id: str = ""
    author_name: str = ""

    def __post_init__(self) -> None:
        object.__setattr__(self, "author_id", self.author_id.strip())
        object.__setattr__(self, "author_name", " ".join(self.author_name.split()))
        if not self.author_id and not self.author_name:
            raise ValidationError(_("Give the person's profile id or name."))
        if self.author_name and not self.author_id and len(self.author_name) < 3:
            raise ValidationError(_("A name must have at least 3 characters."))

    @property
    def identifier(self) -> str:
        return f"{self.channel}:id:{self.author_id}" if self.author_id else f"{self.channel}:name:{self.author_name}"

    @property
    def digest(self) -> str:
        return hashlib.sha256(self.identifier.lower().encode()).hexdigest()

    @property
    def hint(self) -> str:
        value = self.author_id or self.author_name
        shown = value[:1] + "…" if len(value) <= 4 else value[:2] + "…" + value[-2:]
        return f"{self.channel}:{shown}" if self.channel else shown


def person_posts(person: Person) -> QuerySet[Post]:
    posts = Post.objects.all()
    if person.channel:
        posts = posts.filter(source__channel=person.channel)
    if person.author_id:
        return posts.filter(author_id=person.author_id)
    return posts.filter(author_name__iexact=person.author_name)


def _person_surveys_and_threads(person: Person, incident_ids: set[int]) -> tuple[QuerySet[Any], QuerySet[Any]]:
    from otklik.satisfaction.models import FollowedThread, Survey

    surveys = Survey.objects.filter(incident_id__in=incident_ids)
    threads = FollowedThread.objects.filter(incident_id__in=incident_ids)
    if person.author_id:
        surveys = Survey.objects.filter(Q(incident_id__in=incident_ids) | Q(author_id=person.author_id))
        threads = FollowedThread.objects.filter(Q(incident_id__in=incident_ids) | Q(author_id=person.author_id))
        if person.channel:
            surveys = surveys.filter(channel=person.channel)
    return surveys, threads


def export_person(person: Person, *, by: Any) -> bytes:
    """An XLSX workbook with everything the service holds about the person; the request is recorded."""
    from openpyxl import Workbook

    from otklik.answers.choices import AnswerStatus
    from otklik.answers.models import Answer
    from otklik.core.xlsx import excel_value

    posts = list(person_posts(person).select_related("source", "incident").order_by("posted_at", "pk"))
    incident_ids = {p.incident_id for p in posts if p.incident_id}
    answers = (
        Answer.objects.filter(incident_id__in=incident_ids, status=AnswerStatus.PUBLISHED)
        .order_by("published_at", "pk")
        .only("incident_id", "kind", "text", "published_at", "link")
    )
    surveys, _threads = _person_surveys_and_threads(person, incident_ids)

    book = Workbook(write_only=True)
    sheet = book.create_sheet(_("Posts"))
    sheet.append(
        [_("Received"), _("Channel"), _("Author"), _("Profile id"), _("Link"), _("Text"), _("Incident"), _("Status")]
    )
    for post in posts:
        sheet.append(
            [
                excel_value(post.posted_at),
                post.source.get_channel_display(),
                post.author_name,
                post.author_id,
                post.url,
                post.text,
                post.incident_id or "",
                post.incident.get_status_display() if post.incident else "",
            ]
        )
    sheet = book.create_sheet(_("Answers"))
    sheet.append([_("Incident"), _("Kind"), _("Published"), _("Text"), _("Link")])
    for answer in answers:
        sheet.append(
            [answer.incident_id, answer.get_kind_display(), excel_value(answer.published_at), answer.text, answer.link]
        )
    sheet = book.create_sheet(_("Surveys"))
    sheet.append([_("Incident"), _("Channel"), _("Asked"), _("Answered"), _("Result")])
    for survey in surveys.order_by("created_at", "pk"):
        sheet.append(
            [
                survey.incident_id,
                survey.channel,
                excel_value(survey.sent_at),
                excel_value(survey.answered_at),
                survey.get_result_display() if survey.result else "",
            ]
        )
    buffer = io.BytesIO()
    book.save(buffer)
    _record(RequestKind.EXPORT, person, by=by, posts=len(posts), incidents=len(incident_ids), reason="")
    return buffer.getvalue()


def do_erase_person(person: Person, *, by: Any, reason: str) -> PersonalDataRequest:
    """Erase the person's data now (their request): posts, surveys and threads. The request is recorded."""
    reason = reason.strip()
    if not reason:
        raise ValidationError(_("Give the basis of the erasure (the citizen's request: its number and date)."))
    now = timezone.now()
    erased = 0
    incident_ids: set[int] = set()
    with transaction.atomic():
        rows = list(person_posts(person).values_list("pk", "text", "incident_id", "personal_data_removed_at"))
        for post_id, text, incident_id, removed_at in rows:
            if incident_id:
                incident_ids.add(incident_id)
            if removed_at is None and _erase_post(post_id, text, now):
                erased += 1
        surveys, threads = _person_surveys_and_threads(person, incident_ids)
        surveys.exclude(author_id="").update(author_id="")
        threads.exclude(author_id="").update(author_id="")
        request = _record(
            RequestKind.ERASURE, person, by=by, posts=len(rows), incidents=len(incident_ids), reason=reason
        )
    return request


def _record(kind: str, person: Person, *, by: Any, posts: int, incidents: int, reason: str) -> PersonalDataRequest:
    request = PersonalDataRequest.objects.create(
        kind=kind,
        channel=person.channel,
        person_digest=person.digest,
        person_hint=person.hint,
        reason=reason[:500],
        posts=posts,
        incidents=incidents,
        done_by=by if getattr(by, "pk", None) else None,
    )
    _audit("erase" if kind == RequestKind.ERASURE else "export", obj=request, user=by)
    return request


def past_requests(person: Person) -> QuerySet[PersonalDataRequest]:
    return PersonalDataRequest.objects.filter(person_digest=person.digest)


def _audit(action: str, *, obj: Any = None, user: Any = None, note: str = "") -> None:
    """Write to the security log (otklik.audit) when it is installed."""
    from django.apps import apps

    if not apps.is_installed("otklik.audit"):
        return
    from otklik.audit.services import record

    record(f"personal_data_{action}", obj, user=user if getattr(user, "pk", None) else None, note=note)
