"""Import of the city's gazetteer (streets, buildings, landmarks) from CSV; the format is in otklik.nlp.gazetteer.

`do_import_gazetteer()` is the only writer of the gazetteer tables besides the Django admin.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from django.db import transaction
from django.db.models import Q

from otklik.nlp.gazetteer import GazetteerRow, RowError, decode_csv, parse_gazetteer_csv
from otklik.org.choices import DepartmentKind
from otklik.org.models import Building, Department, Landmark, Street, Territory


@dataclass
class ImportReport:
    created: dict[str, int] = field(default_factory=lambda: {"street": 0, "building": 0, "landmark": 0})
    updated: dict[str, int] = field(default_factory=lambda: {"street": 0, "building": 0, "landmark": 0})
    unchanged: int = 0
    errors: list[RowError] = field(default_factory=list)

    @property
    def imported(self) -> int:
        return sum(self.created.values()) + sum(self.updated.values()) + self.unchanged


class _RowRejected(Exception):
    pass


def do_import_gazetteer(raw: bytes | str) -> ImportReport:
    """Upsert every good row of a gazetteer CSV; report the bad ones with their line number and reason.

    1. The file is decoded (UTF-8 or cp1251) and parsed; malformed rows are reported and skipped.
    2. Rows are applied in file order, each in its own transaction: a street by (name, type), a building by
       (street, house) — its street is created when missing —, a landmark by its name. Empty cells leave the
       stored value as it is; aliases are added to the stored ones.
    3. A district must name an existing territory, a company an existing department of kind «managing company»
       (by name or short name); otherwise the row is rejected with that reason.
    Never raises on the content of the file.
    """
    report = ImportReport()
    if isinstance(raw, bytes):
        try:
            content = decode_csv(raw)
        except UnicodeDecodeError:
            report.errors.append(RowError(0, "the file is neither UTF-8 nor cp1251"))
            return report
    else:
        content = raw
    rows, errors = parse_gazetteer_csv(content)
    report.errors.extend(errors)
    territories = {t.name.lower(): t for t in Territory.objects.all()}
    companies: dict[str, Department | None] = {}
    for dept in Department.objects.filter(Q(kind=DepartmentKind.COMPANY)):
        for key in {dept.name.lower(), dept.short_name.lower()} - {""}:
            companies[key] = dept
    for row in rows:
        try:
            with transaction.atomic():
                kind, outcome = _apply(row, territories, companies)
        except _RowRejected as exc:
            report.errors.append(RowError(row.line, str(exc)))
            continue
        if outcome == "created":
            report.created[kind] += 1
        elif outcome == "updated":
            report.updated[kind] += 1
        else:
            report.unchanged += 1
    report.errors.sort(key=lambda e: e.line)
    return report


def _apply(
    row: GazetteerRow, territories: dict[str, Territory], companies: dict[str, Department | None]
) -> tuple[str, str]:
    territory = None
    if row.district:
        territory = territories.get(row.district.lower())
        if territory is None:
            raise _RowRejected(f"unknown district «{row.district}»")
    company = None
    if row.company:
        company = companies.get(row.company.lower())
        if company is None:
            raise _RowRejected(f"«{row.company}» is not a managing company")
    if row.kind == "street":
        street, outcome = _upsert(
            Street,
            {"name": row.street, "street_type": row.street_type},
            {"territory": territory, "company": company},
            row.aliases,
        )
        return "street", outcome
    street = _upsert(Street, {"name": row.street, "street_type": row.street_type}, {}, ())[0] if row.street else None
    if row.kind == "building":
        _, outcome = _upsert(
            Building, {"street": street, "house": row.house}, {"territory": territory, "company": company}, ()
        )
        return "building", outcome
    building = None
    if street is not None and row.house:
        building, _ = _upsert(Building, {"street": street, "house": row.house}, {}, ())
    _, outcome = _upsert(Landmark, {"name": row.name}, {"building": building, "territory": territory}, row.aliases)
    return "landmark", outcome


def _upsert(model, key: dict, values: dict, aliases: tuple[str, ...]):  # type: ignore[no-untyped-def]
    """Get or create by `key`; set the non-empty `values` and add `aliases`; save only what changed."""
    values = {name: value for name, value in values.items() if value is not None}
    obj = model.objects.filter(**key).first()
    if obj is None:
        obj = model(**key, **values)
        if aliases:
            obj.aliases = ", ".join(dict.fromkeys(aliases))
        obj.save()
        return obj, "created"
    changed = [name for name, value in values.items() if getattr(obj, f"{name}_id") != value.pk]
    for name in changed:
        setattr(obj, name, values[name])
    if aliases:
        merged = ", ".join(dict.fromkeys([*obj.alias_list, *aliases]))
        if merged != obj.aliases:
            obj.aliases = merged
            changed.append("aliases")
    if changed:
        obj.save(update_fields=[*changed, "updated_at"])
        return obj, "updated"
    return obj, "unchanged"
