"""A media brief (regulation 3.3: the service prepares joint materials with the media department) on a spike or a
resonant incident, as a DOCX.

`collect_for_spike(spike)` / `collect_for_incident(incident)` gather the facts into a `Brief`; `default_statement`
fills the draft statement for the press from them; `render_docx(brief, statement)` writes the document:
1. the title, the topic, group and place, the period, the number of posts and incidents;
2. the volume over time: a table per hour (a period up to two days) or per day, and a bar chart (PNG);
3. typical posts (up to `TYPICAL_POSTS`, personal data masked, no authors);
4. what the departments reported: the accepted information of the assignments (masked too);
5. the draft statement (the user may edit it before downloading or sending).

An incident is "resonant" when it holds at least `resonant_threshold()` posts (its own and those of the incidents
merged into it): the card offers the brief from that size on.
"""

from __future__ import annotations

import datetime as dt
import io
import os
from collections import Counter
from dataclasses import dataclass, field

from django.conf import settings
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext as _
from docx.enum.text import WD_ALIGN_PARAGRAPH
from docx.shared import Cm

from otklik.cases.choices import AssignmentStatus, IncidentStatus
from otklik.cases.models import Assignment, Incident
from otklik.documents.docx_utils import add_table, bar_chart_png, city_name, letterhead, start_document, to_bytes
from otklik.documents.masking import mask_personal_data
from otklik.intake.models import Post
from otklik.nlp.models import Spike, SpikeKind

TYPICAL_POSTS = 5
#: At most this many buckets (hours or days) in the volume table: the newest.
MAX_BUCKETS = 48
#: A period up to this long is shown per hour, a longer one per day.
HOURLY_UP_TO = dt.timedelta(hours=48)
#: The default size from which an incident counts as resonant (setting or env OTKLIK_MEDIA_RESONANT_POSTS).
RESONANT_POSTS = 5
INFO_MAX_CHARS = 600


def resonant_threshold() -> int:
    value = getattr(settings, "OTKLIK_MEDIA_RESONANT_POSTS", None) or os.environ.get("OTKLIK_MEDIA_RESONANT_POSTS")
    return int(value) if value else RESONANT_POSTS


def media_email() -> str:
    """The media department's address: the setting (or env) OTKLIK_MEDIA_EMAIL; empty when not configured."""
    return str(getattr(settings, "OTKLIK_MEDIA_EMAIL", "") or os.environ.get("OTKLIK_MEDIA_EMAIL", "")).strip()


@dataclass
class TypicalPost:
    posted_at: dt.datetime
    channel: str
    text: str  # masked
    incident_id: int | None


@dataclass
class DepartmentReport:
    department: str
    information: str  # masked
    accepted_at: dt.datetime | None
    incident_id: int


@dataclass
class Brief:
    subject: str  # "spike" or "incident"
    subject_id: int
    title: str
    topic: str
    group: str
    place: str
    posts: int
    incident_ids: list[int]
    first_at: dt.datetime | None
    last_at: dt.datetime | None
    hourly: bool
    volume: list[tuple[dt.datetime, int]] = field(default_factory=list)
    typical: list[TypicalPost] = field(default_factory=list)
    reports: list[DepartmentReport] = field(default_factory=list)
    note: str = ""  # e.g. the spike's window and baseline

    @property
    def filename(self) -> str:
        return f"media-brief-{self.subject}-{self.subject_id}.docx"


def incident_posts(incident: Incident) -> Q:
    """The posts of an incident: its own and those of the incidents merged into it.

    A semi-join on the few incident ids (`IN (SELECT id … WHERE id = X OR merged_into_id = X)`, both indexed), not
    `incident__merged_into=…` in an OR across the join: that made PostgreSQL read every post (2.7 s on a million)."""
    ids = Incident.objects.filter(Q(pk=incident.pk) | Q(merged_into=incident)).values("pk")
    return Q(incident_id__in=ids)


