"""The manual channel: the operator publishes the answer by hand and records the link to it.

Every channel without an adapter in `OTKLIK_CHANNEL_ADAPTERS` is manual; naming this class there for a channel
says the same explicitly. Its publications are created in status `manual` and never reach a worker: they wait
until the operator records the link (otklik.answers.outbox.do_record_manual_publication).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from django.core.exceptions import ValidationError
from django.core.validators import URLValidator
from django.utils.translation import gettext as _

from otklik.answers.channels import PermanentChannelError, Published, Thread
from otklik.core.errors import DomainError

if TYPE_CHECKING:
    from otklik.answers.models import Answer

MAX_LINK_LENGTH = 1000


class ManualAdapter:
    """Publishes nothing by itself: the outbox sees `manual = True` and waits for the operator."""

    manual = True

    def publish(self, answer: Answer, thread: Thread, idempotency_key: str) -> Published:
        raise PermanentChannelError(_("This channel is published by hand: record the link to the reply."))

    def find_published(self, thread: Thread, idempotency_key: str) -> Published | None:
        return None


def is_manual(adapter: object | None) -> bool:
    return adapter is None or bool(getattr(adapter, "manual", False))


def clean_link(url: str) -> str:
    """The link to a reply published by hand: an http(s) URL, at most 1000 characters."""
    url = (url or "").strip()
    if not url:
        raise DomainError(_("Paste the link to the published reply."), field="url")
    if len(url) > MAX_LINK_LENGTH:
        raise DomainError(_("The link is too long."), field="url")
    try:
        URLValidator(schemes=["http", "https"])(url)
    except ValidationError as exc:
        raise DomainError(
            _("This is not a link to a reply: copy the address starting with https:// from the network."),
            field="url",
        ) from exc
    return url
