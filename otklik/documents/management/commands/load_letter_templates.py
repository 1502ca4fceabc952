"""Create the default letter templates that are missing (idempotent: the head's edits are kept)."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand

from otklik.documents.letters import ensure_templates


class Command(BaseCommand):
    help = "Create the default letter templates that are missing."

    def handle(self, *args: Any, **options: Any) -> None:
        created = ensure_templates()
        self.stdout.write(f"letter templates: {created} created")
