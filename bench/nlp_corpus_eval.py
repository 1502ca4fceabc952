"""The topic classifiers on the team's corpus: the keyword classifier, a plain TF-IDF + LinearSVC baseline and the
production recipe (otklik.nlp.learned.train), on the fixed held-out split and in 5-fold stratified CV (groups).

    OMP_NUM_THREADS=1 OPENBLAS_NUM_THREADS=1 taskset -c 0 .venv/bin/python bench/nlp_corpus_eval.py [--folds 5]

Rows without a group (spam, abusive) are left out. Prints, per model: group accuracy and macro-F1, topic accuracy
(rows with a topic; the baseline predicts groups only) and the batch speed on the unseen texts (posts/s, wall and
CPU time); then, for the production recipe on the held-out split, the share of posts at or above each confidence
and their accuracy (how OTKLIK_CLASSIFIER_THRESHOLD was chosen).
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
from collections import defaultdict
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "otklik.settings")

import django  # noqa: E402

django.setup()

from sklearn.feature_extraction.text import TfidfVectorizer  # noqa: E402
from sklearn.model_selection import StratifiedKFold  # noqa: E402
from sklearn.pipeline import FeatureUnion, Pipeline  # noqa: E402
from sklearn.svm import LinearSVC  # noqa: E402

from otklik.nlp import corpus, embeddings, learned  # noqa: E402
from otklik.nlp.keywords import KeywordClassifier  # noqa: E402
from otklik.nlp.model import scores  # noqa: E402

THRESHOLDS = (0.3, 0.35, 0.4, 0.45, 0.5, 0.55, 0.6, 0.7)


def baseline() -> Pipeline:
    """TF-IDF of word 1–2-grams and char_wb 2–5-grams, LinearSVC with default settings: the issue's baseline."""
    features = FeatureUnion(
        [
            ("words", TfidfVectorizer(ngram_range=(1, 2), sublinear_tf=True)),
            ("chars", TfidfVectorizer(analyzer="char_wb", ngram_range=(2, 5), sublinear_tf=True)),
        ]
    )
    return Pipeline([("features", features), ("clf", LinearSVC(random_state=0))])


def timed(predict, texts):  # type: ignore[no-untyped-def]
    embeddings._cache.clear()  # CV folds embed the same texts: time the real work
    wall, cpu = time.perf_counter(), time.process_time()
    result = predict(texts)
    return result, len(texts) / (time.perf_counter() - wall), len(texts) / max(1e-9, time.process_time() - cpu)


def run(train: list[corpus.CorpusRow], test: list[corpus.CorpusRow], keywords: KeywordClassifier) -> dict:
    texts = [r.text for r in test]
    gold = [r.group for r in test]
    with_topic = [i for i, r in enumerate(test) if r.topic]
    out: dict[str, dict] = {}

    found, wall, cpu = timed(lambda ts: [keywords.classify(t) for t in ts], texts)
    out["keywords"] = {
        **scores(gold, [c.group_name or "none" for c in found]),
        "topic_accuracy": sum(found[i].topic_name == test[i].topic for i in with_topic) / len(with_topic),
        "wall": wall,
        "cpu": cpu,
    }

    model = baseline().fit([r.text for r in train], [r.group for r in train])
    predicted, wall, cpu = timed(lambda ts: list(model.predict(ts)), texts)
    out["baseline"] = {**scores(gold, predicted), "topic_accuracy": None, "wall": wall, "cpu": cpu}

    started = time.perf_counter()
    learned_model = learned.train([learned.LabelledText(r.text, r.group, r.topic) for r in train])
    train_seconds = time.perf_counter() - started
    found, wall, cpu = timed(learned_model.classify_many, texts)
    out["learned"] = {
        **scores(gold, [c.group_name or "none" for c in found]),
        "topic_accuracy": sum(found[i].topic_name == test[i].topic for i in with_topic) / len(with_topic),
        "wall": wall,
        "cpu": cpu,
        "train_seconds": train_seconds,
        "confidence": [(c.confidence, c.group_name == g) for c, g in zip(found, gold, strict=True)],
    }
    return out


def show(title: str, results: list[dict]) -> None:
    print(title)
    print(f"  {'model':10s} {'accuracy':>8s} {'macro-F1':>8s} {'topic acc':>9s} {'posts/s wall':>12s} {'CPU':>6s}")
    for name in ("keywords", "baseline", "learned"):
        rows = [r[name] for r in results]

        def mean(key: str, rows: list[dict] = rows) -> float:
            return statistics.mean(r[key] for r in rows)

        topic = "—" if rows[0]["topic_accuracy"] is None else f"{mean('topic_accuracy'):.3f}"
        print(
            f"  {name:10s} {mean('accuracy'):8.3f} {mean('macro_f1'):8.3f} {topic:>9s} "
            f"{statistics.median(r['wall'] for r in rows):12.0f} {statistics.median(r['cpu'] for r in rows):6.0f}"
        )
    print(f"  learned: training {statistics.mean(r['learned']['train_seconds'] for r in results):.0f} s per model")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--folds", type=int, default=5)
    args = parser.parse_args()
    rows = [r for r in corpus.load() if r.group]
    print(f"corpus: {len(rows)} posts with a group, {len({r.group for r in rows})} groups, "
          f"{len({r.topic for r in rows if r.topic})} topics")  # fmt: skip
    keywords = KeywordClassifier(use_db_keywords=False)

    train, heldout = corpus.split(rows)
    held = run(train, heldout, keywords)
    show(f"held-out split: train {len(train)}, test {len(heldout)}", [held])
    print("  threshold: share of held-out posts at or above it, and their accuracy")
    confidence = held["learned"]["confidence"]
    for threshold in THRESHOLDS:
        above = [ok for c, ok in confidence if c >= threshold]
        below = [ok for c, ok in confidence if c < threshold]
        print(
            f"    {threshold:.2f}: {len(above) / len(confidence):.2f} of posts, "
            f"accuracy {statistics.mean(above) if above else float('nan'):.3f}; "
            f"below: accuracy {statistics.mean(below) if below else float('nan'):.3f}"
        )

    if args.folds > 1:
        folds = StratifiedKFold(n_splits=args.folds, shuffle=True, random_state=0)
        results = []
        for fold_train, fold_test in folds.split(rows, [r.group for r in rows]):
            results.append(run([rows[i] for i in fold_train], [rows[i] for i in fold_test], keywords))
            print(f"  fold {len(results)} done", flush=True)
        show(f"{args.folds}-fold stratified CV (mean; speed: median)", results)
        spread = defaultdict(list)
        for r in results:
            for name in ("baseline", "learned"):
                spread[name].append(r[name]["macro_f1"])
        print("  macro-F1 per fold:", {k: [round(v, 3) for v in vs] for k, vs in spread.items()})


if __name__ == "__main__":
    main()
