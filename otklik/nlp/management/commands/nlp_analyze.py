"""`python manage.py nlp_analyze --csv FILE --text-column COL --out FILE.jsonl`.

Runs steps 1–4 of the pipeline (normalisation, kind, topic and group, place) on every row of the CSV without
touching the database, and writes one JSON object per row, in input order:
`{"kind", "negative", "topic", "group", "confidence", "address": {"street", "street_type", "house", "raw"}}`.
Topic and group are the configured classifier's (otklik.nlp.base.get_classifier()), null when it has none (the
keyword classifier is used without the keywords edited in the admin, which live in the database); the
address is the first street address the text mentions (otklik.nlp.places.find_place: the address rules, plus the
streets of a gazetteer CSV for names written without a type word, «омская 12» → улица Омская), empty strings when
none. The gazetteer is the shipped demo one (`otklik/org/data/demo_gazetteer.csv`) unless `--gazetteer FILE`
names another or `--gazetteer none` turns it off; landmarks («у школы №5») are not reported as an address, since
the text does not write one. Rows with an empty text get an empty text's analysis, so the output has one line per
data row. A summary goes to stderr.
"""

from __future__ import annotations

import csv
import io
import json
import time
from collections import Counter
from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.utils.translation import gettext as _

from otklik.nlp.base import Classifier, get_classifier
from otklik.nlp.gazetteer import Gazetteer
from otklik.nlp.keywords import KeywordClassifier
from otklik.nlp.kind import analyze_kind
from otklik.nlp.normalize import normalize
from otklik.nlp.places import find_place

DEMO_GAZETTEER = Path(__file__).resolve().parents[3] / "org" / "data" / "demo_gazetteer.csv"


def read_texts(path: str | Path, text_column: str) -> list[str]:
    """The texts of one column of a CSV (UTF-8 or cp1251; `,`, `;` or tab, sniffed from the header), every row."""
    try:
        raw = Path(path).read_bytes()
    except OSError as exc:
        raise CommandError(_("Cannot read the file %(path)s: %(error)s") % {"path": path, "error": exc}) from exc
    try:
        content = raw.decode("utf-8-sig")
    except UnicodeDecodeError:
        try:
            content = raw.decode("cp1251")
        except UnicodeDecodeError as exc:
            raise CommandError(_("The file %(path)s is neither UTF-8 nor cp1251") % {"path": path}) from exc
    try:
        delimiter = csv.Sniffer().sniff(content.split("\n", 1)[0], delimiters=",;\t").delimiter
    except csv.Error:
        delimiter = ","
    reader = csv.DictReader(io.StringIO(content), delimiter=delimiter)
    columns = [name.strip() for name in (reader.fieldnames or [])]
    reader.fieldnames = columns
    if text_column not in columns:
        raise CommandError(
            _("Column “%(column)s” is not in the file; its columns are: %(columns)s")
            % {"column": text_column, "columns": ", ".join(columns) or "—"}
        )
    return [(row.get(text_column) or "").strip() for row in reader]


def offline_classifier() -> Classifier:
    """The configured classifier, made not to read the database (the keyword classifier's admin keywords)."""
    classifier = get_classifier()
    if isinstance(classifier, KeywordClassifier) and classifier.use_db_keywords:
        return KeywordClassifier(use_db_keywords=False)
    return classifier


def load_gazetteer(option: str | None) -> Gazetteer | None:
    """The gazetteer named by `--gazetteer` (a CSV file; `none`: no gazetteer; default: the shipped demo one)."""
    if option and option.lower() == "none":
        return None
    path = Path(option) if option else DEMO_GAZETTEER
    try:
        return Gazetteer.from_csv(path)
    except (OSError, UnicodeDecodeError) as exc:
        raise CommandError(_("Cannot read the gazetteer %(path)s: %(error)s") % {"path": path, "error": exc}) from exc


def analyze_text(text: str, classifier: Classifier, gazetteer: Gazetteer | None = None) -> dict[str, Any]:
    """One output object for one text (the keys in the documented order)."""
    kind = analyze_kind(text)
    classification = classifier.classify(text)
    has_topic = classification.topic_name is not None or classification.group_name is not None
    address = find_place(normalize(text), gazetteer).address
    return {
        "kind": kind.kind,
        "negative": kind.negative,
        "topic": classification.topic_name,
        "group": classification.group_name,
        "confidence": round(float(classification.confidence), 4) if has_topic else 0.0,
        "address": {
            "street": address.street if address else "",
            "street_type": address.street_type if address else "",
            "house": address.house if address else "",
            "raw": address.raw if address else "",
        },
    }


class Command(BaseCommand):
    help = "Analyse the texts of a CSV (kind, negativity, topic, address) into a JSON Lines file, without the database."
    requires_system_checks: list[str] = []

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--csv", required=True, help="The CSV file.")
        parser.add_argument("--text-column", required=True, help="The column with the post text.")
        parser.add_argument("--out", required=True, help="The JSON Lines file to write.")
        parser.add_argument(
            "--gazetteer",
            default=None,
            help="A gazetteer CSV for streets written without a type word (default: the shipped demo one; "
            "'none': rules only).",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        texts = read_texts(options["csv"], options["text_column"])
        classifier = offline_classifier()
        gazetteer = load_gazetteer(options.get("gazetteer"))
        out = Path(options["out"])
        started = time.perf_counter()
        kinds: Counter[str] = Counter()
        with_topic = with_address = 0
        try:
            out.parent.mkdir(parents=True, exist_ok=True)
            with out.open("w", encoding="utf-8") as fh:
                for text in texts:
                    row = analyze_text(text, classifier, gazetteer)
                    kinds[row["kind"]] += 1
                    with_topic += row["group"] is not None or row["topic"] is not None
                    with_address += bool(row["address"]["raw"])
                    fh.write(json.dumps(row, ensure_ascii=False) + "\n")
        except OSError as exc:
            raise CommandError(_("Cannot write the file %(path)s: %(error)s") % {"path": out, "error": exc}) from exc
        elapsed = time.perf_counter() - started
        summary = {
            "rows": len(texts),
            "kinds": dict(sorted(kinds.items())),
            "with_topic": with_topic,
            "with_address": with_address,
            "seconds": round(elapsed, 3),
            "out": str(out),
        }
        self.stderr.write(json.dumps(summary, ensure_ascii=False))
