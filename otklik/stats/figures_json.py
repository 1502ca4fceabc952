"""The dashboard's figures (`Stats`) as JSON, for the snapshots (otklik.stats.snapshots; docs/STATS.md, «Speed»).

The snapshots are stored as JSON, not pickled: reading a pickle from the database would run whatever code the
stored bytes name, so the database's content would be trusted with code execution. Here every class and field
is spelt out: `stats_to_json` turns a `Stats` into plain JSON values (objects, lists, strings, numbers, null) and
`stats_from_json` builds it back, equal field by field (`==` of the dataclasses), checking every value on the way:
anything else — a missing or unknown key, a value of the wrong type, an unknown format — raises
`FiguresFormatError`, and the caller computes the figures instead.

The encodings:

- dates as ISO strings; `Stats.now` as an ISO string in UTC (an aware datetime, equal to the original moment);
- floats as JSON numbers (exact both ways: `json` writes the shortest repr that reads back to the same float, and
  PostgreSQL's jsonb keeps its decimal digits); infinities and NaN are refused (JSON has none);
- `DayVolume.by_group` (its keys are group ids or None) as a list of `[group id or null, count]` pairs, in order;
- the filters as the ids of the group and the department (read back from the database) and the channel.

A field added to one of these dataclasses without a codec here fails at import (`_record`), so the format cannot
silently lose it; raise FORMAT when the encoding changes.
"""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Callable
from dataclasses import fields
from typing import Any

from otklik.org.models import Department, TopicGroup
from otklik.stats.selectors import (
    DayAnswerTime,
    DayMood,
    DayVolume,
    DepartmentRow,
    Durations,
    GroupRow,
    Place,
    PlaceMood,
    Stats,
    StatsFilters,
)

# The version of the encoding, stored beside the figures: a snapshot of another version is not read.
FORMAT = 2

Encode = Callable[[Any], Any]
Decode = Callable[[Any], Any]
Codec = tuple[Encode, Decode]


class FiguresFormatError(ValueError):
    """The stored JSON is not figures of this format."""


def _fail(what: str, value: Any) -> FiguresFormatError:
    return FiguresFormatError(f"{what} expected, got {type(value).__name__}: {value!r:.80}")


# --- scalars -----------------------------------------------------------------------------------------------------


def _int_in(value: Any) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise _fail("an integer", value)
    return value


def _str_in(value: Any) -> str:
    if not isinstance(value, str):
        raise _fail("a string", value)
    return value


def _float_out(value: Any) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        raise _fail("a finite number", value)
    return float(value)


def _float_in(value: Any) -> float:
    # PostgreSQL's jsonb writes a float with integral value as it was given ("2.0"); an integer is accepted too.
    return _float_out(value)


def _date_out(value: Any) -> str:
    if not isinstance(value, dt.date) or isinstance(value, dt.datetime):
        raise _fail("a date", value)
    return value.isoformat()


def _date_in(value: Any) -> dt.date:
    try:
        return dt.date.fromisoformat(_str_in(value))
    except ValueError as error:
        raise _fail("an ISO date", value) from error


def _moment_out(value: Any) -> str:
    if not isinstance(value, dt.datetime) or value.utcoffset() is None:
        raise _fail("an aware datetime", value)
    return value.astimezone(dt.UTC).isoformat()


def _moment_in(value: Any) -> dt.datetime:
    try:
        moment = dt.datetime.fromisoformat(_str_in(value))
    except ValueError as error:
        raise _fail("an ISO datetime", value) from error
    if moment.utcoffset() is None:
        raise _fail("an aware datetime", value)
    return moment.astimezone(dt.UTC)


INT: Codec = (_int_in, _int_in)
STR: Codec = (_str_in, _str_in)
FLOAT: Codec = (_float_out, _float_in)
DATE: Codec = (_date_out, _date_in)
MOMENT: Codec = (_moment_out, _moment_in)


def optional(codec: Codec) -> Codec:
    encode, decode = codec
    return (lambda v: None if v is None else encode(v)), (lambda v: None if v is None else decode(v))


def list_of(codec: Codec) -> Codec:
    encode, decode = codec

    def encode_list(value: Any) -> list[Any]:
        if not isinstance(value, list):
            raise _fail("a list", value)
        return [encode(item) for item in value]

    def decode_list(value: Any) -> list[Any]:
        if not isinstance(value, list):
            raise _fail("a list", value)
        return [decode(item) for item in value]

    return encode_list, decode_list


def _pairs(key: Codec, value: Codec) -> Codec:
    """A dict as a list of [key, value] pairs in its order (JSON object keys are strings only)."""

    def encode(mapping: Any) -> list[list[Any]]:
        if not isinstance(mapping, dict):
            raise _fail("a dict", mapping)
        return [[key[0](k), value[0](v)] for k, v in mapping.items()]

    def decode(pairs: Any) -> dict[Any, Any]:
        if not isinstance(pairs, list):
            raise _fail("a list of pairs", pairs)
        result: dict[Any, Any] = {}
        for pair in pairs:
            if not isinstance(pair, list) or len(pair) != 2:
                raise _fail("a [key, value] pair", pair)
            k = key[1](pair[0])
            if k in result:
                raise _fail("distinct keys", pairs)
            result[k] = value[1](pair[1])
        return result

    return encode, decode


