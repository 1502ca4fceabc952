"""`legal_overload`: full names and numbers of acts piled up instead of an explanation.

A citation is a run of act markers close together: «Федеральный закон от 06.10.2003 № 131-ФЗ», «постановление
администрации города от 12.03.2020 № 245», «ст. 16 Жилищного кодекса РФ», «п. 3.2 Правил …». Markers within
`JOIN` characters of each other, with no comma or «и» between, are one citation. One act cited properly is fine;
more than `MAX_CITATIONS` is a finding on each citation.
"""

from __future__ import annotations

import re

from django.utils.translation import gettext as _

from otklik.answers.checks import Context, Finding, finding

MAX_CITATIONS = 1
JOIN = 25
ACT_RE = re.compile(
    r"(?<![а-я])(?:"
    r"федеральн\w+\s+закон\w*|закон\w*\s+(?:рф|российской\s+федерации|хмао|автономного\s+округа)"
    r"|\d+-(?:фз|фкз|оз|п|р|рп|па)(?![а-я])"
    r"|(?:постановлени|распоряжени|приказ|указ|решени)\w*\s+(?:[\w«»\"-]+\s+){0,6}?"
    r"(?:от\s+\d{1,2}\.\d{1,2}\.\d{2,4}(?:\s*г\.?)?(?:\s*№\s*\d[\w/-]*)?|№\s*\d[\w/-]*)"
    r"|(?:от\s+\d{1,2}\.\d{1,2}\.\d{2,4}\s*(?:г\.?\s*)?)?№\s*\d+[\w/.-]*(?=\s*(?:-?фз|«|\"|$|[,.;)]))"
    r"|(?:ст\.|стать\w+|п\.|пп\.|пункт\w*|ч\.|част\w+)\s*\d+(?:[.\d]*)(?:\s*(?:ч\.|п\.|част\w+|пункт\w*)\s*\d+)*"
    r"|(?:жилищн|градостроительн|гражданск|земельн|бюджетн|налогов|лесн|водн|уголовн|трудов)\w+\s+кодекс\w*"
    r"|коап(?:\s+рф)?|(?:сп|снип|санпин|гост)\s+[\d.\-]+"
    r")"
)
# Between two acts: «…, постановлением …», «… и ст. 16 …».
SEPARATOR_RE = re.compile(r"[,;]|(?<![а-я])(?:и|а\s+также|либо|или)(?![а-я])")
# «№ 5» after a school, a house, a kindergarten is not an act.
NOT_ACT_BEFORE = re.compile(
    r"(?:школ\w*|дом\w*|сад\w*|детсад\w*|поликлиник\w*|больниц\w*"
    r"|маршрут\w*|трест\w*|корпус\w*|лицей\w*|гимнази\w*|участ\w*|квартал\w*)"
    r"\s*$"
)


def citations(ctx: Context) -> list[tuple[int, int]]:
    lower = ctx.lower
    spans: list[list[int]] = []
    for m in ACT_RE.finditer(lower):
        if m.group().startswith("№") and NOT_ACT_BEFORE.search(lower[max(0, m.start() - 30) : m.start()]):
            continue
        gap = lower[spans[-1][1] : m.start()] if spans else ""
        if spans and len(gap) <= JOIN and not SEPARATOR_RE.search(gap):
            spans[-1][1] = max(spans[-1][1], m.end())
        else:
            spans.append([m.start(), m.end()])
    return [(s, e) for s, e in spans]


def check(ctx: Context) -> list[Finding]:
    found = citations(ctx)
    if len(found) <= MAX_CITATIONS:
        return []
    return [
        finding(
            "legal_overload",
            _("%(count)s acts are cited: explain in plain words what follows for the person, and cite one act at most.")
            % {"count": len(found)},
            s,
            e,
        )
        for s, e in found
    ]
