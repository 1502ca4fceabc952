"""`python manage.py import_gazetteer --csv FILE`: streets, buildings and landmarks of the city from CSV."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.utils.translation import gettext as _

from otklik.org.gazetteer import do_import_gazetteer


class Command(BaseCommand):
    help = (
        "Import the city's gazetteer from a CSV (UTF-8 or cp1251; ';', ',' or tab). Columns: kind (street, "
        "building, landmark; inferred when empty), street_type (улица, проспект, переулок, шоссе, бульвар, "
        "площадь, проезд, микрорайон, набережная, тупик, other or an abbreviation; default улица), street (as on "
        "the sign; a microdistrict: its number), house («7а», «15/2», «97 корп. 2»), name (a landmark: «школа "
        "№5»), aliases (separated by '|'), district (a territory's name), company (a managing company's name or "
        "short name). Rows are upserted by street+type, street+house, landmark name; bad rows are reported with "
        "their line number and skipped. Safe to run again."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--csv", required=True, help="The gazetteer CSV file.")

    def handle(self, *args: Any, verbosity: int = 1, **options: Any) -> None:
        path = Path(options["csv"])
        try:
            raw = path.read_bytes()
        except OSError as exc:
            raise CommandError(_("Cannot read the file %(path)s: %(error)s") % {"path": path, "error": exc}) from exc
        report = do_import_gazetteer(raw)
        for error in report.errors:
            self.stderr.write(_("line %(line)s: %(reason)s") % {"line": error.line, "reason": error.reason})
        if verbosity >= 1:
            self.stdout.write(
                _(
                    "Gazetteer: streets %(s_new)s created, %(s_upd)s updated; buildings %(b_new)s created, "
                    "%(b_upd)s updated; landmarks %(l_new)s created, %(l_upd)s updated; %(same)s unchanged; "
                    "%(bad)s rows rejected."
                )
                % {
                    "s_new": report.created["street"],
                    "s_upd": report.updated["street"],
                    "b_new": report.created["building"],
                    "b_upd": report.updated["building"],
                    "l_new": report.created["landmark"],
                    "l_upd": report.updated["landmark"],
                    "same": report.unchanged,
                    "bad": len(report.errors),
                }
            )
