"""Management commands of the NLP app: nlp_train, nlp_evaluate, nlp_activate (see each module's docstring)."""

from __future__ import annotations

import csv
from pathlib import Path

from django.core.management.base import CommandError
from django.utils.translation import gettext as _

from otklik.nlp.model import ColumnNotFound, read_labelled_csv


def read_csv_or_fail(path: str | Path, text_column: str, label_column: str) -> tuple[list[str], list[str], int]:
    """`read_labelled_csv` with every reading problem turned into a CommandError a person can act on."""
    try:
        return read_labelled_csv(path, text_column, label_column)
    except ColumnNotFound as exc:
        raise CommandError(
            _("Column “%(column)s” is not in the file; its columns are: %(columns)s")
            % {"column": exc.column, "columns": ", ".join(exc.columns) or "—"}
        ) from exc
    except OSError as exc:
        raise CommandError(_("Cannot read the file %(path)s: %(error)s") % {"path": path, "error": exc}) from exc
    except UnicodeDecodeError as exc:
        raise CommandError(_("The file %(path)s is neither UTF-8 nor cp1251") % {"path": path}) from exc
    except csv.Error as exc:
        raise CommandError(
            _("The file %(path)s is not a readable CSV: %(error)s") % {"path": path, "error": exc}
        ) from exc
