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
        if row.get("group") not in GROUPS:
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


def test_the_groups_a_city_sees_most_have_enough_examples():
    counts = Counter(row["group"] for row in rows())
    for group in ("ЖКХ", "Благоустройство", "Дороги", "Мусор/Свалки/ТКО"):
        if counts[group]:
            assert counts[group] >= 30, (group, counts[group])