def collect_for_spike(spike: Spike) -> Brief:
    ids = [int(pk) for pk in spike.incident_ids]
    incidents = Incident.objects.filter(pk__in=ids).select_related("topic", "group", "territory")
    groups = Counter(str(i.group) for i in incidents if i.group_id)
    topics = Counter(str(i.topic) for i in incidents if i.topic_id)
    places = Counter(i.address for i in incidents if i.address)
    posts = Post.objects.filter(Q(incident_id__in=ids) | Q(incident__merged_into_id__in=ids)).exclude(
        incident__status=IncidentStatus.NO_ANSWER
    )
    is_topic = spike.kind == SpikeKind.TOPIC
    brief = Brief(
        subject="spike",
        subject_id=spike.pk,
        title=spike.key,
        topic=spike.key if is_topic else (topics.most_common(1)[0][0] if topics else ""),
        group=groups.most_common(1)[0][0] if groups else "",
        place=spike.key if not is_topic else (places.most_common(1)[0][0] if places else ""),
        posts=0,
        incident_ids=ids,
        first_at=None,
        last_at=None,
        hourly=True,
        note=_(
            "%(kind)s spike: %(count)s posts in the last %(window)s against %(baseline).1f on average per "
            "%(window)s over the week before."
        )
        % {
            "kind": spike.get_kind_display(),
            "count": spike.count,
            "window": spike.get_window_display().lower(),
            "baseline": spike.baseline,
        },
    )
    _fill(brief, posts, ids)
    return brief


def collect_for_incident(incident: Incident) -> Brief:
    ids = [incident.pk, *Incident.objects.filter(merged_into=incident).values_list("pk", flat=True)]
    place = incident.address or (str(incident.territory) if incident.territory_id else "")
    brief = Brief(
        subject="incident",
        subject_id=incident.pk,
        title=_("Incident №%(id)s") % {"id": incident.pk},
        topic=str(incident.topic) if incident.topic_id else "",
        group=str(incident.group) if incident.group_id else "",
        place=place,
        posts=0,
        incident_ids=ids,
        first_at=None,
        last_at=None,
        hourly=True,
    )
    _fill(brief, Post.objects.filter(incident_posts(incident)), ids)
    return brief


def _fill(brief: Brief, posts: object, incident_ids: list[int]) -> None:
    rows = list(
        posts.select_related("source").order_by("posted_at", "id")  # type: ignore[attr-defined]
    )
    brief.posts = len(rows)
    if rows:
        brief.first_at, brief.last_at = rows[0].posted_at, rows[-1].posted_at
    brief.hourly = not rows or (rows[-1].posted_at - rows[0].posted_at) <= HOURLY_UP_TO
    brief.volume = _volume([p.posted_at for p in rows], hourly=brief.hourly)
    brief.typical = _typical(rows)
    accepted = (
        Assignment.objects.filter(incident_id__in=incident_ids, status=AssignmentStatus.ACCEPTED)
        .exclude(information="")
        .select_related("department")
        .order_by("accepted_at", "id")
    )
    brief.reports = [
        DepartmentReport(
            department=a.department.name,
            information=mask_personal_data(a.information)[:INFO_MAX_CHARS],
            accepted_at=a.accepted_at,
            incident_id=a.incident_id,
        )
        for a in accepted
    ]


def _volume(moments: list[dt.datetime], *, hourly: bool) -> list[tuple[dt.datetime, int]]:
    """(start of the hour or day in local time, posts) for every bucket from the first post to the last."""
    if not moments:
        return []
    local = [timezone.localtime(m) for m in moments]

    def bucket(moment: dt.datetime) -> dt.datetime:
        start = moment.replace(minute=0, second=0, microsecond=0)
        return start if hourly else start.replace(hour=0)

    counts = Counter(bucket(m) for m in local)
    step = dt.timedelta(hours=1) if hourly else dt.timedelta(days=1)
    first, last = bucket(local[0]), bucket(local[-1])
    series = []
    current = first
    while current <= last:
        series.append((current, counts.get(current, 0)))
        current = timezone.localtime(current + step)
        current = bucket(current)
    return series[-MAX_BUCKETS:]


def _typical(rows: list[Post]) -> list[TypicalPost]:
    """Up to `TYPICAL_POSTS` posts, one per incident first, preferring fuller texts (but not walls of text)."""

    def score(post: Post) -> int:
        length = len(post.text or "")
        return -min(length, 500)

    chosen: list[Post] = []
    seen: set[int | None] = set()
    for post in sorted(rows, key=score):
        if post.incident_id not in seen and (post.text or "").strip():
            chosen.append(post)
            seen.add(post.incident_id)
        if len(chosen) >= TYPICAL_POSTS:
            break
    for post in sorted(rows, key=score):
        if len(chosen) >= min(3, len(rows)):
            break
        if post not in chosen and (post.text or "").strip():
            chosen.append(post)
    chosen.sort(key=lambda p: (p.posted_at, p.pk))
    return [
        TypicalPost(
            posted_at=p.posted_at,
            channel=p.source.get_channel_display() if p.source_id else "",
            text=mask_personal_data(p.text),
            incident_id=p.incident_id,
        )
        for p in chosen
    ]


