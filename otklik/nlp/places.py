"""Step 4 of the pipeline, the place of a post: the address rules (otklik.nlp.address) resolved against the city's
gazetteer (otklik.nlp.gazetteer), plus what only the gazetteer can find.

`find_place(text, gazetteer)`:
1. Candidates, each with its offset in the normalised text:
   a. the rules' addresses («ул. Ленина 5», «по улице Садовой», «10 мкр, дом 5», «Мира 52»);
   b. known street names the rules cannot take alone — lowercase or inflected without a type word: any of them
      right before a house number («на ленина 15», «омская 12»); without a number, only a capitalised name after
      a preposition («у школы на Дзержинского»), and an adjective only when it agrees with the street's type and
      is not followed by a noun it describes («на Северной стороне» is not улица Северная);
   c. landmarks («возле школы №5», «у 43 школы», «в ТЦ «Европа»», «в парке Победы»).
2. The first candidate in the text wins (a tie: the one with a house number, then the rules'); street candidates
   are resolved to the gazetteer's street (its name and type as on the sign) and building.
3. The territory and the managing company come from the building, else the street, else the landmark.
`Place.address` is the first street address the text itself writes (for `nlp_analyze`); `Place.display` is what
the incident shows.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from otklik.nlp.address import Address, address_candidates, house_at
from otklik.nlp.gazetteer import (
    BuildingRef,
    Gazetteer,
    LandmarkRef,
    Mention,
    StreetRef,
    agrees,
    is_adjective_name,
    parse,
    tokenize,
)
from otklik.nlp.normalize import normalize

_PREPOSITION_BEFORE_RE = re.compile(
    r"(?<![\w-])(?:на|по|у|возле|около|рядом\s+с|напротив|вдоль|с|со|от|до|за|перекрест\w*|пересечени\w*|угол|"
    r"углу)\s+$",
    re.IGNORECASE,
)
_SETTLEMENT_BEFORE_RE = re.compile(
    r"(?:(?<![\w-])(?:д|дер|с|п|пос|г|пгт|ст|х)\.\s*|(?<![\w-])(?:деревн|сел|посел|город|станиц|хутор)\w*\s+)$",
    re.IGNORECASE,
)
_TYPE_AFTER_RE = re.compile(
    r"[ \t]+(?:ул\.?|улиц\w*|проспект\w*|пр-т|переул\w*|бульвар\w*|площад\w*|проезд\w*|шоссе|набережн\w*)(?![\w-])",
    re.IGNORECASE,
)
_NEXT_WORD_RE = re.compile(r"[ \t]+([А-Яа-яЁё]+)")
_TYPE_WORD_RE = re.compile(
    r"(?<![\w-])(?:ул|улиц\w*|пр|просп|проспект\w*|пр-кт|пр-т|пер|переул\w*|ш|шоссе|б-р|бул|бульвар\w*|пл|"
    r"площад\w*|пр-д|проезд\w*|мкр|мкрн|мкр-н|микрорайон\w*|наб|набережн\w*|туп|тупик\w*)(?![\w-])",
    re.IGNORECASE,
)


@dataclass(frozen=True)
class Place:
    address: Address | None = None
    street: StreetRef | None = None
    building: BuildingRef | None = None
    landmark: LandmarkRef | None = None

    @property
    def territory_id(self) -> int | None:
        for ref in (self.building, self.street, self.landmark):
            if ref is not None and ref.territory_id:
                return ref.territory_id
        return None

    @property
    def territory_name(self) -> str:
        for ref in (self.building, self.street, self.landmark):
            if ref is not None and ref.territory_name:
                return ref.territory_name
        return ""

    @property
    def company_id(self) -> int | None:
        """The managing company of the building (or of the street, when the building names none)."""
        if self.building is not None:
            return self.building.company_id
        return None

    @property
    def company_name(self) -> str:
        return self.building.company_name if self.building is not None else ""

    @property
    def display(self) -> str:
        """«улица Ленина, 5», «школа №5 (улица Ленина, 10)»: how the incident shows the place."""
        if self.landmark is not None:
            where = self.building.display if self.building is not None else ""
            return f"{self.landmark.name} ({where})" if where else self.landmark.name
        if self.address is None:
            return ""
        return self.address.display

    def __bool__(self) -> bool:
        return self.address is not None or self.landmark is not None


def find_place(text: str, gazetteer: Gazetteer | None = None) -> Place:
    """The place `text` names; see the module docstring. An empty Place when it names none."""
    clean = normalize(text)
    if not clean:
        return Place()
    streets: list[tuple[int, int, Address, StreetRef | None]] = []
    for start, candidate in address_candidates(clean):
        explicit = _TYPE_WORD_RE.search(candidate.raw) is not None
        ref = (
            gazetteer.find_street(candidate.street, candidate.street_type, explicit_type=explicit)
            if gazetteer
            else None
        )
        streets.append((start, 1, _resolved(candidate, ref), ref))
    landmarks: list[Mention] = []
    if gazetteer:
        tokens = tokenize(clean)
        for mention in gazetteer.street_mentions(clean, tokens):
            found = _bare_street(clean, mention)
            if found is not None:
                streets.append((mention.start, 2, *found))
        landmarks = gazetteer.landmark_mentions(clean, tokens)
    first_street = min(streets, key=lambda s: (s[0], not s[2].house, s[1]), default=None)
    first_landmark = min(landmarks, key=lambda m: m.start, default=None)
    address = first_street[2] if first_street else None
    street = first_street[3] if first_street else None
    if first_landmark is not None and (first_street is None or first_landmark.start < first_street[0]):
        landmark = first_landmark.landmark
        return Place(
            address=address,
            street=landmark.building.street if landmark and landmark.building else None,
            building=landmark.building if landmark else None,
            landmark=landmark,
        )
    building = gazetteer.find_building(street, address.house) if gazetteer and street and address else None
    return Place(address=address, street=street, building=building)


def _resolved(address: Address, ref: StreetRef | None) -> Address:
    """The address with the gazetteer's name and type of the street (as on the sign)."""
    if ref is None:
        return address
    return Address(street=ref.name, street_type=ref.street_type, house=address.house, raw=address.raw)


