"""`{% answer_versions answer as rows %}`: an answer's text versions with their diffs (otklik.answers.versions)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from django import template

from otklik.answers.versions import VersionRow, version_rows

if TYPE_CHECKING:
    from otklik.answers.models import Answer

register = template.Library()


@register.simple_tag
def answer_versions(answer: Answer) -> list[VersionRow]:
    """Newest first: the latest text is what the reader looks for."""
    return list(reversed(version_rows(answer)))
