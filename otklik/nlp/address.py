"""Street addresses in post text, by rules: «ул. Ленина, д. 5», «на улице садовой 7а», «10 мкр, дом 5».

`extract_address()` returns the first address the text mentions, with the street as on the street sign (an
adjective is put into the nominative agreeing with the street type: «по улице Садовой» → «Садовая»; genitive
names stay as they are: «Ленина», «Карла Маркса», «Победы»). The rules are conservative: a word is taken as a
street only after a street type word («ул.», «проспект», «мкр» …), before one («Садовая улица»), or — when it is a
proper name in the genitive or a common street noun («Мира») — right before a house number.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache

from otklik.nlp.normalize import normalize
from otklik.nlp.text import morph


@dataclass(frozen=True)
class Address:
    street: str
    street_type: str
    house: str
    raw: str

    @property
    def display(self) -> str:
        """«улица Ленина, 5», «10 микрорайон, 5»: how the incident shows the place."""
        if self.street_type == "микрорайон":
            place = f"{self.street} {self.street_type}"
        elif self.street_type == "other":
            place = self.street
        else:
            place = f"{self.street_type} {self.street}"
        return f"{place}, {self.house}" if self.house else place


# (street type, its grammatical gender, the pattern of its full forms and abbreviations).
_ABBR_END = r"(?:\.|(?![\w-]))"
_TYPES: list[tuple[str, str, str]] = [
    ("микрорайон", "masc", rf"микрорайон\w*|мкр-н{_ABBR_END}|мкрн?{_ABBR_END}"),
    ("проспект", "masc", rf"проспект\w*|просп{_ABBR_END}|пр-кт{_ABBR_END}|пр-т{_ABBR_END}|пр\."),
    ("проезд", "masc", rf"проезд\w*|пр-д{_ABBR_END}"),
    ("переулок", "masc", r"переул\w*|пер\."),
    ("улица", "femn", rf"улиц\w*|ул{_ABBR_END}"),
    ("шоссе", "neut", r"шоссе|ш\."),
    ("бульвар", "masc", rf"бульвар\w*|б-р{_ABBR_END}|бул{_ABBR_END}"),
    ("площадь", "femn", r"площад\w*|пл\."),
    ("набережная", "femn", rf"набережн\w*|наб{_ABBR_END}"),
    ("тупик", "masc", r"тупик\w*|туп\."),
]
_TYPE_GENDER = {name: gender for name, gender, _ in _TYPES}
TYPE_GENDER = _TYPE_GENDER
_TYPE_RE = re.compile(
    r"(?<![\w-])(?:" + "|".join(f"(?P<t{i}>{pattern})" for i, (_, _, pattern) in enumerate(_TYPES)) + ")",
    re.IGNORECASE,
)

_WORD = r"[А-Яа-яЁё]+(?:-[А-Яа-яЁё]+)*"
_WORD_RE = re.compile(rf"\s*(?:(?:им\.|имени)\s*)?(?P<w>{_WORD})(?![\w-])")
_NEXT_WORD_RE = re.compile(rf"[ \t]+(?P<w>{_WORD})(?![\w-])")
_MONTHS = "января|февраля|марта|апреля|мая|июня|июля|августа|сентября|октября|ноября|декабря"
_NUMBER_NAME_RE = re.compile(
    rf"\s*(?P<n>\d{{1,3}}(?:-?(?:го|е|я|й|ая|ой|ий))?)\s+(?:(?P<let>лет)\s+(?P<w>{_WORD})|(?P<m>{_MONTHS})(?![\w-]))",
    re.IGNORECASE,
)
_MKR_CODE_RE = re.compile(r"\s*(?:№\s*)?(?P<code>\d{1,3}[А-Яа-яЁё]?)(?![\w/])")
_MKR_FIRST_RE = re.compile(
    r"(?<![\w/.,-])(?P<code>\d{1,3}[А-Яа-яЁё]?)(?:-?(?:й|ом|м|го))?\s*(?P<type>микрорайон\w*|мкр-н\.?|мкрн?\.?)"
    r"(?![\w-])",
    re.IGNORECASE,
)

_HOUSE_RE = re.compile(
    r"\s*,?\s*(?P<marker>(?:дом|д)\.?\s*(?:№\s*)?|№\s*)?"
    r"(?P<num>\d{1,4})(?!\d|[.,:]\d|-[а-яА-ЯёЁ]{2})"
    r"(?P<lit>[а-яА-ЯёЁ](?![а-яА-ЯёЁ\d]))?"
    r"(?:\s*/\s*(?P<frac>\d{1,4}[а-яА-Я]?)(?![\w]))?"
    r"(?:\s*,?\s*(?:корпус|корп\.?|к\.?)\s*(?P<korp>\d{1,3}[а-яА-Я]?)(?![\w]))?"
    r"(?:\s*,?\s*(?:строение|стр\.?|с\.?)\s*(?P<str>\d{1,3})(?![\w]))?",
    re.IGNORECASE,
)
# A number followed by one of these is a quantity, not a house («на улице Ленина 5 дней нет воды»).
_UNIT_RE = re.compile(
    r"\s*(?:лет|год|дн|день|недел|месяц|час|мин|сек|градус|рубл|руб|тыс|раз|км|метр|м\b|см|человек|чел|шт|"
    r"числ|подъезд|этаж|квартир|кв\.?\s*м\b|машин|автомобил|%|°|-?х\b|-?ти\b|-?ми\b|-?го\b|-?е\b)",
    re.IGNORECASE,
)
# Without «д.»/«дом» a number after a bare name must not be a day of a date («Сергея 5 апреля»).
# («Ленина 5 12.11.2026» is still house 5: a full date after it is fine).
_WEAK_HOUSE_REJECT_RE = re.compile(rf"\s*(?:{_MONTHS})|\s+\d{{1,4}}(?:\s|$)", re.IGNORECASE)
# «д. Татаренкова» is a village; «г. Ленинск» a town: a bare name right after these is not a street.
_SETTLEMENT_BEFORE_RE = re.compile(
    r"(?:(?<![\w-])(?:д|дер|с|п|пос|г|пгт|ст|х)\.\s*|(?<![\w-])(?:деревн|сел|посел|город|станиц|хутор)\w*\s+)$",
    re.IGNORECASE,
)


# Words that never belong to a street name (they end it): houses, flats, places, function words.
def _words(text: str) -> frozenset[str]:
    return frozenset(text.split())


_STOP_WORDS = _words(
    """
    дом дома доме домом домов д кв квартира квартиры квартире подъезд подъезда подъезде корпус корп стр строение
    около возле рядом напротив у в во на и или а но по за с со к от до из нет не уже опять снова тоже также
    где когда там тут здесь вот это этот эта этой этом
    """
)
# Common nouns that name streets in the genitive and may stand alone before a house number («Мира 52»).
_STREET_NOUNS = _words(
    """
    мир победа революция свобода труд дружба космонавт строитель нефтяник энтузиаст комсомол
    пионер интернационал коммунар партизан геолог энергетик металлург шахтер химик декабрист
    """
)
# Adjectives that describe a street rather than name it («на соседней улице 5 машин»).
_NOT_NAME_ADJECTIVES = _words(
    """
    соседний другой любой каждый весь один нужный ближайший близлежащий темный грязный узкий широкий тихий
    оживленный длинный короткий эта этот тот наш ваш их свой
    """
)
_KEEP_LOWER = frozenset({"лет", "и", "де", "фон", "ван"})
_PROPER = ("Surn", "Name", "Patr", "Geox")
_BAD_POS = frozenset({"VERB", "INFN", "ADVB", "PRED", "PREP", "CONJ", "PRCL", "NPRO", "INTJ", "NUMR", "COMP"})


@lru_cache(maxsize=50_000)
def _word_info(word: str) -> tuple[bool, bool, bool, bool]:
    """(usable in a name, adjective, proper name in the genitive, common street noun) for a lowercase word.

    Proper names count only in the masculine or plural genitive («Ленина», «Героев»): a feminine one is far more
    often a person written to («Звонила Ивановой 5 раз») than a street.
    """
    parses = morph().parse(word)
    if not parses:
        return (False, False, False, False)
    best = parses[0]
    usable = best.tag.POS not in _BAD_POS and best.tag.POS in {"NOUN", "ADJF", None}
    adjective = (
        best.tag.POS == "ADJF"
        and "Apro" not in best.tag
        and "Poss" not in best.tag
        and best.normal_form.replace("ё", "е") not in _NOT_NAME_ADJECTIVES
    )
    proper_gent = any(
        p.score >= 0.05
        and p.tag.case == "gent"
        and "Fixd" not in p.tag
        and ("masc" in p.tag or "plur" in p.tag)
        and any(g in p.tag for g in _PROPER)
        for p in parses
    )
    street_noun = best.tag.POS == "NOUN" and best.normal_form.replace("ё", "е") in _STREET_NOUNS
    return (usable, adjective, proper_gent, street_noun)


def _is_capitalised(word: str) -> bool:
    return word[:1].isupper()


def _nominative(words: list[str], street_type: str) -> str:
    """The name as on the sign: adjectives-only names agree with the type; anything else stays as written."""
    lowered = [w.lower() for w in words]
    gender = _TYPE_GENDER.get(street_type, "femn")
    if lowered and all(not w[:1].isdigit() and _word_info(w)[1] for w in lowered):
        inflected = []
        for w in lowered:
            parse = morph().parse(w)[0]
            form = parse.inflect({"nomn", "sing", gender})
            inflected.append(form.word if form is not None else w)
        lowered = inflected
    return " ".join(_title(w) for w in lowered)


def _title(word: str) -> str:
    if word in _KEEP_LOWER or word[:1].isdigit():
        return word
    return "-".join(part[:1].upper() + part[1:] for part in word.split("-"))


def _house(text: str, pos: int, *, weak: bool) -> tuple[str, int] | None:
    """A house number starting at `pos` (after optional «,», «д.», «дом», «№»): (house, end) or None."""
    match = _HOUSE_RE.match(text, pos)
    if match is None:
        return None
    if _UNIT_RE.match(text, match.end()):
        return None
    if weak and not match.group("marker") and _WEAK_HOUSE_REJECT_RE.match(text, match.end()):
        return None
    house = match.group("num") + (match.group("lit") or "").lower()
    if match.group("frac"):
        house += "/" + match.group("frac").lower()
    if match.group("korp"):
        house += "к" + match.group("korp").lower()
    if match.group("str"):
        house += "с" + match.group("str")
    return house, match.end()


def _name_after(text: str, pos: int, street_type: str) -> tuple[list[str], int, bool] | None:
    """The street name right after a type word: (words, end, trusted) or None. Trusted: capitalised or numeric."""
    if street_type == "микрорайон":
        code = _MKR_CODE_RE.match(text, pos)
        if code:
            return [code.group("code").upper()], code.end(), True
    numeric = _NUMBER_NAME_RE.match(text, pos)
    if numeric:
        words = [numeric.group("n").lower()]
        if numeric.group("let"):
            words += ["лет", numeric.group("w")]
        else:
            words.append(numeric.group("m"))
        return words, numeric.end(), True
    first = _WORD_RE.match(text, pos)
    if first is None:
        return None
    word = first.group("w")
    low = word.lower()
    usable, adjective, proper_gent, street_noun = _word_info(low)
    if low in _STOP_WORDS or not usable:
        return None
    capital = _is_capitalised(word)
    words = [word]
    end = first.end()
    while len(words) < 4:
        nxt = _NEXT_WORD_RE.match(text, end)
        if nxt is None:
            break
        w = nxt.group("w")
        wl = w.lower()
        if wl in _STOP_WORDS or _is_capitalised(w) != capital:
            break
        n_usable, n_adjective, n_proper, _ = _word_info(wl)
        if not n_usable or (not capital and not (n_proper or n_adjective)):
            break
        words.append(w)
        end = nxt.end()
    trusted = capital or proper_gent or adjective or street_noun
    return words, end, trusted


def _name_before(text: str, type_start: int) -> tuple[list[str], int] | None:
    """Adjectives right before a type word («на Садовой улице», «Ленинский проспект»): (words, start) or None."""
    words: list[str] = []
    start = type_start
    head = text[:type_start]
    for _ in range(2):
        match = re.search(rf"(?<![\w-])(?P<w>{_WORD})[ \t]+$", head[:start])
        if match is None:
            break
        w = match.group("w")
        if w.lower() in _STOP_WORDS or not _word_info(w.lower())[1]:
            break
        words.insert(0, w)
        start = match.start()
    if not words:
        return None
    return words, start


def _type_candidates(text: str) -> list[tuple[int, Address]]:
    found: list[tuple[int, Address]] = []
    for match in _TYPE_RE.finditer(text):
        index = next(int(k[1:]) for k, v in match.groupdict().items() if v is not None)
        street_type = _TYPES[index][0]
        after = _name_after(text, match.end(), street_type)
        if after is not None:
            words, end, trusted = after
            house = _house(text, end, weak=False)
            if house is None and not trusted:
                after = None
            else:
                if house is not None:
                    end = house[1]
                found.append(
                    (
                        match.start(),
                        Address(
                            street=_nominative(words, street_type),
                            street_type=street_type,
                            house=house[0] if house else "",
                            raw=text[match.start() : end].strip(" ,"),
                        ),
                    )
                )
                continue
        before = _name_before(text, match.start())
        if before is not None:
            words, start = before
            capital = _is_capitalised(words[0])
            house = _house(text, match.end(), weak=not capital)
            if not capital and house is None:
                continue
            end = house[1] if house else match.end()
            found.append(
                (
                    start,
                    Address(
                        street=_nominative(words, street_type),
                        street_type=street_type,
                        house=house[0] if house else "",
                        raw=text[start:end].strip(" ,"),
                    ),
                )
            )
    return found


def _microdistrict_candidates(text: str) -> list[tuple[int, Address]]:
    found: list[tuple[int, Address]] = []
    for match in _MKR_FIRST_RE.finditer(text):
        house = _house(text, match.end(), weak=True)
        end = house[1] if house else match.end()
        found.append(
            (
                match.start(),
                Address(
                    street=match.group("code").upper(),
                    street_type="микрорайон",
                    house=house[0] if house else "",
                    raw=text[match.start() : end].strip(" ,"),
                ),
            )
        )
    return found


_BARE_RE = re.compile(r"(?<![\w.-])(?P<w>[А-ЯЁ][а-яё]+(?:-[А-ЯЁ][а-яё]+)?)(?=\s*,?\s*(?:дом|д\.?\s*)?\d)")


_ON_BEFORE_RE = re.compile(r"(?<![\w-])(?:на|по)\s+$", re.IGNORECASE)


def _is_feminine_adjective(word: str, cases: frozenset[str] = frozenset({"datv", "loct"})) -> bool:
    return any(p.tag.POS == "ADJF" and "femn" in p.tag and p.tag.case in cases for p in morph().parse(word))


_STREET_CASES = frozenset({"nomn", "gent", "datv", "loct", "ablt"})
# «на Октябрьской прорвало трубу»: a capitalised feminine adjective after «на»/«по», no house number.
_ON_ADJECTIVE_RE = re.compile(
    r"(?<![\w-])(?i:на|по)\s+(?P<w>[А-ЯЁ][а-яё]+(?:ой|ей))(?![\w-])(?P<rest>[ \t]*[,.!?;:]?[ \t]*\S*)"
)


def _describes_noun(word: str, rest: str) -> bool:
    """The adjective is followed by a noun in its case («на Северной стороне»), or by another capitalised word."""
    nxt = re.match(r"[ \t]*(?P<n>[А-Яа-яЁё]+)", rest)
    if nxt is None:
        return False
    noun = nxt.group("n")
    if noun[:1].isupper():
        return True
    cases = {p.tag.case for p in morph().parse(word) if p.tag.POS == "ADJF" and "femn" in p.tag}
    return any(p.tag.POS == "NOUN" and p.tag.case in cases for p in morph().parse(noun.lower()))


def _bare_candidates(text: str) -> list[tuple[int, Address]]:
    """A capitalised genitive proper name or street noun right before a house number: «Ленина 5», «Мира 52»."""
    found: list[tuple[int, Address]] = []
    for match in _BARE_RE.finditer(text):
        word = match.group("w")
        low = word.lower()
        if low in _STOP_WORDS:
            continue
        before = text[: match.start()]
        if _SETTLEMENT_BEFORE_RE.search(before):
            continue
        usable, adjective, proper_gent, street_noun = _word_info(low)
        # «на Садовой 5», «Сургутская 5», «дом Комсомольская 3»: a capitalised feminine adjective (the case of
        # «улица» implied) right before a house number is a street.
        street_adjective = adjective and (
            _is_feminine_adjective(low, _STREET_CASES)
            or (_ON_BEFORE_RE.search(before) is not None and _is_feminine_adjective(low))
        )
        if not usable or not (proper_gent or street_noun or street_adjective):
            continue
        house = _house(text, match.end(), weak=True)
        if house is None:
            continue
        found.append(
            (
                match.start(),
                Address(
                    street=_nominative([low], "улица") if street_adjective else _title(low),
                    street_type="улица",
                    house=house[0],
                    raw=text[match.start() : house[1]].strip(" ,"),
                ),
            )
        )
    return found


def address_candidates(clean: str) -> list[tuple[int, Address]]:
    """Every address the rules find in already normalised text, with its start offset (unordered)."""
    return (
        _type_candidates(clean)
        + _microdistrict_candidates(clean)
        + _bare_candidates(clean)
        + _on_adjective_candidates(clean)
    )


def _on_adjective_candidates(text: str) -> list[tuple[int, Address]]:
    """«на Октябрьской прорвало трубу», «по Береговой не проехать»: no house, the feminine adjective is the street."""
    found: list[tuple[int, Address]] = []
    for match in _ON_ADJECTIVE_RE.finditer(text):
        word = match.group("w")
        low = word.lower()
        usable, adjective, _, _ = _word_info(low)
        if not (usable and adjective and _is_feminine_adjective(low)) or _describes_noun(low, match.group("rest")):
            continue
        found.append(
            (
                match.start("w"),
                Address(street=_nominative([low], "улица"), street_type="улица", house="", raw=word),
            )
        )
    return found


def extract_address(text: str) -> Address | None:
    """The first address `text` mentions, or None. HTML and look-alike letters are cleaned first."""
    clean = normalize(text)
    if not clean:
        return None
    candidates = address_candidates(clean)
    if not candidates:
        return None
    return min(candidates, key=lambda item: item[0])[1]


def house_at(text: str, pos: int) -> tuple[str, int] | None:
    """A house number right at `pos` of normalised text, as the weak rule reads it (no date, no quantity)."""
    return _house(text, pos, weak=True)


def normalize_house(value: str) -> str | None:
    """«7 А» → «7а», «д. 15/2» → «15/2», «97 корп. 2» → «97к2»; None when `value` is not just a house number."""
    value = re.sub(r"(\d)\s+([а-йл-рт-яА-ЙЛ-РТ-Я])(?![\w.])", r"\1\2", value.strip())  # «7 А» → «7А»
    match = _house(value, 0, weak=False)
    if match is None or value[match[1] :].strip(" ,."):
        return None
    return match[0]


_TYPE_FULL_RE = re.compile(
    r"(?:" + "|".join(f"(?P<t{i}>{pattern})" for i, (_, _, pattern) in enumerate(_TYPES)) + r")\s*$",
    re.IGNORECASE,
)


def street_type_of(value: str) -> str | None:
    """The street type of a type word or abbreviation («ул.», «пр-т», «мкр», «other»), None when unknown."""
    value = value.strip()
    if value.lower() == "other":
        return "other"
    match = _TYPE_FULL_RE.match(value)
    if match is None:
        return None
    return _TYPES[next(int(k[1:]) for k, v in match.groupdict().items() if v is not None)][0]
