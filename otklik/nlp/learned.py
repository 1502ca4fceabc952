"""The learned topic classifier: a group model and a topic model trained on the corpus (plus operators' labels).

Contract used by the retrain loop (otklik.nlp.training) and the commands:
- `LabelledText(text, group, topic)`; `train(records) -> LearnedModel`;
- `LearnedModel.classify_many(texts) -> list[Classification]`, `.save(dir)`, `LearnedModel.load(dir)`, `.meta`;
- `evaluate(model, records) -> {"n", "accuracy", "macro_f1", "weighted_f1"}` on groups;
- `activate(dir)` installs a copy as the production model (`otklik.nlp.model.active_dir()`);
- `default_model()`: the recipe trained on the whole shipped corpus, cached on disk (`default_dir()`);
- `LearnedClassifier` (otklik.nlp.base.Classifier): the active model if there is one, else the default.

Both models are `otklik.nlp.model.TopicModel` (the TF-IDF + embeddings ensemble). Hierarchical: the group and its
confidence come from the group model; the topic is the topic model's best topic among the topics of that group
(the topic model alone is weak: ~200 topics with 2–5 posts each; measured in docs/NLP.md). A model trained by
`nlp_train` on other labels has no topic model: its labels are the "groups".
"""

from __future__ import annotations

import fcntl
import hashlib
import json
import logging
import shutil
import tempfile
import threading
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import sklearn
from django.conf import settings

from otklik.nlp import corpus, embeddings
from otklik.nlp.base import Classification
from otklik.nlp.model import META_FILE, PIPELINE_FILE, RECIPE, TopicModel, active_dir, scores, union_transform

log = logging.getLogger(__name__)

#: How often a running classifier looks at the active model's meta.json for a newly activated version.
RECHECK_SECONDS = 30.0
SCORES_KEPT = 5


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

    @property
    def labels(self) -> list[str]:
        return self.groups.labels

    def classify_many(self, texts: Sequence[str]) -> list[Classification]:
        """One Classification per text: the group model's best group with its probability as the confidence, and
        the topic model's best topic of that group (None when the model has no topics of it)."""
        texts = list(texts)
        if not texts:
            return []
        shared = self.topics is not None and self.topics.meta.get("features") == "groups"
        vectoriser = self.groups.features() if shared else None
        matrix = union_transform(vectoriser, texts) if vectoriser is not None else None
        group_classes, group_proba, embedded = self.groups.proba(texts, matrix=matrix)
        topic_classes: list[str] = []
        topic_proba: np.ndarray | None = None
        if self.topics is not None:
            # The topic model sees the same TF-IDF matrix and the embeddings of the same rows as the group model.
            topic_classes, topic_proba, _embedded = self.topics.proba(texts, embed=embedded, matrix=matrix)
        topic_group: dict[str, str] = self.meta.get("topic_group", {})
        columns_of: dict[str, list[int]] = {}
        for column, name in enumerate(topic_classes):
            columns_of.setdefault(topic_group.get(name, ""), []).append(column)
        why = (f"model {self.meta.get('version', '?')}",)
        out = []
        for row, text in enumerate(texts):
            if not any(ch.isalpha() for ch in text):
                out.append(Classification(topic_name=None, group_name=None, confidence=0.0, why=("no words",)))
                continue
            order = np.argsort(-group_proba[row], kind="stable")
            group = group_classes[order[0]]
            topic = None
            columns = columns_of.get(group)
            if topic_proba is not None and columns:
                topic = topic_classes[max(columns, key=lambda c: topic_proba[row, c])]
            out.append(
                Classification(
                    topic_name=topic,
                    group_name=group,
                    confidence=float(min(1.0, max(0.0, group_proba[row, order[0]]))),
                    scores={group_classes[i]: float(group_proba[row, i]) for i in order[:SCORES_KEPT]},
                    why=why,
                )
            )
        return out

    def save(self, directory: str | Path) -> Path:
        path = Path(directory)
        self.groups.save(path / "groups")
        if self.topics is not None:
            self.topics.save(path / "topics")
        (path / META_FILE).write_text(json.dumps(self.meta, ensure_ascii=False, indent=2), encoding="utf-8")
        return path

    @classmethod
    def load(cls, directory: str | Path) -> LearnedModel:
        """A LearnedModel directory; also a bare TopicModel directory (an older nlp_train), as its groups."""
        path = Path(directory)
        meta = json.loads((path / META_FILE).read_text(encoding="utf-8"))
        if (path / PIPELINE_FILE).exists() and not (path / "groups").exists():
            embeddings.warm_up()
            return cls(TopicModel.load(path), None, meta)
        topics = TopicModel.load(path / "topics") if (path / "topics").exists() else None
        embeddings.warm_up()  # models load once per process, all of them at load time
        return cls(TopicModel.load(path / "groups"), topics, meta)


def train(records: Sequence[LabelledText], *, prior: bool = True) -> LearnedModel:
    """The group model on every record, the topic model on the records with a topic (when there are ≥ 2)."""
    records = [r for r in records if r.text.strip() and r.group]
    groups = TopicModel().fit([r.text for r in records], [r.group for r in records], prior=prior)
    with_topic = [r for r in records if r.topic]
    topics = None
    if len({r.topic for r in with_topic}) >= 2:
        topics = TopicModel().fit(
            [r.text for r in with_topic], [r.topic for r in with_topic], prior=prior, features=groups.features()
        )
        topics.meta["features"] = "groups"  # vectorised by the group model's features (fitted on more texts)
    meta = {
        "version": groups.meta["version"],
        "created_at": groups.meta["created_at"],
        "recipe": RECIPE,
        "n_train": len(records),
        "labels": groups.labels,
        "topic_group": {r.topic: r.group for r in with_topic},
    }
    return LearnedModel(groups, topics, meta)


