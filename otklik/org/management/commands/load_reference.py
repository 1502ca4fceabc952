"""`python manage.py load_reference`: the IM rubricator (groups and topics) from the copy shipped with Otklik.

Idempotent: creates what is missing, updates what changed, deactivates topics no longer in the file.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandParser
from django.utils.translation import gettext as _

from otklik.nlp.keywords import RUBRICATOR_PATH
from otklik.org.models import Topic, TopicGroup
from otklik.org.services import load_rubricator


class Command(BaseCommand):
    help = "Load the IM rubricator (topic groups and topics); safe to run again."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--path", default=str(RUBRICATOR_PATH), help="Rubricator JSON: «topic» → «group».")

    def handle(self, *args: Any, path: str, verbosity: int = 1, **options: Any) -> None:
        report = load_rubricator(Path(path))
        if verbosity >= 2:
            for name in report.groups_created:
                self.stdout.write(_("  group created: %s") % name)
            for name in report.topics_created:
                self.stdout.write(_("  topic created: %s") % name)
        for name in report.topics_updated:
            self.stdout.write(_("  topic updated: %s") % name)
        for name in report.topics_deactivated:
            self.stdout.write(_("  topic deactivated (no longer in the rubricator): %s") % name)
        if verbosity >= 1:
            self.stdout.write(
                _(
                    "Rubricator: %(groups)s groups, %(topics)s active topics "
                    "(created: %(g_new)s groups, %(t_new)s topics; updated: %(t_upd)s; deactivated: %(t_off)s; "
                    "unchanged: %(same)s)."
                )
                % {
                    "groups": TopicGroup.objects.count(),
                    "topics": Topic.objects.filter(is_active=True).count(),
                    "g_new": len(report.groups_created),
                    "t_new": len(report.topics_created),
                    "t_upd": len(report.topics_updated),
                    "t_off": len(report.topics_deactivated),
                    "same": report.unchanged,
                }
            )
