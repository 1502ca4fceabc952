"""`greeting_missing`: the answer does not greet the person («Здравствуйте», «Добрый день», «Уважаемая Анна»).

The greeting is looked for in the opening of the answer (the first `OPENING` characters), so «Анна, добрый день!»
and «Уважаемый Олег Петрович!» count. The finding is about something missing: start = end = 0.
"""

from __future__ import annotations

import re

from django.utils.translation import gettext as _

from otklik.answers.checks import Context, Finding, finding

OPENING = 80
GREETING_RE = re.compile(
    r"(?<![а-я])(?:здравствуй\w*|добр(?:ый|ое|ого)\s+(?:день|утро|вечер|дня|утра|вечера|времени\s+суток)"
    r"|уважаем\w*|приветствуем|привет\w*|доброго\s+времени)"
    # A template's greeting variable not yet filled in («{greeting}», «{{ greeting }}»).
    r"|\{\{?\s*greeting"
)


def check(ctx: Context) -> list[Finding]:
    opening = ctx.lower.lstrip()[:OPENING]
    if GREETING_RE.search(opening):
        return []
    return [
        finding(
            "greeting_missing",
            _("The answer does not greet the person: start with «Здравствуйте» or «Добрый день» and the name."),
            suggestion="Здравствуйте!",
        )
    ]
