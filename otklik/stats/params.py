"""Reading the period and the filters of the figures from a request (the API and the dashboard share it)."""

from __future__ import annotations

import datetime as dt

from django.db.models import Model, Q
from django.utils.translation import gettext as _

from otklik.intake.choices import Channel
from otklik.org.models import Department, TopicGroup
from otklik.stats.selectors import StatsFilters

MAX_DAYS = 3 * 366


class ParamError(ValueError):
    """Wrong parameters: {parameter: [messages]}."""

    def __init__(self, errors: dict[str, list[str]]) -> None:
        super().__init__(errors)
        self.errors = errors


def parse_date(raw: str | None) -> dt.date | None:
    """`YYYY-MM-DD` → a date; None when empty; ValueError when malformed."""
    raw = (raw or "").strip()
    if not raw:
        return None
    if len(raw) != 10:
        raise ValueError(raw)
    return dt.date.fromisoformat(raw)


def _find[M: Model](model: type[M], raw: str, *, names: tuple[str, ...]) -> M | None:
    """By id (digits) or by exact name, case-insensitive."""
    if raw.isdigit():
        return model._default_manager.filter(pk=int(raw)).first() if len(raw) < 10 else None
    condition = Q()
    for name in names:
        condition |= Q(**{f"{name}__iexact": raw})
    return model._default_manager.filter(condition).order_by("pk").first()


def parse_filters(group: str | None, department: str | None, source: str | None) -> StatsFilters:
    """The filters: a group and a department by id or exact name, a source by its channel code."""
    errors: dict[str, list[str]] = {}
    found_group = found_department = None
    group, department, source = (group or "").strip(), (department or "").strip(), (source or "").strip()
    if group:
        found_group = _find(TopicGroup, group, names=("name",))
        if found_group is None:
            errors["group"] = [_("No such group «%(value)s»: give its id or its exact name.") % {"value": group}]
    if department:
        found_department = _find(Department, department, names=("name", "short_name"))
        if found_department is None:
            errors["department"] = [
                _("No such department «%(value)s»: give its id, its name or its short name.") % {"value": department}
            ]
    if source and source not in Channel.values:
        errors["source"] = [
            _("Unknown value «%(value)s»: use one of %(allowed)s.")
            % {"value": source, "allowed": ", ".join(Channel.values)}
        ]
    if errors:
        raise ParamError(errors)
    return StatsFilters(group=found_group, department=found_department, channel=source)


def parse_period(raw_from: str | None, raw_to: str | None) -> tuple[dt.date, dt.date]:
    """Both dates required, `from` ≤ `to`, at most three years."""
    errors: dict[str, list[str]] = {}
    dates: dict[str, dt.date] = {}
    for name, raw in (("from", raw_from), ("to", raw_to)):
        try:
            value = parse_date(raw)
        except ValueError:
            errors[name] = [_("Give the date as YYYY-MM-DD, for example 2026-12-01.")]
            continue
        if value is None:
            errors[name] = [_("The date is required: give it as YYYY-MM-DD.")]
        else:
            dates[name] = value
    if not errors:
        if dates["from"] > dates["to"]:
            errors["to"] = [_("The end of the period is before its start — swap the dates.")]
        elif (dates["to"] - dates["from"]).days > MAX_DAYS:
            errors["to"] = [_("Choose at most three years.")]
    if errors:
        raise ParamError(errors)
    return dates["from"], dates["to"]
