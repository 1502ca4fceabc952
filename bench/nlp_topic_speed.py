"""Speed and memory of the production topic classifier (otklik.nlp.learned), on one core.

    OMP_NUM_THREADS=1 OPENBLAS_NUM_THREADS=1 taskset -c 0 .venv/bin/python bench/nlp_topic_speed.py

Trains the recipe on the corpus's train split and times it on the held-out posts it has not seen (on its own
training posts the text model is sure of nearly everything and skips the embeddings: too rosy). Prints the batch
speed (all posts in one call) and one-by-one speed (`classify` per post, as the worker runs it), in posts/s of wall
and of CPU time (the CPU figure is what one core does when the machine is shared), and the process's RSS after
loading the shipped default model (the worker's case) and at the end.
"""

from __future__ import annotations

import os
import resource
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "otklik.settings")
os.environ.setdefault("OMP_NUM_THREADS", "1")
os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")

import django  # noqa: E402

django.setup()

from otklik.nlp import corpus, embeddings, learned  # noqa: E402

REPEATS = 3


def rss_mb() -> float:
    with open("/proc/self/status", encoding="ascii") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def rate(fn, n: int) -> tuple[float, float]:  # type: ignore[no-untyped-def]
    """Median over REPEATS of (wall posts/s, CPU posts/s); the embedding cache is emptied before each run."""
    walls, cpus = [], []
    for _ in range(REPEATS):
        embeddings._cache.clear()
        wall, cpu = time.perf_counter(), time.process_time()
        fn()
        walls.append(n / (time.perf_counter() - wall))
        cpus.append(n / max(1e-9, time.process_time() - cpu))
    return statistics.median(walls), statistics.median(cpus)


def main() -> None:
    started = time.perf_counter()
    default = learned.default_model()
    default.classify_many(["прогрев"])  # the encoder and the dictionaries load lazily
    print(f"default model loaded in {time.perf_counter() - started:.1f} s; RSS {rss_mb():.0f} MB")

    rows = [r for r in corpus.load() if r.group]
    train, heldout = corpus.split(rows)
    model = learned.train([learned.LabelledText(r.text, r.group, r.topic) for r in train])
    texts = [r.text for r in heldout]
    print(f"{len(texts)} unseen posts, mean {statistics.mean(len(t) for t in texts):.0f} chars")
    _, proba, embedded = model.groups.proba(texts)
    print(f"share of posts that need the embeddings: {embedded.mean():.2f}")

    wall, cpu = rate(lambda: model.classify_many(texts), len(texts))
    print(f"batch:      {wall:6.0f} posts/s wall, {cpu:6.0f} posts/s CPU")
    wall, cpu = rate(lambda: [model.classify_many([t]) for t in texts], len(texts))
    print(f"one by one: {wall:6.0f} posts/s wall, {cpu:6.0f} posts/s CPU")
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"RSS at the end (two models loaded): {rss_mb():.0f} MB; peak {peak:.0f} MB")


if __name__ == "__main__":
    main()
