"""`python manage.py nlp_train --csv FILE --text-column COL --label-column COL --out DIR`.

Trains the production recipe (otklik.nlp.learned.train: the TF-IDF + sentence-embedding ensemble of
otklik.nlp.model) on whatever labels the column holds; DIR is a LearnedModel whose "groups" are those labels (no
topic model). Evaluates first on a held-out 20% (stratified when every label has ≥ 2 rows and the slice can hold
them all; labels with one row stay in training), stores those metrics in DIR/meta.json, then refits on all rows
and saves to DIR. Prints a short summary. Does not activate the model (see nlp_activate).
"""

from __future__ import annotations

import time
from collections import Counter
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.utils.translation import gettext as _
from sklearn.model_selection import train_test_split

from otklik.nlp.learned import LabelledText, evaluate, train
from otklik.nlp.management import read_csv_or_fail
from otklik.nlp.model import RANDOM_STATE

HELD_OUT = 0.2
MIN_ROWS_FOR_EVALUATION = 10


def held_out_metrics(texts: list[str], labels: list[str]) -> dict[str, Any] | None:
    """Metrics of the recipe trained on 80% and scored on 20%; None when there are too few rows."""
    if len(texts) < MIN_ROWS_FOR_EVALUATION:
        return None
    counts = Counter(labels)
    single = [i for i, label in enumerate(labels) if counts[label] < 2]
    rest = [i for i, label in enumerate(labels) if counts[label] >= 2]
    n_test = max(1, round(len(rest) * HELD_OUT))
    stratified = n_test >= len({labels[i] for i in rest}) and len(rest) - n_test >= len({labels[i] for i in rest})
    train_idx, test_idx = train_test_split(
        rest,
        test_size=n_test,
        random_state=RANDOM_STATE,
        stratify=[labels[i] for i in rest] if stratified else None,
    )
    train_idx = list(train_idx) + single
    if len({labels[i] for i in train_idx}) < 2:
        return None
    model = train([LabelledText(texts[i], labels[i]) for i in train_idx])
    metrics = evaluate(model, [LabelledText(texts[i], labels[i]) for i in test_idx])
    return {**metrics, "n_test": len(test_idx), "n_train": len(train_idx), "stratified": stratified}


class Command(BaseCommand):
    help = "Train the topic model on a labelled CSV and save it to a directory (does not activate it)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--csv", required=True, help="CSV file (UTF-8 or cp1251, `,` `;` or tab)")
        parser.add_argument("--text-column", required=True)
        parser.add_argument("--label-column", required=True)
        parser.add_argument("--out", required=True, help="directory to write the model to")

    def handle(self, *args: Any, **options: Any) -> None:
        texts, labels, skipped = read_csv_or_fail(options["csv"], options["text_column"], options["label_column"])
        if len(set(labels)) < 2:
            raise CommandError(
                _("Training needs at least two different labels; the file has %(n)d") % {"n": len(set(labels))}
            )
        started = time.perf_counter()
        metrics = held_out_metrics(texts, labels)
        model = train([LabelledText(text, label) for text, label in zip(texts, labels, strict=True)])
        if metrics is not None:
            model.meta["metrics"] = metrics
        model.meta.update(skipped_rows=skipped, source="nlp_train", csv=str(options["csv"]))
        try:
            path = model.save(options["out"])
        except OSError as exc:
            raise CommandError(
                _("Cannot write the model to %(path)s: %(error)s") % {"path": options["out"], "error": exc}
            ) from exc
        self.stdout.write(
            _("Trained on %(n)d rows (%(skipped)d skipped), %(labels)d labels in %(seconds).0f s; saved to %(path)s")
            % {
                "n": len(texts),
                "skipped": skipped,
                "labels": len(model.labels),
                "seconds": time.perf_counter() - started,
                "path": path,
            }
        )
        if metrics is None:
            self.stdout.write(_("Too few rows for a held-out evaluation."))
        else:
            self.stdout.write(
                _("Held-out %(n)d rows: accuracy %(acc).3f, macro-F1 %(macro).3f, weighted F1 %(weighted).3f")
                % {
                    "n": metrics["n_test"],
                    "acc": metrics["accuracy"],
                    "macro": metrics["macro_f1"],
                    "weighted": metrics["weighted_f1"],
                }
            )
