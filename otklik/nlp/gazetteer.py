"""The city's gazetteer in memory: streets, buildings, landmarks, matched against post text by lemmas.

Two sources, one shape: the database (`org.Street`, `org.Building`, `org.Landmark`, edited through the CSV import
and the settings page; `get_gazetteer()` builds the index once per process and rebuilds it when the tables
change) and a CSV file (`Gazetteer.from_csv()`, for `nlp_analyze`, which must not touch the database).

The CSV (UTF-8 or cp1251; `;`, `,` or tab, sniffed from the header) has one row per street, building or landmark:

    kind;street_type;street;house;name;aliases;district;company

- `kind`: `street`, `building` or `landmark` (empty: `landmark` when `name` is set, `building` when `house` is,
  else `street`).
- `street`: the name as on the street sign («Ленина», «Садовая», «50 лет Октября»; a microdistrict: «10»);
  `street_type`: улица (default), проспект, переулок, шоссе, бульвар, площадь, проезд, микрорайон, набережная,
  тупик, other, or their abbreviations («ул.», «пр-т», «мкр»).
- `house`: as written, normalised on import («7 А» → «7а», «97 корп. 2» → «97к2»).
- `name`: a landmark's name («школа №5», «ТЦ Европа»); its `street` and `house`, when given, are its building.
- `aliases`: other names, separated by `|` (old street names; «СОШ №5|пятая школа»).
- `district`: the name of a territory (org.Territory); `company`: the name or short name of a managing company
  (an org.Department of kind `company`). A building without them takes its street's.
Russian column names work too (тип, улица, дом, название, синонимы, район, ук).
"""

from __future__ import annotations

import csv
import io
import re
import threading
import time
from collections.abc import Iterable
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Any

from django.db.models.signals import post_delete, post_save

from otklik.nlp.address import TYPE_GENDER, normalize_house, street_type_of
from otklik.nlp.text import lemma, morph

KINDS = ("street", "building", "landmark")
COLUMNS = ("kind", "street_type", "street", "house", "name", "aliases", "district", "company")
_COLUMN_SYNONYMS = {
    "вид": "kind",
    "тип": "street_type",
    "тип улицы": "street_type",
    "улица": "street",
    "дом": "house",
    "название": "name",
    "ориентир": "name",
    "синонимы": "aliases",
    "другие названия": "aliases",
    "район": "district",
    "территория": "district",
    "ук": "company",
    "управляющая компания": "company",
}


@dataclass(frozen=True)
class GazetteerRow:
    """One valid row of a gazetteer CSV (`line`: its line number in the file, the header being line 1)."""

    line: int
    kind: str
    street: str = ""
    street_type: str = "улица"
    house: str = ""
    name: str = ""
    aliases: tuple[str, ...] = ()
    district: str = ""
    company: str = ""


@dataclass(frozen=True)
class RowError:
    line: int
    reason: str


def decode_csv(raw: bytes) -> str:
    """UTF-8 (with or without BOM), else cp1251. Raises UnicodeDecodeError when it is neither."""
    try:
        return raw.decode("utf-8-sig")
    except UnicodeDecodeError:
        return raw.decode("cp1251")


def parse_gazetteer_csv(content: str) -> tuple[list[GazetteerRow], list[RowError]]:
    """Rows that are well formed, and the others with their line number and reason; never raises on bad rows.

    A row is checked here for its shape only (kind, type, house); whether its district and company exist is
    the importer's business.
    """
    first_line = content.split("\n", 1)[0]
    try:
        delimiter = csv.Sniffer().sniff(first_line, delimiters=",;\t").delimiter
    except csv.Error:
        delimiter = ";" if ";" in first_line else ","
    reader = csv.reader(io.StringIO(content), delimiter=delimiter)
    try:
        header = next(reader)
    except StopIteration:
        return [], [RowError(1, "the file is empty")]
    names = [_COLUMN_SYNONYMS.get(h.strip().lower(), h.strip().lower()) for h in header]
    if "street" not in names and "name" not in names:
        return [], [RowError(1, "the header has neither a «street» nor a «name» column")]
    rows: list[GazetteerRow] = []
    errors: list[RowError] = []
    for values in reader:
        line = reader.line_num
        if not any(v.strip() for v in values):
            continue
        if len(values) > len(names):
            errors.append(RowError(line, f"{len(values)} fields, the header has {len(names)}"))
            continue
        data = {name: (values[i].strip() if i < len(values) else "") for i, name in enumerate(names)}
        row, reason = _row(line, data)
        if row is None:
            errors.append(RowError(line, reason))
        else:
            rows.append(row)
    return rows, errors