def _date(moment: dt.datetime | None) -> str:
    return timezone.localtime(moment).strftime("%d.%m.%Y %H:%M") if moment else "—"


def default_statement(brief: Brief) -> str:
    """A draft statement for the press, filled with the facts of the brief (the user edits it)."""
    city = city_name()
    subject = brief.topic or brief.title
    where = _(" at %(place)s") % {"place": brief.place} if brief.place else ""
    parts = [
        _(
            "The administration of the city of %(city)s has received residents' messages on «%(subject)s»%(where)s: "
            "%(posts)s messages from %(first)s to %(last)s."
        )
        % {
            "city": city,
            "subject": subject,
            "where": where,
            "posts": brief.posts,
            "first": _date(brief.first_at),
            "last": _date(brief.last_at),
        }
    ]
    for report in brief.reports[:3]:
        parts.append(
            _("According to %(department)s: %(information)s")
            % {"department": report.department, "information": report.information.rstrip(".") + "."}
        )
    if not brief.reports:
        parts.append(_("The responsible departments are establishing the causes; the results will be reported."))
    parts.append(
        _(
            "The feedback service keeps the situation under control and answers every resident in the thread "
            "where he wrote."
        )
    )
    return "\n\n".join(parts)


def render_docx(brief: Brief, statement: str | None = None) -> bytes:
    """The brief as DOCX bytes (see the module's docstring for its sections)."""
    document = start_document()
    letterhead(document)
    heading = document.add_heading(_("Media brief: %(title)s") % {"title": brief.title}, level=1)
    heading.alignment = WD_ALIGN_PARAGRAPH.CENTER
    document.add_paragraph(_("Prepared %(now)s for the media department.") % {"now": _date(timezone.now())})

    facts = [
        (_("Topic"), brief.topic or "—"),
        (_("Group"), brief.group or "—"),
        (_("Place"), brief.place or "—"),
        (_("Period"), f"{_date(brief.first_at)} — {_date(brief.last_at)}"),
        (_("Posts"), brief.posts),
        (_("Incidents"), ", ".join(f"№{pk}" for pk in brief.incident_ids[:30]) or "—"),
    ]
    add_table(document, [_("Fact"), _("Value")], facts)
    if brief.note:
        document.add_paragraph(brief.note)

    document.add_heading(_("Volume over time"), level=2)
    if brief.volume:
        label = _("Hour") if brief.hourly else _("Day")
        fmt = "%d.%m %H:00" if brief.hourly else "%d.%m.%Y"
        add_table(document, [label, _("Posts")], [(moment.strftime(fmt), count) for moment, count in brief.volume])
        document.add_paragraph()
        document.add_picture(io.BytesIO(bar_chart_png([count for _m, count in brief.volume])), width=Cm(14))
    else:
        document.add_paragraph(_("No posts."))

    document.add_heading(_("Typical posts"), level=2)
    document.add_paragraph().add_run(_("Personal data (names, phones, e-mails, flats) are hidden.")).italic = True
    for post in brief.typical:
        paragraph = document.add_paragraph(style="List Bullet")
        paragraph.add_run(f"{_date(post.posted_at)}, {post.channel}: ").bold = True
        paragraph.add_run(f"«{post.text}»")
    if not brief.typical:
        document.add_paragraph(_("No posts."))

    document.add_heading(_("What the departments reported"), level=2)
    if brief.reports:
        add_table(
            document,
            [_("Department"), _("Information"), _("Accepted")],
            [(r.department, r.information, _date(r.accepted_at)) for r in brief.reports],
        )
    else:
        document.add_paragraph(_("No accepted information from the departments yet."))

    document.add_heading(_("Draft statement"), level=2)
    for block in (statement if statement is not None else default_statement(brief)).split("\n\n"):
        if block.strip():
            document.add_paragraph(block.strip())
    return to_bytes(document)
