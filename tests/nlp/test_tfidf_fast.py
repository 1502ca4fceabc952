"""The worker's one-text TF-IDF (otklik.nlp.model.tfidf_transform) gives sklearn's numbers."""

from __future__ import annotations

import numpy as np
import pytest
from sklearn.feature_extraction.text import TfidfVectorizer

from otklik.nlp.corpus import load
from otklik.nlp.model import tfidf_transform, union_transform


@pytest.fixture(scope="module")
def texts():
    return [row.text for row in load()][:300] + ["", "!!!", "<p>Яма</p> на ул. Ленина 5", "ёлка Ёжик ЁЛКА"]


@pytest.mark.parametrize(
    "options",
    [
        {"analyzer": "char_wb", "ngram_range": (2, 5), "sublinear_tf": True},
        {"analyzer": "word", "ngram_range": (1, 2), "sublinear_tf": True},
        {"analyzer": "word", "sublinear_tf": False, "norm": None},
        {"analyzer": "char", "ngram_range": (1, 3), "use_idf": False},
    ],
)
def test_the_same_matrix_as_sklearn(texts, options):
    vectorizer = TfidfVectorizer(**options).fit(texts[:200])

    for text in texts:
        ours = tfidf_transform(vectorizer, [text])
        theirs = vectorizer.transform([text])
        assert ours.shape == theirs.shape
        assert np.allclose(ours.toarray(), theirs.toarray(), rtol=0, atol=1e-12), text
    batch = tfidf_transform(vectorizer, texts)
    assert np.allclose(batch.toarray(), vectorizer.transform(texts).toarray(), rtol=0, atol=1e-12)


def test_options_it_does_not_reproduce_go_to_sklearn(texts):
    vectorizer = TfidfVectorizer(binary=True, norm="l1").fit(texts[:100])

    assert np.allclose(tfidf_transform(vectorizer, texts[:5]).toarray(), vectorizer.transform(texts[:5]).toarray())


def test_the_default_models_features_are_unchanged(texts):
    from otklik.nlp.base import get_classifier

    union = get_classifier().model.groups.features()

    for text in texts[:50]:
        assert np.allclose(union_transform(union, [text]).toarray(), union.transform([text]).toarray(), atol=1e-12)