def _row(line: int, data: dict[str, str]) -> tuple[GazetteerRow | None, str]:
    kind = data.get("kind", "").lower()
    street, house, name = data.get("street", ""), data.get("house", ""), data.get("name", "")
    if not kind:
        kind = "landmark" if name else "building" if house else "street"
    if kind not in KINDS:
        return None, f"unknown kind «{kind}» (street, building or landmark)"
    raw_type = data.get("street_type", "")
    street_type = street_type_of(raw_type) if raw_type else "улица"
    if street_type is None:
        return None, f"unknown street type «{raw_type}»"
    if kind in {"street", "building"} and not street:
        return None, "no street"
    if kind == "landmark" and not name:
        return None, "a landmark without a name"
    if kind == "building" and not house:
        return None, "a building without a house number"
    normal_house = ""
    if house:
        if not street:
            return None, "a house number without a street"
        normal_house = normalize_house(house) or ""
        if not normal_house:
            return None, f"cannot read the house number «{house}»"
    aliases = tuple(a.strip() for a in re.split(r"[|;]", data.get("aliases", "")) if a.strip())
    row = GazetteerRow(
        line=line,
        kind=kind,
        street=_clean_name(street),
        street_type=street_type,
        house=normal_house,
        name=_clean_name(name),
        aliases=aliases,
        district=data.get("district", ""),
        company=data.get("company", ""),
    )
    return row, ""


def _clean_name(name: str) -> str:
    return re.sub(r"\s+", " ", name).strip()


# --- matching ---------------------------------------------------------------------------------------------

_TOKEN_RE = re.compile(
    r"(?P<ord>\d{1,4})-(?:й|я|е|ая|ой|ий|го|ого|ую|м|ом)(?![а-яё])|\d{1,4}(?:[а-яё](?![а-яё]))?|[а-яёa-z]+(?:-[а-яёa-z]+)*"
)
# Words dropped from a landmark name («МБОУ СОШ №5» = «школа 5»), and synonyms folded into one lemma sequence.
_LANDMARK_NOISE = frozenset({"мбоу", "маоу", "мбдоу", "мадоу", "моу", "бу", "мбу", "номер", "им", "имени"})
_LANDMARK_SYNONYMS: list[tuple[tuple[str, ...], tuple[str, ...]]] = [
    (("торговый", "развлекательный", "центр"), ("тц",)),
    (("торговый", "центр"), ("тц",)),
    (("трц",), ("тц",)),
    (("дом", "культура"), ("дк",)),
    (("детский", "сад"), ("сад",)),
    (("садик",), ("сад",)),
    (("дс",), ("сад",)),
    (("доу",), ("сад",)),
    (("сош",), ("школа",)),
    (("оош",), ("школа",)),
]
_SYNONYMS_BY_FIRST: dict[str, list[tuple[tuple[str, ...], tuple[str, ...]]]] = {}
for _source, _target in _LANDMARK_SYNONYMS:
    _SYNONYMS_BY_FIRST.setdefault(_source[0], []).append((_source, _target))
_NUMBERED_KINDS = frozenset({"школа", "гимназия", "лицей", "сад", "поликлиника", "больница"})


@dataclass(frozen=True)
class Token:
    text: str  # as written (original case)
    lemma: str
    start: int
    end: int
    lemmas: frozenset[str] = frozenset()  # every normal form of the word: matching tries them all


@lru_cache(maxsize=100_000)
def lemma_set(word: str) -> frozenset[str]:
    """All normal forms of a lowercase word («парке» → {«парк», «парка»}), with the best one (text.lemma)."""
    forms = {p.normal_form.replace("ё", "е") for p in morph().parse(word)}
    forms.add(lemma(word))
    return frozenset(forms)


