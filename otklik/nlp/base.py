"""The one interface of topic classifiers; `settings.OTKLIK_CLASSIFIER` names the implementation."""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import cache
from typing import Protocol, runtime_checkable

from django.conf import settings
from django.utils.module_loading import import_string


@dataclass(frozen=True)
class Classification:
    """What a classifier thinks a text is about.

    `topic_name` and `group_name` are rubricator names without the ★ mark; either may be None (a group without a
    clear topic, or no evidence at all). `confidence` is in [0, 1] and low when the text gives no evidence.
    `scores` are per-group scores (higher is better, scale up to the classifier); `why` says what was matched.
    """

    topic_name: str | None
    group_name: str | None
    confidence: float
    scores: dict[str, float] = field(default_factory=dict)
    why: tuple[str, ...] = ()


@runtime_checkable
class Classifier(Protocol):
    def classify(self, text: str) -> Classification: ...


@cache
def _load(dotted_path: str) -> Classifier:
    cls = import_string(dotted_path)
    classifier = cls()
    if not isinstance(classifier, Classifier):
        raise TypeError(f"{dotted_path} does not implement otklik.nlp.base.Classifier")
    return classifier


def get_classifier() -> Classifier:
    """The configured classifier, built once per process (building may load dictionaries and data)."""
    return _load(settings.OTKLIK_CLASSIFIER)


def reset_classifier() -> None:
    """Forget built classifiers (tests; after editing keyword data)."""
    _load.cache_clear()
