"""`deadline_missing`: work promised or a problem confirmed without a concrete date or period.

1. Vague timing — «в ближайшее время», «в кратчайшие сроки», «по мере возможности», «будет рассмотрен вопрос»… —
   is a finding on the phrase unless its own sentence names a date (`dates.date_spans`).
2. A promise of work — «будет выполнен», «запланирован», «передано в работу», «отремонтируют», «уберут»… — is a
   finding on the promise when the whole answer names no date at all (conservative: a promise in one sentence is
   often dated in the next).
"""

from __future__ import annotations

import re

from django.utils.translation import gettext as _

from otklik.answers.checks import Context, Finding, dates, finding, parses

VAGUE_RE = re.compile(
    r"(?<![а-я])(?:"
    r"в\s+ближайшее\s+время|в\s+ближайшие\s+(?:дни|сроки)|в\s+кратчайш\w+\s+срок\w*|в\s+скор\w+\s+времени"
    r"|в\s+возможно\s+коротк\w+\s+срок\w*|по\s+мере\s+(?:возможност\w+|поступлени\w+[^.!?]{0,40}|финансировани\w+)"
    r"|по\s+возможности|при\s+(?:наличии|выделении|поступлении)\s+(?:финансировани\w+|средств|денежн\w+\s+средств)"
    r"|в\s+плановом\s+порядке|в\s+порядке\s+очередности|в\s+установленн\w+\s+срок\w*|в\s+перспективе"
    r"|(?:будет|будут)\s+рассмотрен\w*\s+(?:вопрос|возможност)\w*|рассматривается\s+(?:вопрос|возможность)\w*"
    r"|(?:будет|будут)\s+рассмотрен\w*|вопрос\s+(?:находится|остается|взят)\s+на\s+контрол\w+"
    r"|(?:находится|взят\w*|поставлен\w*)\s+на\s+контрол\w+"
    r"|(?:вопрос|возможность)\s+(?:[\w«»-]+\s+){0,5}?рассматрива\w+"
    r"|(?:сообщим|проинформируем|будет\s+сообщено|будет\s+дан\s+ответ)\s+(?:вам\s+)?дополнительно"
    r")"
)
PROMISE_RE = re.compile(
    r"(?<![а-я])(?:"
    r"(?:будет|будут|планируется|планируют|запланирован\w*|предусмотрен\w*)\s+(?:\w+\s+){0,2}?"
    r"(?:выполн|провед|произвед|отремонтир|устран|замен|установ|восстанов|убран|вывез|очищ|заасфальтир|"
    r"благоустро|постро|демонтир|покраш|обрезан|спилен|закрыт|открыт|подключ|включ|организован|рассмотр|"
    r"ремонтир|убира|вывози|чисти|очища|заменя|устраня)\w*"
    r"|запланирован\w*|включен\w*\s+в\s+план\w*|передан\w*\s+в\s+работу|принят\w*\s+в\s+работу"
    r"|(?:направлен\w*|передан\w*)\s+(?:[\w«»-]+\s+){0,5}?для\s+(?:устранени|принятия|исполнени|выполнени|решени)\w*"
    r")"
)
# Perfective work verbs whose future form is a promise («отремонтируют», «уберём»); «будут убирать» is in
# PROMISE_RE.
WORK_LEMMAS = frozenset(
    [
        "отремонтировать",
        "устранить",
        "заменить",
        "убрать",
        "вывезти",
        "починить",
        "восстановить",
        "установить",
        "заделать",
        "очистить",
        "почистить",
        "прочистить",
        "сбросить",
        "выполнить",
        "провести",
        "построить",
        "засыпать",
        "покрасить",
        "покосить",
        "скосить",
        "спилить",
        "обрезать",
        "отрегулировать",
        "перенести",
        "поставить",
        "подключить",
        "откачать",
        "заасфальтировать",
        "благоустроить",
        "обработать",
        "демонтировать",
        "смонтировать",
        "осветить",
        "исправить",
        "наладить",
    ]
)


def _future_work_verbs(ctx: Context) -> list[tuple[int, int]]:
    spans = []
    for token in ctx.tokens:
        low = token.lower
        if not low.isalpha():
            continue
        # The most likely parse only: «вывозят» is mostly the present of «вывозить», not a promise.
        found = parses(low)
        if not found:
            continue
        tag = found[0].tag
        if tag.POS == "VERB" and "perf" in tag and "futr" in tag and found[0].normal_form in WORK_LEMMAS:
            spans.append((token.start, token.end))
    return spans


def check(ctx: Context) -> list[Finding]:
    lower = ctx.lower
    date_spans = dates.date_spans(lower)

    def dated(start: int) -> bool:
        s_start, s_end = ctx.sentence_of(start)
        return any(s_start <= ds < s_end for ds, _de in date_spans)

    findings: list[Finding] = []
    taken: list[tuple[int, int]] = []
    for m in VAGUE_RE.finditer(lower):
        if ctx.in_quotes(m.start(), m.end()) or dated(m.start()):
            continue
        taken.append((m.start(), m.end()))
        findings.append(
            finding(
                "deadline_missing",
                _("A promise without a date: name the date or the period («до 15 декабря», «в течение 3 дней»)."),
                m.start(),
                m.end(),
            )
        )
    if findings or date_spans:
        return findings
    promises = [(m.start(), m.end()) for m in PROMISE_RE.finditer(lower)]
    promises += _future_work_verbs(ctx)
    for start, end in sorted(promises):
        if any(s < end and start < e for s, e in taken) or ctx.in_quotes(start, end):
            continue
        taken.append((start, end))
        findings.append(
            finding(
                "deadline_missing",
                _("Work is promised without a date: say when it will be done («до 15 декабря», «в декабре»)."),
                start,
                end,
            )
        )
    return findings
