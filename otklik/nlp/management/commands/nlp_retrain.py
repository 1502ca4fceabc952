"""`python manage.py nlp_retrain [--force]`: retrain the topic model now on the corpus plus operators' labels.

The candidate is promoted only if it is not worse than the working model on the same held-out posts
(otklik.nlp.training). Prints the outcome (promoted, rejected, skipped, busy) and both sets of metrics.
"""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandParser
from django.utils.translation import gettext as _

from otklik.nlp.models import TrainedBy
from otklik.nlp.training import do_retrain


class Command(BaseCommand):
    help = "Retrain the topic model on the corpus and operators' labels; promote it only if it is not worse."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--force", action="store_true", help="train even if the data and the recipe have not changed"
        )

    def handle(self, *args: Any, **options: Any) -> None:
        result = do_retrain(trained_by=TrainedBy.MANUAL, force=options["force"])
        self.stdout.write(f"{result.outcome} {result.version}".strip())
        if result.note:
            self.stdout.write(result.note)
        metrics = result.metrics
        if metrics:
            for name in ("candidate", "current"):
                m = metrics[name]
                self.stdout.write(
                    _("%(name)s: n=%(n)d accuracy=%(accuracy).4f macro_f1=%(macro_f1).4f weighted_f1=%(weighted_f1).4f")
                    % {"name": name, **m}
                )
            self.stdout.write(
                _(
                    "data: corpus %(corpus_train)d train / %(corpus_heldout)d held-out, "
                    "labels %(labels_train)d train / %(labels_heldout)d held-out"
                )
                % metrics
            )
