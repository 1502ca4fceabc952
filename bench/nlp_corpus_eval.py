"""Train TopicModel on the team's corpus and compare it with the keyword classifier (groups), 5-fold CV.

    .venv/bin/python bench/nlp_corpus_eval.py

Prints one line per model with accuracy and macro-F1 (mean over 5 stratified folds) and the batch speed.
"""

from __future__ import annotations

import json
import os
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "otklik.settings")

import django  # noqa: E402

django.setup()

from sklearn.metrics import accuracy_score, f1_score  # noqa: E402
from sklearn.model_selection import StratifiedKFold  # noqa: E402

from otklik.nlp.keywords import KeywordClassifier  # noqa: E402
from otklik.nlp.model import TopicModel  # noqa: E402


def main() -> None:
    rows = []
    for path in sorted((ROOT / "otklik" / "nlp" / "data" / "corpus").glob("*.jsonl")):
        rows += [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]
    texts = [r["text"] for r in rows]
    labels = [r["group"] for r in rows]
    print(f"corpus: {len(rows)} posts, {len(set(labels))} groups")
    folds = StratifiedKFold(n_splits=5, shuffle=True, random_state=0)
    model_scores, keyword_scores, speeds = [], [], []
    keywords = KeywordClassifier()
    for train, test in folds.split(texts, labels):
        model = TopicModel().fit([texts[i] for i in train], [labels[i] for i in train])
        gold = [labels[i] for i in test]
        batch = [texts[i] for i in test]
        start = time.perf_counter()
        predicted = model.predict(batch)
        speeds.append(len(batch) / (time.perf_counter() - start))
        model_scores.append((accuracy_score(gold, predicted), f1_score(gold, predicted, average="macro")))
        by_keywords = [(keywords.classify(t).group_name or "none") for t in batch]
        keyword_scores.append((accuracy_score(gold, by_keywords), f1_score(gold, by_keywords, average="macro")))
    for name, scores in (("TopicModel", model_scores), ("keywords", keyword_scores)):
        acc = sum(s[0] for s in scores) / len(scores)
        f1 = sum(s[1] for s in scores) / len(scores)
        print(f"{name}: accuracy {acc:.3f}, macro-F1 {f1:.3f} (5-fold mean)")
    print(f"TopicModel batch speed: {sorted(speeds)[len(speeds) // 2]:.0f} posts/s (median of folds)")


if __name__ == "__main__":
    main()
