"""The learned topic classifier: a group model and a topic model trained on the corpus (plus operators' labels).

Contract used by the retrain loop (otklik.nlp.training) and the commands:
- `LabelledText(text, group, topic)`; `train(records) -> LearnedModel`;
- `LearnedModel.classify_many(texts) -> list[Classification]`, `.save(dir)`, `LearnedModel.load(dir)`, `.meta`;
- `evaluate(model, records) -> {"n", "accuracy", "macro_f1", "weighted_f1"}` on groups;
- `LearnedClassifier` (otklik.nlp.base.Classifier): the active model (VAR_DIR/nlp/active) if there is one, else
  the default built from the shipped corpus (cached in VAR_DIR/nlp/default, rebuilt when the corpus changes).

First version: hierarchical — the group from the group model, the topic from the topic model restricted to the
topics of that group. Improved by the NLP issue's model work.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from otklik.nlp.base import Classification
from otklik.nlp.model import TopicModel, scores


@dataclass(frozen=True)
class LabelledText:
    text: str
    group: str
    topic: str = ""


class LearnedModel:
    def __init__(self, groups: TopicModel, topics: TopicModel | None, meta: dict[str, Any] | None = None) -> None:
        self.groups = groups
        self.topics = topics
        self.meta: dict[str, Any] = dict(meta or {})

    def classify_many(self, texts: Sequence[str]) -> list[Classification]:
        if not texts:
            return []
        group_pipeline = self.groups._fitted()
        group_proba = group_pipeline.predict_proba(list(texts))
        group_classes = [str(c) for c in group_pipeline.classes_]
        topic_proba = None
        topic_classes: list[str] = []
        if self.topics is not None:
            topic_pipeline = self.topics._fitted()
            topic_proba = topic_pipeline.predict_proba(list(texts))
            topic_classes = [str(c) for c in topic_pipeline.classes_]
        topic_group = self.meta.get("topic_group", {})
        out = []
        for row in range(len(texts)):
            ranked = sorted(zip(group_classes, group_proba[row], strict=True), key=lambda p: -p[1])
            group, confidence = ranked[0]
            topic = None
            if topic_proba is not None:
                candidates = [
                    (name, p)
                    for name, p in zip(topic_classes, topic_proba[row], strict=True)
                    if topic_group.get(name) == group
                ]
                if candidates:
                    topic = max(candidates, key=lambda p: p[1])[0]
            out.append(
                Classification(
                    topic_name=topic,
                    group_name=group,
                    confidence=float(confidence),
                    scores={name: float(p) for name, p in ranked[:5]},
                    why=(f"model {self.meta.get('version', '?')}",),
                )
            )
        return out

    def save(self, directory: str | Path) -> Path:
        path = Path(directory)
        self.groups.save(path / "groups")
        if self.topics is not None:
            self.topics.save(path / "topics")
        (path / "meta.json").write_text(json.dumps(self.meta, ensure_ascii=False, indent=2), encoding="utf-8")
        return path

    @classmethod
    def load(cls, directory: str | Path) -> LearnedModel:
        path = Path(directory)
        meta = json.loads((path / "meta.json").read_text(encoding="utf-8"))
        topics = TopicModel.load(path / "topics") if (path / "topics").exists() else None
        return cls(TopicModel.load(path / "groups"), topics, meta)


def train(records: Sequence[LabelledText]) -> LearnedModel:
    groups = TopicModel().fit([r.text for r in records], [r.group for r in records])
    with_topic = [r for r in records if r.topic]
    topics = None
    if len({r.topic for r in with_topic}) >= 2:
        topics = TopicModel().fit([r.text for r in with_topic], [r.topic for r in with_topic])
    meta = {
        "version": groups.meta["version"],
        "created_at": groups.meta["created_at"],
        "n_train": len(records),
        "topic_group": {r.topic: r.group for r in with_topic},
    }
    return LearnedModel(groups, topics, meta)


def evaluate(model: LearnedModel, records: Sequence[LabelledText]) -> dict[str, float]:
    predicted = [c.group_name or "" for c in model.classify_many([r.text for r in records])]
    return {"n": len(records), **scores([r.group for r in records], predicted)}


def activate(directory: str | Path) -> Path:
    """Check that `directory` holds a loadable LearnedModel, then install a copy as the production model
    (`otklik.nlp.model.active_dir()`), atomically: a failed copy leaves the old model active."""
    import shutil
    import tempfile

    from otklik.nlp.model import active_dir

    source = Path(directory)
    LearnedModel.load(source)
    target = active_dir()
    target.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix="active-", dir=target.parent))
    shutil.copytree(source, staging, dirs_exist_ok=True)
    old = target.with_name(f"{target.name}.old")
    if old.exists():
        shutil.rmtree(old)
    if target.exists():
        target.rename(old)
    staging.rename(target)
    if old.exists():
        shutil.rmtree(old)
    return target
