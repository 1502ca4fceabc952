"""`personal_data`: phone numbers, document numbers, e-mails and flat-level addresses of private persons.

Decisions (documented in docs/ANSWERS.md):
1. A mobile number (+7 9xx…, 8 9xx…, 9xx-xxx-xx-xx) is always a finding: it belongs to a person, even when the
   person works for a department.
2. A federal hotline 8-800… and emergency numbers (112, 01…) are no finding: they are public.
3. A city landline (8 (3466) 41-20-30, 41-20-30) is a finding unless a department is named right before it
   («диспетчерская», «ЕДДС», «приёмная», «администрация», «МКУ», «УК», «горячая линия»…): then it is the
   department's public number and no finding.
4. СНИЛС, a passport series and number, a 12-digit personal ИНН (a 10-digit ИНН is an organisation's: no finding),
   a personal account number («лицевой счёт № …»), an e-mail (except the official mailboxes of bodies: local part
   such as info/priem/adm/office…, or a domain of a government body), and a flat number («кв. 15», «квартира 7»).
Dates are never phones: dotted dates do not match the phone patterns (they use spaces, dashes and brackets only).
"""

from __future__ import annotations

import re

from django.utils.translation import gettext as _

from otklik.answers.checks import Context, Finding, finding

_B = r"(?<![\w+\-])"  # not glued to a word or a longer number
_E = r"(?![\w\-]|[.,]\d)"
# +7 / 8, then a 3–5-digit code and the rest: 11 digits in all (checked after the match).
FULL_PHONE_RE = re.compile(_B + r"(?:\+\s?7|8)[\s\-]*\(?\s*\d{3,5}\s*\)?[\s\-]*\d{1,3}(?:[\s\-]*\d{1,3}){1,3}" + _E)
# A mobile without the country prefix: 912-251-12-26, 912 251 12 26, (912) 251-12-26.
MOBILE_RE = re.compile(_B + r"\(?9\d{2}\)?[\s\-]*\d{3}[\s\-]*\d{2}[\s\-]*\d{2}" + _E)
# A city landline: 41-20-30, 2-41-20-30 (dashes required: «41 20 30» is as likely a count).
LANDLINE_RE = re.compile(_B + r"(?:\(\d{4,5}\)\s*)?\d{1,3}-\d{2}-\d{2}" + _E)

SNILS_RE = re.compile(_B + r"\d{3}[\s\-]\d{3}[\s\-]\d{3}[\s\-]\d{2}" + _E + r"|снилс\D{0,12}\d[\d\s\-]{9,14}\d")
PASSPORT_RE = re.compile(
    r"паспорт\w*(?:\s+(?:рф|гражданина\s+рф))?\D{0,20}\d{2}\s?\d{2}\s*(?:№|n|номер)?\s*\d{6}(?!\d)"
)
INN_RE = re.compile(r"(?<![а-я])инн[^\d.!?]{0,20}\d{12}(?!\d)")
ACCOUNT_RE = re.compile(r"лицев\w*\s+сч[её]т\w*\D{0,8}\d{5,}")
EMAIL_RE = re.compile(r"(?<![\w.+-])[\w.+-]+@[\w-]+(?:\.[\w-]+)+")
FLAT_RE = re.compile(r"(?<![а-я])(?:кв\.?|квартир[аыеуо]\w*)\s*№?\s*\d{1,4}(?:[а-я](?![а-я]))?(?!\d)")

OFFICIAL_MAIL_LOCAL = re.compile(
    r"^(?:info|priem|priemnaya|adm|admin|administration|office|mail|post|kanc|kancelyariya|pressa?|smi|"
    r"obr|obrashcheniya|dispatch|dispetcher|eds|edds|uk|help|support|hotline)\b"
)
OFFICIAL_MAIL_DOMAIN = re.compile(r"(?:\.gov\.ru|admhmao\.ru|adm\w*\.ru|n-vartovsk\.ru)$")
DEPARTMENT_BEFORE = re.compile(
    r"(?:диспетчер|еддс|едд|приемн|администрац|мку|муп|мау|уж?к\b|управляющ|отдел|департамент|служб|"
    r"горяч\w*\s+лини|телефон\w*\s+доверия|call|колл|дежурн|единой|справочн)[^.!?\n]{0,60}$"
)
EMERGENCY = {"112", "101", "102", "103", "104", "01", "02", "03", "04"}


def _digits(s: str) -> str:
    return re.sub(r"\D", "", s)


def phone_spans(lower: str) -> list[tuple[int, int, str]]:
    """(start, end, kind) of phone-like numbers; kind: mobile, hotline, landline."""
    found: list[tuple[int, int, str]] = []

    def taken(s: int, e: int) -> bool:
        return any(fs < e and s < fe for fs, fe, _k in found)

    for m in FULL_PHONE_RE.finditer(lower):
        digits = _digits(m.group())
        if len(digits) != 11:
            continue
        code = digits[1:4]
        kind = "hotline" if code in {"800", "804"} else "mobile" if code.startswith("9") else "landline"
        found.append((m.start(), m.end(), kind))
    for m in MOBILE_RE.finditer(lower):
        if not taken(m.start(), m.end()) and len(_digits(m.group())) == 10:
            found.append((m.start(), m.end(), "mobile"))
    for m in LANDLINE_RE.finditer(lower):
        if not taken(m.start(), m.end()):
            found.append((m.start(), m.end(), "landline"))
    return sorted(found)


def check(ctx: Context) -> list[Finding]:
    lower = ctx.lower
    findings: list[Finding] = []
    spans: list[tuple[int, int]] = []

    def add(start: int, end: int, message: str) -> None:
        if any(s < end and start < e for s, e in spans):
            return
        spans.append((start, end))
        findings.append(finding("personal_data", message, start, end))

    for m in SNILS_RE.finditer(lower):
        add(m.start(), m.end(), _("A document number (СНИЛС) of a person: remove it from the answer."))
    for m in PASSPORT_RE.finditer(lower):
        add(m.start(), m.end(), _("Passport details of a person: remove them from the answer."))
    for m in INN_RE.finditer(lower):
        add(m.start(), m.end(), _("A personal ИНН: remove it from the answer."))
    for m in ACCOUNT_RE.finditer(lower):
        add(m.start(), m.end(), _("A personal account number: remove it from the answer."))
    for start, end, kind in phone_spans(lower):
        if kind == "hotline":
            continue
        if kind == "landline":
            before = lower[max(0, start - 80) : start]
            if DEPARTMENT_BEFORE.search(before):
                continue
        add(start, end, _("A phone number of a person: remove it, or give the department's public number."))
    for m in EMAIL_RE.finditer(lower):
        local, _at, domain = m.group().partition("@")
        if OFFICIAL_MAIL_LOCAL.search(local) or OFFICIAL_MAIL_DOMAIN.search(domain):
            continue
        add(m.start(), m.end(), _("An e-mail address of a person: remove it from the answer."))
    for m in FLAT_RE.finditer(lower):
        add(m.start(), m.end(), _("A flat number makes the address personal: name the building only."))
    return findings
