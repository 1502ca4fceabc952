"""The learned topic model's recipe (`TopicModel`), its storage on disk, and the shared CSV/metrics helpers.

Features: TF-IDF over word 1–2-grams of lemmas (otklik.nlp.text's cached lemmatiser, stop words dropped) plus
TF-IDF over char_wb 2–5-grams of the normalised text (HTML stripped, lowercase, ё → е). Classifier: a class-balanced
LinearSVC calibrated by CalibratedClassifierCV (3 folds) when every class has at least 3 samples, otherwise a
class-balanced LogisticRegression; both give `predict_proba`. Deterministic (fixed random_state, unshuffled folds).

On disk a model is a directory: `pipeline.joblib` (the sklearn pipeline) and `meta.json` (version, created_at,
labels, n_train, sklearn_version, metrics when known). The production model is a copy in
`VAR_DIR/nlp/active/` (see `activate`); the copy keeps working if the trained directory is later deleted.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import json
import shutil
import tempfile
from collections import Counter
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import joblib
import numpy as np
import sklearn
from django.conf import settings
from sklearn.calibration import CalibratedClassifierCV
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import accuracy_score, f1_score
from sklearn.pipeline import FeatureUnion, Pipeline
from sklearn.svm import LinearSVC

from otklik.nlp.text import lemmas, normalize

RECIPE = "tfidf-lemma12-char25-svc-calibrated/1"
PIPELINE_FILE = "pipeline.joblib"
META_FILE = "meta.json"
RANDOM_STATE = 0
MIN_PER_CLASS_FOR_SVC = 3


def lemma_tokens(text: str) -> list[str]:
    """Word tokens for the word n-gram TF-IDF: lemmas, stop words dropped (module level so joblib can pickle it)."""
    return lemmas(text)


def _identity(text: str) -> str:
    return text


def _features() -> FeatureUnion:
    words = TfidfVectorizer(
        tokenizer=lemma_tokens,
        preprocessor=_identity,
        lowercase=False,
        token_pattern=None,
        ngram_range=(1, 2),
        sublinear_tf=True,
    )
    chars = TfidfVectorizer(analyzer="char_wb", preprocessor=normalize, ngram_range=(2, 5), sublinear_tf=True)
    return FeatureUnion([("words", words), ("chars", chars)])


def _classifier(labels: Sequence[str]) -> Any:
    counts = Counter(labels)
    if min(counts.values()) >= MIN_PER_CLASS_FOR_SVC:
        svc = LinearSVC(class_weight="balanced", C=0.5, random_state=RANDOM_STATE)
        return CalibratedClassifierCV(svc, cv=MIN_PER_CLASS_FOR_SVC)
    return LogisticRegression(class_weight="balanced", C=10.0, max_iter=2000, random_state=RANDOM_STATE)


class TopicModel:
    """A text classifier over whatever labels it is trained on (groups, topics, negative/other)."""

    def __init__(self, pipeline: Pipeline | None = None, meta: dict[str, Any] | None = None) -> None:
        self.pipeline = pipeline
        self.meta: dict[str, Any] = dict(meta or {})

    @property
    def labels(self) -> list[str]:
        return list(self.meta.get("labels", []))

    def fit(self, texts: Sequence[str], labels: Sequence[str]) -> TopicModel:
        if len(texts) != len(labels):
            raise ValueError("texts and labels differ in length")
        if len(set(labels)) < 2:
            raise ValueError("at least two distinct labels are needed")
        pipeline = Pipeline([("features", _features()), ("clf", _classifier(labels))])
        pipeline.fit(list(texts), list(labels))
        self.pipeline = pipeline
        now = dt.datetime.now(dt.UTC)
        self.meta.update(
            version=now.strftime("%Y%m%dT%H%M%SZ"),
            created_at=now.isoformat(),
            recipe=RECIPE,
            labels=sorted(str(label) for label in set(labels)),
            n_train=len(texts),
            sklearn_version=sklearn.__version__,
        )
        return self

    def _fitted(self) -> Pipeline:
        if self.pipeline is None:
            raise RuntimeError("the model is not trained")
        return self.pipeline

    def predict(self, texts: Sequence[str]) -> list[str]:
        return [label for label, _ in self.predict_proba(texts)]

    def predict_proba(self, texts: Sequence[str]) -> list[tuple[str, float]]:
        """For each text the best label and its probability."""
        if not texts:
            return []
        pipeline = self._fitted()
        proba = pipeline.predict_proba(list(texts))
        classes = pipeline.classes_
        best = np.argmax(proba, axis=1)
        return [(str(classes[i]), float(proba[row, i])) for row, i in enumerate(best)]

    def save(self, directory: str | Path) -> Path:
        path = Path(directory)
        path.mkdir(parents=True, exist_ok=True)
        joblib.dump(self._fitted(), path / PIPELINE_FILE)
        (path / META_FILE).write_text(json.dumps(self.meta, ensure_ascii=False, indent=2), encoding="utf-8")
        return path

    @classmethod
    def load(cls, directory: str | Path) -> TopicModel:
        path = Path(directory)
        meta = json.loads((path / META_FILE).read_text(encoding="utf-8"))
        pipeline = joblib.load(path / PIPELINE_FILE)
        if not isinstance(pipeline, Pipeline):
            raise ValueError(f"{path / PIPELINE_FILE} is not a scikit-learn pipeline")
        return cls(pipeline, meta)


def active_dir() -> Path:
    """Where the production model lives (a copy made by `activate`)."""
    return Path(settings.VAR_DIR) / "nlp" / "active"


def activate(directory: str | Path) -> Path:
    """Check that `directory` holds a loadable model, then copy it over `VAR_DIR/nlp/active/`; returns that path.

    The copy is made beside the target first and renamed into place, so a failed copy leaves the old model active.
    """
    source = Path(directory)
    TopicModel.load(source)
    target = active_dir()
    target.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix="active-", dir=target.parent))
    shutil.copytree(source, staging, dirs_exist_ok=True)
    if target.exists():
        old = target.with_name(f"{target.name}.old")
        if old.exists():
            shutil.rmtree(old)
        target.rename(old)
        staging.rename(target)
        shutil.rmtree(old)
    else:
        staging.rename(target)
    return target


def scores(gold: Sequence[str], pred: Sequence[str]) -> dict[str, float]:
    """accuracy, macro-F1 (over the labels in gold or predictions) and weighted F1."""
    labels = sorted(set(gold) | set(pred))
    return {
        "accuracy": float(accuracy_score(gold, pred)) if gold else 0.0,
        "macro_f1": float(f1_score(gold, pred, labels=labels, average="macro", zero_division=0)) if gold else 0.0,
        "weighted_f1": float(f1_score(gold, pred, labels=labels, average="weighted", zero_division=0)) if gold else 0.0,
    }


class ColumnNotFound(KeyError):
    def __init__(self, column: str, columns: Sequence[str]) -> None:
        super().__init__(column)
        self.column = column
        self.columns = list(columns)


def read_labelled_csv(path: str | Path, text_column: str, label_column: str) -> tuple[list[str], list[str], int]:
    """Texts and labels of a CSV (UTF-8 or cp1251; `,`, `;` or tab, sniffed); rows with an empty text or label are
    skipped and counted. Returns (texts, labels, skipped). Raises ColumnNotFound, OSError, UnicodeDecodeError."""
    raw = Path(path).read_bytes()
    try:
        content = raw.decode("utf-8-sig")
    except UnicodeDecodeError:
        content = raw.decode("cp1251")
    try:
        # The header line alone: commas inside unquoted texts would mislead the sniffer on a `;` file.
        delimiter = csv.Sniffer().sniff(content.split("\n", 1)[0], delimiters=",;\t").delimiter
    except csv.Error:
        delimiter = ","
    reader = csv.DictReader(io.StringIO(content), delimiter=delimiter)
    columns = [name.strip() for name in (reader.fieldnames or [])]
    reader.fieldnames = columns
    for column in (text_column, label_column):
        if column not in columns:
            raise ColumnNotFound(column, columns)
    texts: list[str] = []
    labels: list[str] = []
    skipped = 0
    for row in reader:
        text = (row.get(text_column) or "").strip()
        label = (row.get(label_column) or "").strip()
        if not text or not label:
            skipped += 1
            continue
        texts.append(text)
        labels.append(label)
    return texts, labels, skipped
