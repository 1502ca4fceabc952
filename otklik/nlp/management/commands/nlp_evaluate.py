"""`python manage.py nlp_evaluate --csv FILE --text-column COL --label-column COL [--model DIR] [--level group|topic]
[--task topic|negative]`.

Prints exactly one line on stdout, a JSON object {"n", "accuracy", "macro_f1", "weighted_f1", "per_second"}:
fractions in [0, 1], macro-F1 over the labels present in gold or predictions, per_second = rows / wall time of the
predictions, in one batch (loading the model and a one-row warm-up are not counted). Anything else (logging,
warnings, stray prints) goes to stderr; a problem with the input is one message on stderr and exit status 1.

- `--model DIR`: the predictions of that trained model (nlp_train, the retrain): the labels it was trained on;
  with `--level topic` the topics when the model has a topic model.
- Without `--model`: the production model (the configured classifier: the active model, else the shipped
  default), its group or topic name per `--level` (default group); no evidence at all predicts the label "none".
- `--task negative`: gold labels are mapped to `negative` (negative, 1, true, yes, да, негатив…) or `other`.
  With `--model`, the model's labels are mapped the same way; without it, a post is negative when
  `otklik.nlp.kind.analyze_kind(text).negative >= 0.5`.
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

from otklik.nlp.base import Classification, get_classifier
from otklik.nlp.management import read_csv_or_fail
from otklik.nlp.model import scores

NEGATIVE = "negative"
OTHER = "other"
NO_LABEL = "none"
NEGATIVE_AT = 0.5
_NEGATIVE_GOLD = frozenset({"negative", "neg", "1", "true", "yes", "да", "негатив", "негативный", "негативное"})


def as_negative(label: str) -> str:
    return NEGATIVE if label.strip().lower() in _NEGATIVE_GOLD else OTHER


def _classify_all(classifier: Any, texts: Sequence[str]) -> list[Classification]:
    many = getattr(classifier, "classify_many", None)
    if callable(many):
        return list(many(texts))
    return [classifier.classify(text) for text in texts]


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
        topic_level = options["level"] == "topic"
        if options["model"]:
            from otklik.nlp.learned import LearnedModel

            try:
                model = LearnedModel.load(options["model"])
            except Exception as exc:
                raise CommandError(
                    _("%(path)s does not hold a loadable model: %(error)s") % {"path": options["model"], "error": exc}
                ) from exc
            use_topics = topic_level and model.topics is not None

            def predict_with_model(texts: Sequence[str]) -> list[str]:
                found = model.classify_many(texts)
                names = [(c.topic_name if use_topics else c.group_name) or NO_LABEL for c in found]
                return [as_negative(name) for name in names] if options["task"] == "negative" else names

            return predict_with_model
        if options["task"] == "negative":
            from otklik.nlp.kind import analyze_kind

            return lambda texts: [NEGATIVE if analyze_kind(t).negative >= NEGATIVE_AT else OTHER for t in texts]
        classifier = get_classifier()

        def predict(texts: Sequence[str]) -> list[str]:
            found = _classify_all(classifier, texts)
            return [(c.topic_name if topic_level else c.group_name) or NO_LABEL for c in found]

        return predict

    def _evaluate(self, options: dict[str, Any]) -> dict[str, Any]:
        texts, gold, _skipped = read_csv_or_fail(options["csv"], options["text_column"], options["label_column"])
        if not texts:
            raise CommandError(_("%(path)s has no row with both a text and a label") % {"path": options["csv"]})
        if options["task"] == "negative":
            gold = [as_negative(label) for label in gold]
        predict = self._predictor(options)
        predict(texts[:1])  # warm-up: lazy loads (dictionaries, the encoder) are not prediction time
        started = time.perf_counter()
        pred = predict(texts)
        elapsed = time.perf_counter() - started
        per_second = len(texts) / elapsed if elapsed > 0 else 0.0
        return {"n": len(texts), **scores(gold, pred), "per_second": round(per_second, 1)}