def tokenize(text: str) -> list[Token]:
    """Words and house-like numbers of `text` with their lemmas (lowercase, ё → е) and spans."""
    result = []
    for match in _TOKEN_RE.finditer(text.lower()):
        word = match.group().replace("ё", "е")
        if match.group("ord"):
            lem, forms = match.group("ord"), frozenset({match.group("ord")})
        elif word[0].isdigit():
            lem, forms = word, frozenset({word})
        else:
            lem, forms = lemma(word), lemma_set(word)
        result.append(Token(text[match.start() : match.end()], lem, match.start(), match.end(), forms))
    return result


@lru_cache(maxsize=20_000)
def phrase_key(phrase: str) -> tuple[str, ...]:
    """The lemma sequence a name is matched by: «Садовая» → («садовый»,), «Карла Маркса» → («карл», «маркс»)."""
    return tuple(t.lemma for t in tokenize(phrase))


def landmark_key(phrase: str) -> tuple[str, ...]:
    return _fold_landmark([t.lemma for t in tokenize(phrase)])


def _fold_landmark(lemmas: list[str]) -> tuple[str, ...]:
    out: list[str] = []
    i = 0
    while i < len(lemmas):
        if lemmas[i] in _LANDMARK_NOISE:
            i += 1
            continue
        for source, target in _LANDMARK_SYNONYMS:
            if tuple(lemmas[i : i + len(source)]) == source:
                out.extend(target)
                i += len(source)
                break
        else:
            out.append(lemmas[i])
            i += 1
    return tuple(out)


@dataclass(frozen=True)
class StreetRef:
    name: str
    street_type: str
    pk: int | None = None
    territory_id: int | None = None
    territory_name: str = ""
    company_id: int | None = None
    company_name: str = ""

    @property
    def display(self) -> str:
        if self.street_type == "микрорайон":
            return f"{self.name} {self.street_type}"
        if self.street_type == "other":
            return self.name
        return f"{self.street_type} {self.name}"


@dataclass(frozen=True)
class BuildingRef:
    street: StreetRef
    house: str
    pk: int | None = None
    territory_id: int | None = None
    territory_name: str = ""
    company_id: int | None = None
    company_name: str = ""

    @property
    def display(self) -> str:
        return f"{self.street.display}, {self.house}"


@dataclass(frozen=True)
class LandmarkRef:
    name: str
    building: BuildingRef | None = None
    pk: int | None = None
    territory_id: int | None = None
    territory_name: str = ""


@dataclass(frozen=True)
class Mention:
    """A gazetteer entry named in the text at [start, end)."""

    start: int
    end: int
    streets: tuple[StreetRef, ...] = ()
    landmark: LandmarkRef | None = None


