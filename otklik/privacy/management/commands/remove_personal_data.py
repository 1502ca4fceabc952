"""`manage.py remove_personal_data [--dry-run]`: the retention job by hand (the beat runs it every night)."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandParser
from django.utils.translation import gettext as _

from otklik.privacy.services import cutoff, do_remove_expired_personal_data, expired_posts, retention_days, summary


class Command(BaseCommand):
    help = "Remove the authors' personal data from posts older than the retention period."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--dry-run", action="store_true", help="Count what would be removed; change nothing.")

    def handle(self, *args: Any, **options: Any) -> None:
        limit = cutoff()
        if limit is None:
            self.stdout.write(_("Retention is off (OTKLIK_PERSONAL_DATA_RETENTION_DAYS ≤ 0): nothing removed."))
            return
        self.stdout.write(
            _("Retention period: %(days)s days; posts before %(date)s.")
            % {"days": retention_days(), "date": f"{limit:%Y-%m-%d %H:%M}"}
        )
        if options["dry_run"]:
            self.stdout.write(_("Posts to remove personal data from: %(n)s.") % {"n": expired_posts().count()})
            return
        result = do_remove_expired_personal_data()
        self.stdout.write(_("Removed: %(summary)s.") % {"summary": summary(result)})