def _record[T](cls: type[T], **codecs: Codec) -> Codec:
    """A dataclass as a JSON object of exactly its fields, each with its codec. A field without a codec (or a codec
    without a field) is an error at import: the format must follow the dataclass."""
    names = [f.name for f in fields(cls)]  # type: ignore[arg-type]
    if set(codecs) != set(names):
        raise TypeError(
            f"{cls.__name__}: fields {sorted(set(names) - set(codecs))} have no JSON codec, "
            f"codecs {sorted(set(codecs) - set(names))} no field (otklik/stats/figures_json.py; raise FORMAT)"
        )

    def encode(obj: Any) -> dict[str, Any]:
        if type(obj) is not cls:
            raise _fail(cls.__name__, obj)
        return {name: codecs[name][0](getattr(obj, name)) for name in names}

    def decode(data: Any) -> T:
        if not isinstance(data, dict) or set(data) != set(names):
            raise _fail(f"a {cls.__name__} object with the keys {names}", data)
        return cls(**{name: codecs[name][1](data[name]) for name in names})

    return encode, decode


# --- the figures -------------------------------------------------------------------------------------------------


def _pk_out(value: Any) -> int | None:
    return None if value is None else _int_in(value.pk)


def _model_in(model: type[TopicGroup] | type[Department]) -> Decode:
    def decode(value: Any) -> Any:
        if value is None:
            return None
        if not 0 < _int_in(value) < 2**63:  # a key the database could not even compare (an error, not a miss)
            raise _fail("a primary key", value)
        found = model._default_manager.filter(pk=value).first()
        if found is None:
            raise FiguresFormatError(f"{model.__name__} {value} no longer exists")
        return found

    return decode


FILTERS = _record(
    StatsFilters, group=(_pk_out, _model_in(TopicGroup)), department=(_pk_out, _model_in(Department)), channel=STR
)
DURATIONS = _record(
    Durations,
    count=INT,
    median_hours=optional(FLOAT),
    p90_hours=optional(FLOAT),
    median_calendar_hours=optional(FLOAT),
    p90_calendar_hours=optional(FLOAT),
)
GROUP_ROW = _record(
    GroupRow,
    group_id=optional(INT),
    group=optional(STR),
    incidents=INT,
    on_time=INT,
    judged=INT,
    posts=INT,
    negative=INT,
)
DEPARTMENT_ROW = _record(
    DepartmentRow,
    department_id=INT,
    department=STR,
    assignments=INT,
    on_time=INT,
    judged=INT,
    rework=INT,
    declined=INT,
)
DAY_VOLUME = _record(DayVolume, day=DATE, by_group=_pairs(optional(INT), INT))
DAY_MOOD = _record(DayMood, day=DATE, posts=INT, negative=INT)
DAY_ANSWER_TIME = _record(DayAnswerTime, day=DATE, first_answer_median_hours=optional(FLOAT), count=INT)
PLACE = _record(Place, territory_id=optional(INT), name=STR, incidents=INT)
PLACE_MOOD = _record(
    PlaceMood,
    territory_id=optional(INT),
    name=STR,
    posts=INT,
    negative=INT,
    baseline_posts=INT,
    baseline_negative=INT,
)
STATS = _record(
    Stats,
    start=DATE,
    end=DATE,
    filters=FILTERS,
    now=MOMENT,
    posts=INT,
    negative_posts=INT,
    incidents=INT,
    answered=INT,
    on_time=INT,
    judged=INT,
    reopened=INT,
    overdue_now=INT,
    satisfaction_total=INT,
    satisfied=INT,
    first_answer=DURATIONS,
    final_answer=DURATIONS,
    by_group=list_of(GROUP_ROW),
    by_department=list_of(DEPARTMENT_ROW),
    volume=list_of(DAY_VOLUME),
    mood=list_of(DAY_MOOD),
    mood_baseline=optional(FLOAT),
    answer_time=list_of(DAY_ANSWER_TIME),
    territories=list_of(PLACE),
    addresses=list_of(PLACE),
    place_mood=list_of(PLACE_MOOD),
)


def stats_to_json(stats: Stats) -> dict[str, Any]:
    """The figures as plain JSON values, with the format's version."""
    return {"format": FORMAT, "stats": STATS[0](stats)}


def stats_from_json(data: Any) -> Stats:
    """The figures stored by `stats_to_json`; FiguresFormatError when `data` is not of this format."""
    if not isinstance(data, dict) or data.get("format") != FORMAT or set(data) != {"format", "stats"}:
        raise FiguresFormatError(f"not figures of format {FORMAT}")
    stats: Stats = STATS[1](data["stats"])
    return stats
