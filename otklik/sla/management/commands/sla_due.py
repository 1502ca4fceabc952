"""`sla_due --start ISO8601 --hours N`: the due moment of N working hours from START on the default calendar."""

from __future__ import annotations

import datetime as dt
import math
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from otklik.core.worktime import default_calendar


class Command(BaseCommand):
    help = (
        "Print the moment N working hours after START (ISO 8601; without an offset it is the city's time) on the "
        "default production calendar, as ISO 8601 with the offset, to the second."
    )
    requires_system_checks: list[str] = []
    requires_migrations_checks = False

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--start", required=True, help="e.g. 2026-12-30T16:30 or 2026-12-30T16:30:00+05:00")
        parser.add_argument("--hours", required=True, help="working hours, may be fractional: 8, 2.5")

    def handle(self, *args: Any, **options: Any) -> None:
        try:
            start = dt.datetime.fromisoformat(options["start"].strip().replace("Z", "+00:00").replace(" ", "T"))
        except ValueError as exc:
            raise CommandError(f"--start is not an ISO 8601 moment: {options['start']!r}") from exc
        try:
            hours = float(options["hours"].replace(",", "."))
        except ValueError as exc:
            raise CommandError(f"--hours is not a number: {options['hours']!r}") from exc
        if not math.isfinite(hours) or hours < 0:
            raise CommandError(f"--hours must be a non-negative number: {options['hours']!r}")
        calendar = default_calendar()
        due = calendar.add(start, hours)
        # To the second: round half up (a fractional hour may leave microseconds).
        due = (due + dt.timedelta(microseconds=500_000)).replace(microsecond=0)
        self.stdout.write(due.isoformat(timespec="seconds"))
