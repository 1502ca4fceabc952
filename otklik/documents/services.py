"""The writers of the documents app: saving letter templates and sending media briefs."""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING

from django.conf import settings
from django.core.mail import EmailMessage
from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from otklik.core.errors import DomainError
from otklik.core.permissions import ensure_head, ensure_service
from otklik.documents import media_brief
from otklik.documents.choices import DispatchStatus
from otklik.documents.letters import unknown_variables
from otklik.documents.models import LetterTemplate, MediaDispatch

if TYPE_CHECKING:
    from otklik.accounts.models import User
    from otklik.cases.models import Incident
    from otklik.nlp.models import Spike

log = logging.getLogger(__name__)

DOCX_MIME = "application/vnd.openxmlformats-officedocument.wordprocessingml.document"


def do_save_letter_template(
    template: LetterTemplate, *, actor: User | None, name: str, subject: str, body: str
) -> LetterTemplate:
    """The head edits a letter template; a variable the kind does not know is refused (field `body`/`subject`)."""
    ensure_head(actor)
    for field, text in (("subject", subject), ("body", body)):
        unknown = unknown_variables(template.kind, text)
        if unknown:
            raise DomainError(
                _("Unknown variables: %(names)s.") % {"names": ", ".join("{{ " + n + " }}" for n in unknown)},
                field=field,
            )
    if not body.strip():
        raise DomainError(_("The text of the letter is empty."), field="body")
    template.name, template.subject, template.body, template.updated_by = name, subject, body, actor
    template.save(update_fields=["name", "subject", "body", "updated_by", "updated_at"])
    return template


def dispatch_for(*, spike: Spike | None = None, incident: Incident | None = None) -> MediaDispatch | None:
    if spike is not None:
        return MediaDispatch.objects.filter(spike=spike).first()
    return MediaDispatch.objects.filter(incident=incident).first()


def do_send_media_brief(
    *, actor: User | None, spike: Spike | None = None, incident: Incident | None = None, statement: str = ""
) -> MediaDispatch:
    """Send the media brief of a spike or an incident to the media department, once.

    1. Only the service; the media address must be configured (OTKLIK_MEDIA_EMAIL).
    2. One dispatch per spike or incident (a unique constraint: a double click or two operators send one e-mail);
       a failed one is queued again.
    3. The e-mail is sent by a task after commit (`send_media_brief_task`), which records the event.
    """
    from otklik.documents.tasks import send_media_brief_task

    ensure_service(actor)
    if (spike is None) == (incident is None):
        raise DomainError(_("A media brief is about one spike or one incident."))
    recipient = media_email()
    if not recipient:
        raise DomainError(_("The media department's e-mail is not configured (OTKLIK_MEDIA_EMAIL)."))
    with transaction.atomic():
        existing = dispatch_for(spike=spike, incident=incident)
        if existing is not None:
            if existing.status != DispatchStatus.FAILED:
                raise DomainError(_("The media brief has already been sent to the media department."))
            if not MediaDispatch.objects.filter(pk=existing.pk, status=DispatchStatus.FAILED).update(
                status=DispatchStatus.PENDING, statement=statement, recipient=recipient, requested_by=actor, error=""
            ):
                raise DomainError(_("The media brief has already been sent to the media department."))
            dispatch = existing
        else:
            try:
                with transaction.atomic():
                    dispatch = MediaDispatch.objects.create(
                        spike=spike, incident=incident, statement=statement, recipient=recipient, requested_by=actor
                    )
            except IntegrityError as exc:
                raise DomainError(_("The media brief has already been sent to the media department.")) from exc
        send_media_brief_task.delay_on_commit(dispatch.pk, attempt=dispatch.attempts)
    return dispatch


def media_email() -> str:
    return media_brief.media_email()


def send_media_brief(dispatch_id: int) -> str:
    """Build the DOCX and e-mail it (claim `pending` → `sending`, so it is sent at most once); record the outcome,
    the incident's event and a notification to the head(s) of the service."""
    from otklik.accounts.choices import Role
    from otklik.cases.choices import EventVerb
    from otklik.cases.services import record_event
    from otklik.notifications.choices import NotificationKind
    from otklik.notifications.services import do_notify, service_recipients

    if not MediaDispatch.objects.filter(pk=dispatch_id, status=DispatchStatus.PENDING).update(
        status=DispatchStatus.SENDING
    ):
        return MediaDispatch.objects.filter(pk=dispatch_id).values_list("status", flat=True).first() or "missing"
    dispatch = MediaDispatch.objects.select_related("spike", "incident", "requested_by").get(pk=dispatch_id)
    brief = (
        media_brief.collect_for_spike(dispatch.spike)
        if dispatch.spike is not None
        else media_brief.collect_for_incident(dispatch.incident)  # type: ignore[arg-type]
    )
    statement = dispatch.statement or media_brief.default_statement(brief)
    content = media_brief.render_docx(brief, statement)
    subject = _("Media brief: %(title)s") % {"title": brief.title}
    body = _("The media brief of the feedback service is attached.\n\n%(statement)s") % {"statement": statement}
    message = EmailMessage(subject, body, settings.DEFAULT_FROM_EMAIL, [dispatch.recipient])
    message.attach(brief.filename, content, DOCX_MIME)
    try:
        message.send()
    except Exception as exc:
        MediaDispatch.objects.filter(pk=dispatch_id).update(
            status=DispatchStatus.FAILED, attempts=dispatch.attempts + 1, error=f"{type(exc).__name__}: {exc}"[:2000]
        )
        log.warning("media brief %s not sent: %s", dispatch_id, exc)
        return DispatchStatus.FAILED
    now = timezone.now()
    with transaction.atomic():
        MediaDispatch.objects.filter(pk=dispatch_id).update(
            status=DispatchStatus.SENT, sent_at=now, attempts=dispatch.attempts + 1, filename=brief.filename, error=""
        )
        if dispatch.incident is not None:
            record_event(
                dispatch.incident,
                EventVerb.UPDATED,
                actor=dispatch.requested_by,
                after={"media_brief": dispatch.recipient, "media_dispatch": dispatch.pk},
                message=_("Media brief sent to the media department (%(email)s).") % {"email": dispatch.recipient},
                at=now,
            )
        url = f"/documents/media/{brief.subject}/{brief.subject_id}/"
        do_notify(
            service_recipients(roles=(Role.HEAD,)),
            kind=NotificationKind.GENERIC,
            title=_("Media brief sent: %(title)s") % {"title": brief.title},
            body=_("Sent to %(email)s.") % {"email": dispatch.recipient},
            url=url,
            dedup_key=f"media-brief:{dispatch.pk}",
            incident_id=dispatch.incident_id,
        )
    return DispatchStatus.SENT
