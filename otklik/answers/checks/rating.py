"""`rating_request_after_refusal`: the answer refuses or says it is not possible, and asks to rate it.

A negative outcome («невозможно», «не представляется возможным», «к сожалению», «отказано», «не входит в
компетенцию»…) plus a request to rate («оцените», «поставьте оценку», «оценить наш ответ»…): the finding spans
the request.
"""

from __future__ import annotations

import re

from django.utils.translation import gettext as _

from otklik.answers.checks import Context, Finding, finding

REFUSAL_RE = re.compile(
    r"(?<![а-я])(?:невозмож\w*|не\s+представляется\s+возможным|нельзя|не\s+можем|не\s+сможем|отказ\w*"
    r"|к\s+сожалению|не\s+планируется|не\s+предусмотрен\w*|не\s+будет|не\s+будут|не\s+подлежит"
    r"|не\s+относится\s+к\s+(?:компетенции|полномочиям)|не\s+входит\s+в\s+(?:компетенцию|полномочия)"
    r"|оснований\s+(?:для\s+\w+\s+)?нет|нет\s+оснований|не\s+имеется\s+возможности|нет\s+возможности)(?![а-я])"
)
RATING_RE = re.compile(
    r"(?<![а-я])(?:оцените|оценить|поставьте\s+(?:\w+\s+)?оценку|поставить\s+(?:\w+\s+)?оценку"
    r"|оценку\s+(?:нашему\s+|нашей\s+)?(?:ответу|работе)|оцените\s+(?:наш|нашу)\s+\w+)(?![а-я])"
)


def check(ctx: Context) -> list[Finding]:
    lower = ctx.lower
    rating = RATING_RE.search(lower)
    if rating is None or REFUSAL_RE.search(lower) is None:
        return []
    return [
        finding(
            "rating_request_after_refusal",
            _("The answer refuses and asks for a rating: do not ask to rate a negative outcome."),
            rating.start(),
            rating.end(),
        )
    ]
