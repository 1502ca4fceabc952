"""The team's training corpus (otklik/nlp/data/corpus/*.jsonl) is well-formed and speaks the rubricator's names."""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
CORPUS = ROOT / "otklik" / "nlp" / "data" / "corpus"
RUBRICATOR = json.loads((ROOT / "otklik" / "org" / "data" / "im_rubricator.json").read_text(encoding="utf-8"))
TOPICS = {name.removeprefix("★ ").strip(): group for name, group in RUBRICATOR.items()}
GROUPS = set(TOPICS.values())
KINDS = {"complaint", "question", "suggestion", "gratitude", "neutral", "abusive", "spam"}
# Spam, abuse and small talk need not be about any topic of the city.
NO_GROUP_KINDS = {"abusive", "spam", "neutral"}
# The groups a city sees most (issue 4): at least 40 posts each; every other group at least 15.
FREQUENT = (
    "ЖКХ",
    "Благоустройство",
    "Дороги",
    "Мусор/Свалки/ТКО",
    "Общественный транспорт",
    "Образование",
    "Здравоохранение/Медицина",
    "Социальное обслуживание и защита",
    "Электроснабжение",
    "Безопасность",
    "Экология",
    "Строительство и архитектура",
    "Торговля",
    "Культура",
    "Физическая культура и спорт",
)


def rows() -> list[dict[str, str]]:
    out = []
    for path in sorted(CORPUS.glob("*.jsonl")):
        for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
            if line.strip():
                row = json.loads(line)
                row["_where"] = f"{path.name}:{number}"
                out.append(row)
    return out


pytestmark = pytest.mark.skipif(not CORPUS.exists(), reason="no corpus files yet")


def test_every_row_names_a_known_group_topic_and_kind():
    problems = []
    for row in rows():
        if not row.get("text", "").strip():
            problems.append(f"{row['_where']}: empty text")
        if row.get("group") not in GROUPS and not (row.get("kind") in NO_GROUP_KINDS and not row.get("group")):
            problems.append(f"{row['_where']}: unknown group {row.get('group')!r}")
        topic = row.get("topic") or ""
        if topic and TOPICS.get(topic) != row.get("group"):
            problems.append(f"{row['_where']}: topic {topic!r} is not in group {row.get('group')!r}")
        if row.get("kind") not in KINDS:
            problems.append(f"{row['_where']}: unknown kind {row.get('kind')!r}")
    assert problems == []


def test_no_text_is_there_twice():
    texts = Counter(row["text"].strip().lower() for row in rows())
    assert [text for text, n in texts.items() if n > 1] == []


def test_every_group_has_enough_examples():
    counts = Counter(row["group"] for row in rows() if row.get("group"))
    short = {group: counts[group] for group in FREQUENT if counts[group] < 40}
    short |= {group: counts[group] for group in GROUPS - set(FREQUENT) if counts[group] < 15}
    assert short == {}


def test_every_kind_and_both_styles_are_there():
    kinds = Counter(row["kind"] for row in rows())
    assert {kind: kinds[kind] for kind in KINDS if kinds[kind] < 25} == {}
    styles = Counter(row.get("style") for row in rows())
    assert set(styles) == {"social", "portal"}
    assert min(styles.values()) >= 0.2 * sum(styles.values())


def test_every_row_says_whether_it_is_negative():
    assert [row["_where"] for row in rows() if not isinstance(row.get("negative"), bool)] == []


def test_the_heldout_split_is_stable_and_covers_every_group():
    from otklik.nlp import corpus

    loaded = corpus.load()
    train, heldout = corpus.split(loaded)
    assert len(train) + len(heldout) == len(loaded)
    assert 0.15 <= len(heldout) / len(loaded) <= 0.25
    assert {r.group for r in heldout if r.group} == {r.group for r in loaded if r.group}
    assert corpus.split(corpus.load())[1] == heldout
