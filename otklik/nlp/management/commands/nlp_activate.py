"""`python manage.py nlp_activate DIR`: make a trained model (from nlp_train or the retrain) the production model.

Checks that DIR loads, then copies it into `VAR_DIR/nlp/active/` (otklik.nlp.learned.activate): the active model is
a self-contained copy, so DIR may be deleted or retrained afterwards; activating another DIR replaces the copy.
Running workers pick it up within otklik.nlp.learned.RECHECK_SECONDS, without a restart.
"""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.utils.translation import gettext as _

from otklik.nlp.learned import LearnedModel, activate


class Command(BaseCommand):
    help = "Make a trained model directory the production topic model."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("directory", help="a directory written by nlp_train")

    def handle(self, *args: Any, **options: Any) -> None:
        directory = options["directory"]
        try:
            model = LearnedModel.load(directory)
        except Exception as exc:
            raise CommandError(
                _("%(path)s does not hold a loadable model: %(error)s") % {"path": directory, "error": exc}
            ) from exc
        try:
            target = activate(directory)
        except OSError as exc:
            raise CommandError(_("Cannot install the model: %(error)s") % {"error": exc}) from exc
        self.stdout.write(
            _("Model %(version)s (%(labels)d labels) is now active: %(path)s")
            % {"version": model.meta.get("version", "?"), "labels": len(model.labels), "path": target}
        )