@dataclass
class Gazetteer:
    """Lookup tables built once from streets, buildings and landmarks; immutable afterwards."""

    streets: list[StreetRef] = field(default_factory=list)
    buildings: list[BuildingRef] = field(default_factory=list)
    landmarks: list[LandmarkRef] = field(default_factory=list)

    def __post_init__(self) -> None:
        self._street_keys: dict[tuple[str, ...], list[StreetRef]] = {}
        for street in self.streets:
            self._street_keys.setdefault(phrase_key(street.name), []).append(street)
        self._buildings = {(b.street.name.lower(), b.street.street_type, b.house): b for b in self.buildings}
        self._landmark_keys: dict[tuple[str, ...], LandmarkRef] = {}
        self._street_first: dict[str, list[tuple[str, ...]]] = {}
        for key in self._street_keys:
            self._street_first.setdefault(key[0], []).append(key)
        self._landmark_first: dict[str, list[tuple[str, ...]]] = {}
        for landmark in self.landmarks:
            self.add_landmark_names(landmark, [landmark.name])

    def add_street_aliases(self, street: StreetRef, aliases: Iterable[str]) -> None:
        for alias in aliases:
            key = phrase_key(alias)
            if key:
                if key not in self._street_keys:
                    self._street_first.setdefault(key[0], []).append(key)
                self._street_keys.setdefault(key, []).append(street)

    def add_landmark_names(self, landmark: LandmarkRef, names: Iterable[str]) -> None:
        for name in names:
            key = landmark_key(name)
            if not key:
                continue
            keys = [key]
            # «школа 5» is also said «5 школа» («у 43 школы»).
            if len(key) == 2 and key[0] in _NUMBERED_KINDS and key[1][:1].isdigit():
                keys.append((key[1], key[0]))
            for k in keys:
                if k not in self._landmark_keys:
                    self._landmark_keys[k] = landmark
                    self._landmark_first.setdefault(k[0], []).append(k)

    def __bool__(self) -> bool:
        return bool(self.streets or self.landmarks)

    # --- lookups -----------------------------------------------------------------------------------------

    def find_street(self, name: str, street_type: str, *, explicit_type: bool = True) -> StreetRef | None:
        """The gazetteer's street for an extracted one: same lemmas and type; a bare name takes any type."""
        candidates = self._street_keys.get(phrase_key(name), [])
        for street in candidates:
            if street.street_type == street_type:
                return street
        if not explicit_type and candidates:
            return _preferred(candidates)
        return None

    def find_building(self, street: StreetRef, house: str) -> BuildingRef | None:
        if not house:
            return None
        return self._buildings.get((street.name.lower(), street.street_type, house.lower()))

    def street_mentions(self, text: str, tokens: list[Token] | None = None) -> list[Mention]:
        """Known street names in the text, the longest at each position (whether they are one is decided later)."""
        tokens = tokens if tokens is not None else tokenize(text)
        found = []
        for i in range(len(tokens)):
            key = _longest(self._street_keys, self._street_first, [t.lemmas for t in tokens], i)
            # A microdistrict («10») is named by its number alone: only the rules, with «мкр», find it.
            if key is None or (len(key) == 1 and key[0][:1].isdigit()):
                continue
            found.append(Mention(tokens[i].start, tokens[i + len(key) - 1].end, streets=tuple(self._street_keys[key])))
        return found

    def landmark_mentions(self, text: str, tokens: list[Token] | None = None) -> list[Mention]:
        tokens = tokens if tokens is not None else tokenize(text)
        if not self._landmark_keys:
            return []
        # Nothing can match unless some word starts a name or a synonym: the common case, checked cheaply.
        starts = self._landmark_first.keys() | _SYNONYMS_BY_FIRST.keys()
        if not any(not starts.isdisjoint(t.lemmas) for t in tokens):
            return []
        # Fold the lemmas as the names were folded, keeping the span of each folded item.
        items: list[tuple[frozenset[str], int, int]] = []
        i = 0
        while i < len(tokens):
            if tokens[i].lemma in _LANDMARK_NOISE:
                i += 1
                continue
            for source, target in _SYNONYMS_BY_FIRST.get(tokens[i].lemma, ()):
                if tuple(t.lemma for t in tokens[i : i + len(source)]) == source:
                    items.append((frozenset(target), tokens[i].start, tokens[i + len(source) - 1].end))
                    i += len(source)
                    break
            else:
                items.append((tokens[i].lemmas, tokens[i].start, tokens[i].end))
                i += 1
        found = []
        sets = [item[0] for item in items]
        for i in range(len(items)):
            key = _longest(self._landmark_keys, self._landmark_first, sets, i)
            if key is not None:
                found.append(Mention(items[i][1], items[i + len(key) - 1][2], landmark=self._landmark_keys[key]))
        return found

    # --- construction ------------------------------------------------------------------------------------

    @classmethod
    def from_rows(cls, rows: Iterable[GazetteerRow]) -> Gazetteer:
        """A gazetteer from parsed CSV rows (no database): names only, no primary keys."""
        rows = list(rows)
        streets: dict[tuple[str, str], StreetRef] = {}
        aliases: dict[tuple[str, str], list[str]] = {}
        for row in rows:
            if row.street:
                key = (row.street, row.street_type)
                if row.kind == "street" or key not in streets:
                    streets[key] = StreetRef(
                        name=row.street,
                        street_type=row.street_type,
                        territory_name=row.district if row.kind == "street" else "",
                        company_name=row.company if row.kind == "street" else "",
                    )
                if row.kind == "street":
                    aliases.setdefault(key, []).extend(row.aliases)
        buildings: dict[tuple[str, str, str], BuildingRef] = {}
        for row in rows:
            if row.house and row.kind in {"building", "landmark"}:
                street = streets[(row.street, row.street_type)]
                house_key = (row.street, row.street_type, row.house)
                if row.kind == "building" or house_key not in buildings:
                    buildings[house_key] = BuildingRef(
                        street=street,
                        house=row.house,
                        territory_name=(row.district if row.kind == "building" else "") or street.territory_name,
                        company_name=(row.company if row.kind == "building" else "") or street.company_name,
                    )
        landmarks: list[LandmarkRef] = []
        landmark_aliases: list[tuple[LandmarkRef, tuple[str, ...]]] = []
        for row in rows:
            if row.kind == "landmark":
                building = buildings.get((row.street, row.street_type, row.house)) if row.house else None
                landmark = LandmarkRef(
                    name=row.name,
                    building=building,
                    territory_name=row.district or (building.territory_name if building else ""),
                )
                landmarks.append(landmark)
                landmark_aliases.append((landmark, row.aliases))
        gazetteer = cls(list(streets.values()), list(buildings.values()), landmarks)
        for key, street_names in aliases.items():
            gazetteer.add_street_aliases(streets[key], street_names)
        for landmark, landmark_names in landmark_aliases:
            gazetteer.add_landmark_names(landmark, landmark_names)
        return gazetteer

    @classmethod
    def from_csv(cls, path: str | Path) -> Gazetteer:
        rows, _errors = parse_gazetteer_csv(decode_csv(Path(path).read_bytes()))
        return cls.from_rows(rows)

    @classmethod
    def from_database(cls) -> Gazetteer:
        """The gazetteer of the `org` tables (three queries plus one per related table)."""
        from otklik.org.models import Building, Department, Landmark, Street, Territory

        territories = dict(Territory.objects.values_list("pk", "name"))
        companies = {
            pk: short or name for pk, name, short in Department.objects.values_list("pk", "name", "short_name")
        }
        streets: dict[int, StreetRef] = {}
        street_aliases: list[tuple[StreetRef, list[str]]] = []
        for row in Street.objects.values("pk", "name", "street_type", "aliases", "territory_id", "company_id"):
            ref = StreetRef(
                name=row["name"],
                street_type=row["street_type"],
                pk=row["pk"],
                territory_id=row["territory_id"],
                territory_name=territories.get(row["territory_id"], ""),
                company_id=row["company_id"],
                company_name=companies.get(row["company_id"], ""),
            )
            streets[row["pk"]] = ref
            street_aliases.append((ref, [a for a in row["aliases"].split(",") if a.strip()]))
        buildings: dict[int, BuildingRef] = {}
        for brow in Building.objects.values("pk", "street_id", "house", "territory_id", "company_id"):
            street = streets[brow["street_id"]]
            territory_id = brow["territory_id"] or street.territory_id
            company_id = brow["company_id"] or street.company_id
            buildings[brow["pk"]] = BuildingRef(
                street=street,
                house=brow["house"],
                pk=brow["pk"],
                territory_id=territory_id,
                territory_name=territories.get(territory_id, "") if territory_id else "",
                company_id=company_id,
                company_name=companies.get(company_id, "") if company_id else "",
            )
        landmarks: list[tuple[LandmarkRef, list[str]]] = []
        for lrow in Landmark.objects.values("pk", "name", "aliases", "building_id", "territory_id"):
            building = buildings.get(lrow["building_id"]) if lrow["building_id"] else None
            territory_id = lrow["territory_id"] or (building.territory_id if building else None)
            landmark = LandmarkRef(
                name=lrow["name"],
                building=building,
                pk=lrow["pk"],
                territory_id=territory_id,
                territory_name=territories.get(territory_id, "") if territory_id else "",
            )
            landmarks.append((landmark, [a for a in lrow["aliases"].split(",") if a.strip()]))
        gazetteer = cls(list(streets.values()), list(buildings.values()), [ref for ref, _ in landmarks])
        for street, names in street_aliases:
            gazetteer.add_street_aliases(street, names)
        for landmark, names in landmarks:
            gazetteer.add_landmark_names(landmark, names)
        return gazetteer


