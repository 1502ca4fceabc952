"""The outbox of publications (otklik.answers.models.Publication). OWNER: the outbox helper fills this in.

`do_enqueue_publications(answer, actor=…, link=…)` is called by otklik.answers.services.do_publish_answer inside its
transaction, once the answer is published: one Publication per thread of the incident.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from otklik.accounts.models import User
    from otklik.answers.models import Answer, Publication


def do_enqueue_publications(answer: Answer, *, actor: User | None, link: str = "") -> list[Publication]:
    return []
