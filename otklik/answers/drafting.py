"""Drafting answers from templates (otklik.answers.models.AnswerTemplate).

Interface used by the card's editor (otklik.cases.views.card):
    draft_texts(incident, *, posts, lead_info, lead_name) -> {kind: text}
One first text per kind of answer. OWNER: the templates helper fills this in (pick the most specific active
template — topic, group, general — and render its variables); until then the built-in texts of
otklik.cases.views.card.answer_templates are the fallback.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from otklik.cases.models import Incident
    from otklik.intake.models import Post


def draft_texts(incident: Incident, *, posts: list[Post], lead_info: str, lead_name: str) -> dict[str, str]:
    from otklik.cases.views.card import answer_templates

    return answer_templates(posts, lead_info, lead_name)