def _bare_street(clean: str, mention: Mention) -> tuple[Address, StreetRef] | None:
    """A known street named without a type word: taken or not (see the module docstring, 1b)."""
    before = clean[: mention.start]
    if _SETTLEMENT_BEFORE_RE.search(before):
        return None
    streets = list(mention.streets)
    word = clean[mention.start : mention.end]
    first_word = word.split()[0]
    # «на Северной» for улица Северная, not for проспект Северный: the adjective must agree.
    agreeing = [s for s in streets if agrees(first_word, s)] if len(word.split()) == 1 else streets
    if not agreeing:
        return None
    street = next((s for s in agreeing if s.street_type == "улица"), agreeing[0])
    end = mention.end
    typed = _TYPE_AFTER_RE.match(clean, end)
    if typed is not None:  # «Тихая улица, 4»: the rules may have refused the adjective, the gazetteer knows it
        end = typed.end()
    house = house_at(clean, end)
    if house is None and typed is not None:
        raw = clean[mention.start : end].strip(" ,")
        return Address(street=street.name, street_type=street.street_type, house="", raw=raw), street
    if house is None:
        named = first_word[:1].isupper() or first_word[:1].isdigit()
        if not named or not _PREPOSITION_BEFORE_RE.search(before):
            return None
        if is_adjective_name(street.name) and _describes_next_noun(clean, mention.end, first_word):
            return None
        raw = word
        number = ""
    else:
        number, end = house
        raw = clean[mention.start : end].strip(" ,")
    return Address(street=street.name, street_type=street.street_type, house=number, raw=raw), street


def _describes_next_noun(clean: str, end: int, word: str) -> bool:
    """An adjective followed by a noun in the same case («на Северной стороне»): the adjective describes it."""
    parses = [p for p in parse(word.lower()) if p.tag.POS == "ADJF"]
    if not parses:
        return False
    match = _NEXT_WORD_RE.match(clean, end)
    if match is None or match.group(1)[:1].isupper():
        return False
    nouns = [p for p in parse(match.group(1).lower()) if p.tag.POS == "NOUN"]
    cases = {p.tag.case for p in parses}
    return any(n.tag.case in cases for n in nouns)
