"""`python manage.py export_back --job ID | --channel im|pos [--since YYYY-MM-DD] [--format xlsx|csv] --out FILE`.

Writes the file to upload back to «Инцидент Менеджмент» or ПОС (otklik.intake.roundtrip): the imported rows in
the export's columns with our status and published answer. Prints what it wrote (rows, rows with an answer, the
columns appended). Exit code 0 when written; 2 when there is nothing to base the file on (no such import, an
unfinished import, nothing imported from the source) or the file cannot be written.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.utils.translation import gettext as _

from otklik.core.errors import DomainError
from otklik.intake.models import ImportJob
from otklik.intake.roundtrip import FORMATS, build_back_sheet

FAILED = 2


class Command(BaseCommand):
    help = (
        "Write the file to upload back to «Инцидент Менеджмент» or ПОС: our status and answer in the export's columns."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        which = parser.add_mutually_exclusive_group(required=True)
        which.add_argument("--job", type=int, help="Id of an import (its rows, its columns).")
        which.add_argument("--channel", choices=["im", "pos"], help="Every imported post of the source.")
        parser.add_argument("--since", help="YYYY-MM-DD: only posts imported or incidents changed since that day.")
        parser.add_argument("--format", default="xlsx", choices=list(FORMATS))
        parser.add_argument("--out", required=True, help="The file to write.")

    def handle(self, *args: Any, **options: Any) -> None:
        since: dt.date | None = None
        if options["since"]:
            try:
                since = dt.date.fromisoformat(options["since"])
            except ValueError:
                raise CommandError(_("Write the date as YYYY-MM-DD."), returncode=FAILED) from None
        target: ImportJob | str
        if options["job"] is not None:
            found = ImportJob.objects.filter(pk=options["job"]).first()
            if found is None:
                raise CommandError(_("No import with id %(id)s.") % {"id": options["job"]}, returncode=FAILED)
            target = found
        else:
            target = options["channel"]
        try:
            sheet = build_back_sheet(target, since=since)
        except DomainError as exc:
            raise CommandError(exc.message, returncode=FAILED) from None
        data = sheet.render(options["format"])
        out = Path(options["out"])
        try:
            out.write_bytes(data)
        except OSError as exc:
            raise CommandError(
                _("Cannot write %(path)s: %(error)s") % {"path": out, "error": exc}, returncode=FAILED
            ) from None
        template_name = sheet.template.file_name if sheet.template is not None else ""
        self.stdout.write(
            _("Wrote %(path)s: %(rows)s rows, %(answered)s with a published answer, columns of «%(file)s».")
            % {"path": out, "rows": len(sheet.rows), "answered": sheet.answered, "file": template_name}
        )
        if sheet.appended:
            self.stdout.write(_("Columns appended: %(columns)s.") % {"columns": ", ".join(sheet.appended)})
