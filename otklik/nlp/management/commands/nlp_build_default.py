"""`python manage.py nlp_build_default [--force]`: build the default topic model from the shipped corpus now.

The default (otklik.nlp.learned.default_model) is cached in VAR_DIR/nlp/default/<key>, keyed by the corpus, the
rubricator data and the recipe; it is otherwise built by the first post a worker classifies. `make setup` runs this
so that the first post is not slow. Does nothing when the cached model is current (unless --force).
"""

from __future__ import annotations

import time
from typing import Any

from django.core.management.base import BaseCommand, CommandParser
from django.utils.translation import gettext as _

from otklik.nlp.learned import build_default


class Command(BaseCommand):
    help = "Build the default topic model from the shipped corpus (cached; rebuilt when the corpus changes)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--force", action="store_true", help="rebuild even when the cached model is current")

    def handle(self, *args: Any, **options: Any) -> None:
        started = time.perf_counter()
        path, built = build_default(force=options["force"])
        if built:
            self.stdout.write(
                _("Built the default topic model in %(seconds).1f s: %(path)s")
                % {"seconds": time.perf_counter() - started, "path": path}
            )
        else:
            self.stdout.write(_("The default topic model is current: %(path)s") % {"path": path})