def _longest(
    keys: dict[tuple[str, ...], Any], first: dict[str, list[tuple[str, ...]]], sets: list[frozenset[str]], i: int
) -> tuple[str, ...] | None:
    """The longest key whose every lemma is among the forms of the words from position `i` on."""
    best: tuple[str, ...] | None = None
    for form in sets[i]:
        for key in first.get(form, ()):
            longer = (best is None or len(key) > len(best)) and i + len(key) <= len(sets)
            if longer and all(key[j] in sets[i + j] for j in range(1, len(key))):
                best = key
    return best


def _preferred(streets: list[StreetRef]) -> StreetRef:
    """Among streets of one name, a bare mention («Мира 5») means the улица first, then the order given."""
    for street in streets:
        if street.street_type == "улица":
            return street
    return streets[0]


@lru_cache(maxsize=50_000)
def parse(word: str) -> tuple[Any, ...]:
    """pymorphy3's parses of a lowercase word, cached."""
    return tuple(morph().parse(word))


@lru_cache(maxsize=10_000)
def is_adjective_name(name: str) -> bool:
    """«Садовая», «Ханты-Мансийская», «Комсомольский»: a name that is an adjective in the nominative."""
    word = name.split()[0].lower() if name.split() else ""
    if not word or word[:1].isdigit():
        return False
    best = morph().parse(word)[0]
    return best.tag.POS == "ADJF" and best.tag.case == "nomn"


