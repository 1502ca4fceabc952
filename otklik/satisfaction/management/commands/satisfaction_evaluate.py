from __future__ import annotations

import json
from typing import Any

from django.core.management.base import BaseCommand


class Command(BaseCommand):
    help = "Train the reply classifier on the train split and print its held-out accuracy and macro-F1 as JSON."

    def add_arguments(self, parser: Any) -> None:
        parser.add_argument("--errors", action="store_true", help="Also list the misclassified held-out replies.")

    def handle(self, *args: Any, **options: Any) -> None:
        from otklik.satisfaction.classifier import evaluate

        result = evaluate()
        if not options["errors"]:
            result.pop("errors")
        self.stdout.write(json.dumps(result, ensure_ascii=False, indent=2))
