"""`python manage.py import_posts FILE --source im [--map text=COL …] [--encoding …] [--delimiter …]`.

Imports an export of «Инцидент Менеджмент» or ПОС (CSV or XLSX) as the web import does, in this process: prints how
the file was read and mapped, the progress, a summary line (imported, updated, unchanged, rejected) and every
rejected row with its reason. Exit code 0 when the file was read (even with rejected rows); 2 when it could not be
read at all (no such file, not CSV/XLSX, undecodable, no header, a required column not found), with the reason on
stderr. COL is a header name or a 1-based column number.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.utils.translation import gettext as _

from otklik.core.errors import DomainError
from otklik.intake.choices import ImportOutcome, ImportStatus
from otklik.intake.importing import (
    TARGET_LABELS,
    TARGETS,
    column_label,
    find_column,
    guess_mapping,
    missing_required,
    read_table,
)
from otklik.intake.models import ImportJob
from otklik.intake.services import (
    IMPORT_CHANNELS,
    do_create_import_job,
    do_run_import_job,
    do_start_import_job,
)

UNREADABLE = 2


class Command(BaseCommand):
    help = (
        "Import posts from an export of «Инцидент Менеджмент» or ПОС (CSV or XLSX). Exit code 0 when the file was "
        "read (even with rejected rows), 2 when it could not be read."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("file", help="CSV or XLSX file.")
        parser.add_argument("--source", default="im", choices=[str(c) for c in IMPORT_CHANNELS], help="im or pos.")
        parser.add_argument(
            "--map",
            action="append",
            default=[],
            metavar="FIELD=COL",
            help=(
                f"Column of a field ({', '.join(TARGETS)}): a header name or a 1-based number; "
                "FIELD= (empty) leaves the field out. Without it the columns are recognised by their names."
            ),
        )
        parser.add_argument("--encoding", default="auto", choices=["auto", "utf-8", "cp1251"])
        parser.add_argument("--delimiter", default="auto", choices=["auto", ",", ";", "tab"])

    def fail(self, message: str) -> CommandError:
        return CommandError(message, returncode=UNREADABLE)

    def handle(self, *args: Any, **options: Any) -> None:
        self.verbosity = int(options.get("verbosity", 1))
        path = Path(options["file"])
        if not path.is_file():
            raise self.fail(_("No such file: %(path)s") % {"path": path})
        try:
            data = path.read_bytes()
        except OSError as exc:
            raise self.fail(_("Cannot read the file %(path)s: %(error)s") % {"path": path, "error": exc}) from None
        try:
            table = read_table(data, encoding=options["encoding"], delimiter=options["delimiter"])
        except DomainError as exc:
            raise self.fail(_("%(path)s: %(error)s") % {"path": path, "error": exc.message}) from None
        self.stdout.write(_("Reading %(path)s: %(how)s.") % {"path": path, "how": table.describe()})

        mapping = self.mapping(table.headers, options["map"], guessed=guess_mapping(table.headers))
        for target in TARGETS:
            if target in mapping:
                self.stdout.write(
                    "  %s ← %s" % (TARGET_LABELS[target], column_label(table.headers, mapping[target]))  # noqa: UP031
                )
        if "external_id" not in mapping:
            self.stdout.write(_("  no id column: each post's id is a hash of its text, date and author"))

        try:
            job = do_create_import_job(
                actor=None,
                data=data,
                file_name=path.name,
                channel=options["source"],
                encoding=table.encoding or "auto",
                delimiter=table.delimiter or "auto",
            )
            job = do_start_import_job(job, actor=None, mapping=mapping, channel=options["source"], enqueue=False)
        except DomainError as exc:
            raise self.fail(exc.message) from None

        job = do_run_import_job(job.pk, table=table, progress=self.progress)
        if job.status == ImportStatus.FAILED:
            raise self.fail(job.error)
        self.report(job)

    def mapping(self, headers: list[str], overrides: list[str], *, guessed: dict[str, int]) -> dict[str, int]:
        mapping = dict(guessed)
        for item in overrides:
            target, sep, ref = item.partition("=")
            target = target.strip()
            if not sep or target not in TARGETS:
                raise self.fail(
                    _("--map %(item)s: write FIELD=COLUMN, FIELD one of %(fields)s.")
                    % {"item": item, "fields": ", ".join(TARGETS)}
                )
            if not ref.strip():
                mapping.pop(target, None)
                continue
            index = find_column(headers, ref)
            if index is None:
                raise self.fail(
                    _("--map %(item)s: the file has no column «%(ref)s». Its columns: %(columns)s.")
                    % {"item": item, "ref": ref, "columns": _columns(headers)}
                )
            for other, used in list(mapping.items()):
                if used == index and other != target:
                    mapping.pop(other)  # an explicit choice wins over a guess
            mapping[target] = index
        for target in missing_required(mapping):
            raise self.fail(
                _("The file has no column for the %(field)s (columns: %(columns)s): give it with --map %(target)s=COL.")
                % {
                    "field": str(TARGET_LABELS[target]).lower(),
                    "columns": _columns(headers),
                    "target": target,
                }
            )
        return mapping

    def progress(self, job: ImportJob) -> None:
        if self.verbosity >= 2 or job.processed_rows % 500 == 0:
            self.stdout.write(
                _("  … %(done)s of %(total)s rows") % {"done": job.processed_rows, "total": job.total_rows}
            )

    def report(self, job: ImportJob) -> None:
        self.stdout.write(
            _("Imported: %(imported)s, updated: %(updated)s, skipped (unchanged): %(skipped)s, rejected: %(rejected)s.")
            % {"imported": job.imported, "updated": job.updated, "skipped": job.skipped, "rejected": job.rejected}
        )
        rows = job.rows.exclude(message="").order_by("row_number")
        rejected = [r for r in rows if r.outcome == ImportOutcome.REJECTED]
        warned = [r for r in rows if r.outcome != ImportOutcome.REJECTED]
        if rejected:
            self.stdout.write(_("Rejected rows:"))
            for row in rejected:
                self.stdout.write(_("  row %(row)s: %(reason)s") % {"row": row.row_number, "reason": row.message})
        if warned:
            self.stdout.write(_("Imported with warnings:"))
            for row in warned:
                self.stdout.write(_("  row %(row)s: %(reason)s") % {"row": row.row_number, "reason": row.message})
        self.stdout.write(_("Import №%(id)s: /import/%(id)s/") % {"id": job.pk})


def _columns(headers: list[str]) -> str:
    return "; ".join(column_label(headers, i) for i in range(len(headers)))