def agrees(token: str, street: StreetRef) -> bool:
    """An adjective in the text agrees in gender with the street's type («Северной» for улица Северная)."""
    gender = TYPE_GENDER.get(street.street_type)
    if gender is None or not is_adjective_name(street.name):
        return True
    parses = [p for p in parse(token.lower()) if p.tag.POS in {"ADJF", "ADJS"}]
    if not parses:
        return True
    return any(p.tag.gender in {gender, None} for p in parses)


# --- the database gazetteer, cached per process --------------------------------------------------------------

_lock = threading.Lock()
_cached: tuple[Any, Gazetteer] | None = None


def database_version() -> tuple[Any, ...]:
    """Cheap fingerprint of the gazetteer tables: counts and the latest change of each (three small queries)."""
    from django.db.models import Count, Max

    from otklik.org.models import Building, Landmark, Street

    version: list[Any] = []
    for model in (Street, Building, Landmark):
        agg = model.objects.aggregate(n=Count("pk"), last=Max("updated_at"))
        version += [agg["n"], agg["last"]]
    return tuple(version)


#: The tables' fingerprint is read at most this often per process (saves in this process reset the cache at once).
RECHECK_SECONDS = 10.0
_checked_at = 0.0


def get_gazetteer() -> Gazetteer:
    """The database gazetteer, rebuilt only when `database_version()` changed; the version itself is read at most
    every RECHECK_SECONDS (the worker analyses posts one after another: three queries per post add up)."""
    global _cached, _checked_at
    now = time.monotonic()
    cached = _cached
    if cached is not None and now - _checked_at < RECHECK_SECONDS:
        return cached[1]
    version = database_version()
    _checked_at = now
    if cached is not None and cached[0] == version:
        return cached[1]
    with _lock:
        gazetteer = Gazetteer.from_database()
        _cached = (version, gazetteer)
    return gazetteer


def reset_cache(**_kwargs: Any) -> None:
    global _cached, _checked_at
    _cached = None
    _checked_at = 0.0


for _model in ("org.Street", "org.Building", "org.Landmark"):
    post_save.connect(reset_cache, sender=_model, dispatch_uid=f"gazetteer-reset-save-{_model}")
    post_delete.connect(reset_cache, sender=_model, dispatch_uid=f"gazetteer-reset-delete-{_model}")
