"""`python manage.py report --from YYYY-MM-DD --to YYYY-MM-DD --format docx|xlsx --out FILE`
[--group ID|NAME] [--department ID|NAME] [--source CHANNEL] (the stats API's filters)."""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.utils.translation import gettext as _

from otklik.stats.params import MAX_DAYS, ParamError, parse_filters
from otklik.stats.report import FORMATS, build_report, render


def _date(value: str | None, option: str) -> dt.date:
    if not value:
        raise CommandError(_("%(option)s: the date is missing — give it as YYYY-MM-DD.") % {"option": option})
    try:
        return dt.date.fromisoformat(value)
    except ValueError:
        raise CommandError(
            _("%(option)s: «%(value)s» is not a date — give it as YYYY-MM-DD, e.g. 2026-12-01.")
            % {"option": option, "value": value}
        ) from None


class Command(BaseCommand):
    help = "Write the information note on the work with messages for a period (DOCX or XLSX)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--from", dest="date_from", help="the first day, YYYY-MM-DD (city time)")
        parser.add_argument("--to", dest="date_to", help="the last day, YYYY-MM-DD (included)")
        parser.add_argument("--format", dest="fmt", default="docx", help="docx or xlsx")
        parser.add_argument("--out", dest="out", help="the file to write")
        parser.add_argument("--group", dest="group", default="", help="a topic group: its id or exact name")
        parser.add_argument(
            "--department", dest="department", default="", help="a department: its id, name or short name"
        )
        parser.add_argument("--source", dest="source", default="", help="a channel code (vk, telegram, …)")

    def handle(self, *args: Any, **options: Any) -> None:
        start = _date(options["date_from"], "--from")
        end = _date(options["date_to"], "--to")
        if start > end:
            raise CommandError(_("The end of the period is before its start — swap the dates."))
        if (end - start).days > MAX_DAYS:
            raise CommandError(_("Choose at most three years."))
        fmt = (options["fmt"] or "").lower()
        if fmt not in FORMATS:
            raise CommandError(_("--format: choose docx or xlsx."))
        if not options["out"]:
            raise CommandError(_("--out: name the file to write."))
        out = Path(options["out"])
        if not out.parent.exists():
            raise CommandError(_("--out: the folder %(folder)s does not exist.") % {"folder": out.parent})
        try:
            filters = parse_filters(options["group"], options["department"], options["source"])
        except ParamError as error:
            raise CommandError(
                "; ".join(f"--{name}: {message}" for name, messages in error.errors.items() for message in messages)
            ) from None
        report = build_report(start, end, filters)
        out.write_bytes(render(report, fmt))
        self.stdout.write(
            _("Written %(path)s: %(incidents)s incidents, %(proposals)s proposals.")
            % {"path": out, "incidents": report.stats.incidents, "proposals": len(report.proposals)}
        )
