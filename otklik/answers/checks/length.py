"""`too_short` / `too_long`: the answer's length outside the settings' bounds.

Thresholds: `OTKLIK_ANSWER_MIN_CHARS` (default 80: below it an answer cannot say what will be done, by whom and
when) and `OTKLIK_ANSWER_MAX_CHARS` (default 2500: about a screen of a phone; longer answers are not read). Lengths
count the text without the surrounding whitespace. `too_short` is about something missing (start = end = 0);
`too_long` spans the part past the limit.
"""

from __future__ import annotations

from django.conf import settings
from django.utils.translation import gettext as _

from otklik.answers.checks import Context, Finding, finding

MIN_CHARS = 80
MAX_CHARS = 2500


def bounds() -> tuple[int, int]:
    return (
        int(getattr(settings, "OTKLIK_ANSWER_MIN_CHARS", MIN_CHARS)),
        int(getattr(settings, "OTKLIK_ANSWER_MAX_CHARS", MAX_CHARS)),
    )


def check(ctx: Context) -> list[Finding]:
    low, high = bounds()
    stripped = ctx.text.strip()
    length = len(stripped)
    if length < low:
        return [
            finding(
                "too_short",
                _(
                    "The answer is too short (%(length)s characters, at least %(min)s): say what will be done, "
                    "by whom and when."
                )
                % {"length": length, "min": low},
            )
        ]
    if length > high:
        offset = len(ctx.text) - len(ctx.text.lstrip())
        return [
            finding(
                "too_long",
                _("The answer is too long (%(length)s characters, at most %(max)s): keep what the person asked about.")
                % {"length": length, "max": high},
                start=offset + high,
                end=offset + length,
            )
        ]
    return []
