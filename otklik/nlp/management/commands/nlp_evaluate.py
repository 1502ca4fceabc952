"""`python manage.py nlp_evaluate --csv FILE --text-column COL --label-column COL [--model DIR] [--level group|topic]
[--task topic|negative]`.

Prints exactly one line on stdout, a JSON object {"n", "accuracy", "macro_f1", "weighted_f1", "per_second"}:
fractions in [0, 1], macro-F1 over the labels present in gold or predictions, per_second = rows / wall time of the
predictions (loading the model and a one-row warm-up are not counted). Anything else (logging, warnings, stray
prints) goes to stderr.

- `--model DIR`: the predictions of that trained model (the labels it was trained on).
- Without `--model`: the configured classifier (otklik.nlp.base.get_classifier()), its group or topic name per
  `--level` (default group); no evidence at all predicts the label "none".
- `--task negative`: gold labels are mapped to `negative` (negative, 1, true, yes, да, негатив…) or `other`.
  With `--model`, the model's labels are mapped the same way. Without it, PLACEHOLDER until the kind/negativity
  model exists: a lexicon rule (`negative_score`): complaint and negative words (lemmas), «!» and «?!» add up to a
  score in [0, 1]; a post is negative when the score >= 0.5.
"""

from __future__ import annotations

import contextlib
import json
import sys
import time
from collections.abc import Callable, Sequence
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.utils.translation import gettext as _

from otklik.nlp.base import get_classifier
from otklik.nlp.management import read_csv_or_fail
from otklik.nlp.model import TopicModel, scores
from otklik.nlp.text import lemmas

NEGATIVE = "negative"
OTHER = "other"
NO_LABEL = "none"
_NEGATIVE_GOLD = frozenset({"negative", "neg", "1", "true", "yes", "да", "негатив", "негативный", "негативное"})

# Lemmas of complaint and negative words; each hit adds 0.35, «!» adds 0.2 (once), «?!» or «!!» 0.3 (once).
_NEGATIVE_LEMMAS_TEXT = """
    ужас ужасный кошмар позор безобразие бардак беспредел издевательство издеваться надоесть достать невозможно
    невыносимый отвратительный безобразный возмутительный возмущать возмущение хамство хамить хам жалоба жаловаться
    сколько нет отключить сломать сломаться разбить грязь грязный вонь вонять мусор опасно опасный страшно
    проблема плохо плохой нельзя никто ничто ничего бесполезно бездействие игнорировать обман обмануть воровать
    вор разруха сгнить гнить течь протечь затопить авария яма дыра холодно холод зря неделя месяц год
    """
NEGATIVE_LEMMAS = frozenset(_NEGATIVE_LEMMAS_TEXT.split())


def negative_score(text: str) -> float:
    """Placeholder negativity in [0, 1] from a lexicon of complaint words and exclamation marks."""
    score = 0.35 * sum(1 for lem in set(lemmas(text, keep_stop=True)) if lem in NEGATIVE_LEMMAS)
    if "!" in text:
        score += 0.2
    if "?!" in text or "!!" in text:
        score += 0.3
    return min(1.0, score)


def as_negative(label: str) -> str:
    return NEGATIVE if label.strip().lower() in _NEGATIVE_GOLD else OTHER


class Command(BaseCommand):
    help = "Evaluate a topic or negativity model on a labelled CSV; prints one JSON line."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--csv", required=True)
        parser.add_argument("--text-column", required=True)
        parser.add_argument("--label-column", required=True)
        parser.add_argument("--model", default=None, help="a directory written by nlp_train")
        parser.add_argument("--level", choices=["group", "topic"], default="group")
        parser.add_argument("--task", choices=["topic", "negative"], default="topic")

    def handle(self, *args: Any, **options: Any) -> None:
        with contextlib.redirect_stdout(sys.stderr):
            result = self._evaluate(options)
        self.stdout.write(json.dumps(result))

    def _predictor(self, options: dict[str, Any]) -> Callable[[Sequence[str]], list[str]]:
        if options["model"]:
            try:
                model = TopicModel.load(options["model"])
            except Exception as exc:
                raise CommandError(
                    _("%(path)s does not hold a loadable model: %(error)s") % {"path": options["model"], "error": exc}
                ) from exc
            if options["task"] == "negative":
                return lambda texts: [as_negative(label) for label in model.predict(texts)]
            return model.predict
        if options["task"] == "negative":
            return lambda texts: [NEGATIVE if negative_score(text) >= 0.5 else OTHER for text in texts]
        classifier = get_classifier()
        topic_level = options["level"] == "topic"

        def predict(texts: Sequence[str]) -> list[str]:
            result = []
            for text in texts:
                found = classifier.classify(text)
                name = found.topic_name if topic_level else found.group_name
                result.append(name or NO_LABEL)
            return result

        return predict

    def _evaluate(self, options: dict[str, Any]) -> dict[str, Any]:
        texts, gold, _skipped = read_csv_or_fail(options["csv"], options["text_column"], options["label_column"])
        if options["task"] == "negative":
            gold = [as_negative(label) for label in gold]
        predict = self._predictor(options)
        predict(texts[:1])  # warm-up: lazy loads (pymorphy3's dictionaries) are not prediction time
        started = time.perf_counter()
        pred = predict(texts)
        elapsed = time.perf_counter() - started
        per_second = len(texts) / elapsed if elapsed > 0 else 0.0
        return {"n": len(texts), **scores(gold, pred), "per_second": round(per_second, 1)}
