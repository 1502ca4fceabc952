"""`evidence_missing`: work reported done with no photo or act attached or mentioned.

Done-work markers are short participles and past plural verbs of work («выполнены», «устранено», «произведён
ремонт», «вывезен», «убрали»), not after «будет», «не», «должны»… (a promise or a negation is not a report).
Evidence is an attachment (`attachments > 0`) or a mention of a photo, a video or an act («фото», «фотоматериалы»,
«акт выполненных работ», «прилагаем»). The finding spans the first report of work done.
"""

from __future__ import annotations

import re

from django.utils.translation import gettext as _

from otklik.answers.checks import Context, Finding, finding

_WORK_NOUNS = r"(?:ремонт|работ|уборк|замен|очистк|покос|обрезк|вывоз|ямочн|восстановлени|монтаж|демонтаж|покраск)"
DONE_RE = re.compile(
    r"(?<![а-я])(?:"
    r"выполнен[аоы]?|устранен[аоы]?|произвед[её]н[аоы]?|отремонтирован[аоы]?|вывезен[аоы]?|убран[аоы]?"
    r"|очищен[аоы]?|заменен[аоы]?|восстановлен[аоы]?|заделан[аоы]?|засыпан[аоы]?|покрашен[аоы]?|скошен[аоы]?"
    r"|спилен[аоы]?|демонтирован[аоы]?|заасфальтирован[аоы]?|прочищен[аоы]?"
    r"|проведен[аоы]?(?=\s+(?:\w+\s+){0,2}" + _WORK_NOUNS + r")"
    r"|установлен[аоы]?(?!\s*,?\s*что)"
    r"|(?:выполнил|устранил|отремонтировал|вывез|убрал|очистил|заменил|восстановил|заделал|починил"
    r"|засыпал|покрасил|скосил|спилил|демонтировал|заасфальтировал|прочистил|установил)(?:и|а|о)?"
    r")(?![а-я])"
)
NOT_DONE_BEFORE = re.compile(
    r"(?:будет|будут|не|должн\w*|может|могут|планируется|планирует\w*|будут\s+ли|если|когда|чтобы|после\s+того\s+как)"
    r"\s+(?:\w+\s+){0,1}$"
)
EVIDENCE_RE = re.compile(
    r"(?<![а-я])(?:фото\w*|фотограф\w*|снимк\w*|снимок|видео\w*|акт(?:а|ом|ы|ов)?|прилага\w*|приложен\w*"
    r"|во\s+вложени\w*)(?![а-я])"
)


def check(ctx: Context) -> list[Finding]:
    if ctx.attachments > 0:
        return []
    lower = ctx.lower
    if EVIDENCE_RE.search(lower):
        return []
    for m in DONE_RE.finditer(lower):
        if NOT_DONE_BEFORE.search(lower[max(0, m.start() - 40) : m.start()]):
            continue
        if ctx.in_quotes(m.start(), m.end()):
            continue
        return [
            finding(
                "evidence_missing",
                _(
                    "Work is reported done without evidence: attach a photo or the act of works, or say where to "
                    "see them."
                ),
                m.start(),
                m.end(),
                suggestion="Фото после работ прилагаем.",
            )
        ]
    return []
