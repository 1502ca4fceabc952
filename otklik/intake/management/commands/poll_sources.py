"""`python manage.py poll_sources [--once] [--source ID] [--sleep S]`: poll the networks in this process.

`--once`: poll every active, working source that is due (with `--source`: that source, due or not) once and print
a line per source (new posts, repeats, errors). Without it: the same in a loop, sleeping between rounds, until
Ctrl-C. Beat does the same in production (otklik.intake.tasks.poll_due_sources); this is for the demo and for
debugging a connector.
"""

from __future__ import annotations

import time
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.utils import timezone
from django.utils.translation import gettext as _

from otklik.intake.models import Source
from otklik.intake.polling import PollResult, due_sources, poll_source, pollable


class Command(BaseCommand):
    help = "Poll the sources (VK, Telegram) that are due: once (--once) or in a loop until Ctrl-C."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--once", action="store_true", help="One round, then exit.")
        parser.add_argument("--source", type=int, default=None, help="Only this source (polled now, due or not).")
        parser.add_argument("--sleep", type=float, default=5.0, help="Seconds between rounds in the loop.")

    def handle(self, *args: Any, **options: Any) -> None:
        source_id = options["source"]
        if source_id is not None and not Source.objects.filter(pk=source_id).exists():
            raise CommandError(_("There is no source %(id)s.") % {"id": source_id})
        if options["once"]:
            self.round(source_id, force=True)
            return
        self.stdout.write(_("Polling the sources; Ctrl-C to stop."))
        try:
            while True:
                self.round(source_id, force=False)
                time.sleep(max(options["sleep"], 0.5))
        except KeyboardInterrupt:
            self.stdout.write(_("Stopped."))

    def round(self, source_id: int | None, *, force: bool) -> list[PollResult]:
        now = timezone.now()
        if source_id is not None:
            if force:  # the admin asked for this one: due now (still claimed, so a running beat is not doubled)
                pollable().filter(pk=source_id, next_poll_at__gt=now).update(next_poll_at=now)
            ids = [source_id]
        else:
            ids = due_sources(now)
            if force and not ids:
                self.stdout.write(_("No source is due."))
        names = dict(Source.objects.filter(pk__in=ids).values_list("pk", "name"))
        results = []
        for pk in ids:
            result = poll_source(pk, now)
            results.append(result)
            if result.status == "skipped" and not force:
                continue
            self.stdout.write(self.describe(names.get(pk, str(pk)), result))
        return results

    def describe(self, name: str, result: PollResult) -> str:
        head = f"[{result.source_id}] {name}: "
        if result.status == "ok":
            text = _("new posts: %(created)s, already stored: %(duplicates)s, without text: %(empty)s") % {
                "created": result.created,
                "duplicates": result.duplicates,
                "empty": result.empty,
            }
            if result.callbacks:
                text += _(", survey answers: %(n)s") % {"n": result.callbacks}
            if result.rejected:
                text += _(", refused: %(n)s") % {"n": result.rejected}
            if result.more:
                text += _(" (more are waiting)")
            return head + text
        if result.status == "skipped":
            return head + _("not polled: off, broken, without a token or being polled now.")
        if result.status == "rate_limited":
            return head + _("the network asks to slow down: %(error)s") % {"error": result.error}
        if result.status == "broken":
            return head + _("BROKEN: %(error)s") % {"error": result.error}
        if result.status == "no_connector":
            return head + _("this network is not polled.")
        return head + _("error: %(error)s") % {"error": result.error}