def evaluate(model: LearnedModel, records: Sequence[LabelledText]) -> dict[str, float]:
    predicted = [c.group_name or "" for c in model.classify_many([r.text for r in records])]
    return {"n": len(records), **scores([r.group for r in records], predicted)}


def activate(directory: str | Path) -> Path:
    """Check that `directory` holds a loadable LearnedModel, then install a copy as the production model
    (`otklik.nlp.model.active_dir()`), atomically: a failed copy leaves the old model active."""
    source = Path(directory)
    LearnedModel.load(source)
    target = active_dir()
    target.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix="active-", dir=target.parent))
    staging.chmod(0o755)  # mkdtemp makes it private; the web process may run as another user
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


# --- the shipped default ------------------------------------------------------------------------------------------


def default_key() -> str:
    """A digest of what the default model is built from: the corpus files, the rubricator and keyword data (the
    prior), the recipe's source and the scikit-learn version. A change of any of them builds a new default."""
    from otklik.nlp import model
    from otklik.nlp.keywords import KEYWORDS_PATH, RUBRICATOR_PATH

    digest = hashlib.sha256()
    digest.update(f"{RECIPE}|{sklearn.__version__}|{embeddings.ENCODER}".encode())
    paths = sorted(corpus.CORPUS_DIR.glob("*.jsonl")) + [KEYWORDS_PATH, RUBRICATOR_PATH]
    paths += [Path(m.__file__ or "") for m in (model, embeddings)] + [Path(__file__)]
    for path in paths:
        digest.update(path.name.encode())
        digest.update(path.read_bytes())
    return digest.hexdigest()[:16]


def default_dir(key: str | None = None) -> Path:
    return Path(settings.OTKLIK_CLASSIFIER_DEFAULT_DIR) / (key or default_key())


def corpus_records() -> list[LabelledText]:
    """Every corpus row with a group (spam/abusive rows without one say nothing about topics)."""
    return [LabelledText(r.text, r.group, r.topic) for r in corpus.load(corpus.CORPUS_DIR) if r.group]


_build_lock = threading.Lock()


def build_default(*, force: bool = False) -> tuple[Path, bool]:
    """Make sure the default model for the current corpus and recipe is on disk; returns (its directory, whether
    it was built now). Processes that race wait for one builder (a file lock); older defaults are removed."""
    key = default_key()
    target = default_dir(key)
    if (target / META_FILE).exists() and not force:
        return target, False
    root = target.parent
    root.mkdir(parents=True, exist_ok=True)
    with _build_lock, (root / ".lock").open("w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        try:
            if (target / META_FILE).exists() and not force:
                return target, False
            started = time.perf_counter()
            model = train(corpus_records())
            model.meta.update(default_key=key, source="default", build_seconds=round(time.perf_counter() - started, 1))
            staging = Path(tempfile.mkdtemp(prefix="build-", dir=root))
            staging.chmod(0o755)
            model.save(staging)
            if target.exists():
                shutil.rmtree(target)
            staging.rename(target)
            for other in root.iterdir():
                if other.is_dir() and other != target:
                    shutil.rmtree(other, ignore_errors=True)
            log.info("built the default topic model %s in %.1f s", key, model.meta["build_seconds"])
            return target, True
        finally:
            fcntl.flock(lock, fcntl.LOCK_UN)


def default_model() -> LearnedModel:
    """The default model (built first when the corpus or the recipe changed)."""
    path, _built = build_default()
    return LearnedModel.load(path)


def _active_stamp() -> str | None:
    """The active model's identity: its version and the time its meta.json was written; None without one."""
    meta_path = active_dir() / META_FILE
    try:
        stat = meta_path.stat()
        version = json.loads(meta_path.read_text(encoding="utf-8")).get("version", "?")
    except (OSError, ValueError):
        return None
    return f"{version}@{stat.st_mtime_ns}"


class LearnedClassifier:
    """The production topic classifier (settings.OTKLIK_CLASSIFIER): the active model, else the shipped default.

    Built once per process (otklik.nlp.base.get_classifier); at most every `RECHECK_SECONDS` it looks whether
    another model was activated (by nlp_activate or the retrain) and then loads it, so workers pick up a promotion
    without a restart. An active model that does not load is logged and the default is used.
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._model: LearnedModel | None = None
        self._stamp: str | None = None
        self._checked_at = 0.0

    @property
    def model(self) -> LearnedModel:
        now = time.monotonic()
        if self._model is not None and now - self._checked_at < RECHECK_SECONDS:
            return self._model
        with self._lock:
            if self._model is not None and now - self._checked_at < RECHECK_SECONDS:
                return self._model
            stamp = _active_stamp()
            if self._model is None or stamp != self._stamp:
                self._model = self._load(stamp)
                self._stamp = stamp
            self._checked_at = now
            return self._model

    @staticmethod
    def _load(stamp: str | None) -> LearnedModel:
        if stamp is not None:
            try:
                model = LearnedModel.load(active_dir())
            except Exception:
                log.exception("the active topic model in %s does not load; using the default", active_dir())
            else:
                log.info("topic model: active %s", model.meta.get("version", "?"))
                return model
        return default_model()

    def classify(self, text: str) -> Classification:
        return self.model.classify_many([text])[0]

    def classify_many(self, texts: Sequence[str]) -> list[Classification]:
        return self.model.classify_many(texts)
