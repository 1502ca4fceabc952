"""The team's hand-written corpus (`otklik/nlp/data/corpus/*.jsonl`) and its fixed held-out split.

One JSON object per line: `text`, `group` (rubricator group), `topic` (a rubricator topic of that group, or empty),
`kind` (complaint, question, suggestion, gratitude, neutral, abusive, spam), `style` (social or portal) and,
where written, `negative` (true/false). Rows of kind abusive/spam may have an empty group.

The held-out split is stable and stratified: within each group (or kind, for rows without a group) the rows are
ordered by a hash of their text and every fifth one is held out. Adding rows moves few others across the line.
"""

from __future__ import annotations

import hashlib
import json
from collections import defaultdict
from dataclasses import dataclass
from pathlib import Path

CORPUS_DIR = Path(__file__).resolve().parent / "data" / "corpus"
HELDOUT_EVERY = 5


@dataclass(frozen=True)
class CorpusRow:
    text: str
    group: str
    topic: str
    kind: str
    style: str
    negative: bool | None
    where: str


def _digest(text: str) -> str:
    return hashlib.sha1(text.strip().lower().encode("utf-8"), usedforsecurity=False).hexdigest()


def load(directory: Path = CORPUS_DIR) -> list[CorpusRow]:
    """Every row of every `*.jsonl` file, in file and line order."""
    rows: list[CorpusRow] = []
    for path in sorted(directory.glob("*.jsonl")):
        for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
            if not line.strip():
                continue
            data = json.loads(line)
            negative = data.get("negative")
            rows.append(
                CorpusRow(
                    text=str(data.get("text", "")),
                    group=str(data.get("group") or ""),
                    topic=str(data.get("topic") or ""),
                    kind=str(data.get("kind") or ""),
                    style=str(data.get("style") or ""),
                    negative=None if negative is None else bool(negative),
                    where=f"{path.name}:{number}",
                )
            )
    return rows


def split(rows: list[CorpusRow]) -> tuple[list[CorpusRow], list[CorpusRow]]:
    """(train, heldout): every fifth row of each stratum, ordered by the hash of its text, is held out."""
    strata: dict[str, list[CorpusRow]] = defaultdict(list)
    for row in rows:
        strata[row.group or f"kind:{row.kind}"].append(row)
    held: set[str] = set()
    for members in strata.values():
        ordered = sorted(members, key=lambda r: _digest(r.text))
        held |= {r.where for r in ordered[HELDOUT_EVERY - 1 :: HELDOUT_EVERY]}
    train = [r for r in rows if r.where not in held]
    heldout = [r for r in rows if r.where in held]
    return train, heldout
