"""Migrate the database and load the reference (and demo) data; run by `make setup`, `make run` and `make test`.

The data commands are idempotent, so this runs every time. A command that does not exist (yet) is skipped with a
note. With a SQLite broker its tables are created here, before the web, the worker and beat race to create them.
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path
from typing import Any

BASE_DIR = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(BASE_DIR))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "otklik.settings")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--no-demo", action="store_true", help="load the reference data only")
    args = parser.parse_args()

    import django

    django.setup()
    from django.conf import settings
    from django.core.management import call_command, get_commands

    database = settings.DATABASES["default"]
    print(f"==> Database: {str(database['ENGINE']).rsplit('.', 1)[-1]} {database['NAME']}", flush=True)
    call_command("migrate", interactive=False, verbosity=1)

    commands = get_commands()
    reference = ["load_reference", "load_answer_templates", "load_kb", "load_letter_templates"]
    wanted = reference if args.no_demo else [*reference, "load_demo"]
    for name in wanted:
        if name not in commands:
            print(f"==> {name}: not available in this version, skipped", flush=True)
            continue
        print(f"==> {name}", flush=True)
        call_command(name)

    if not args.no_demo:  # the demo's VK source, polling the emulator that `make run` starts on port 8765
        from otklik.intake.emulators.vk import ensure_demo_source

        _source, created = ensure_demo_source()
        print(f"==> demo VK source (emulator): {'created' if created else 'present'}", flush=True)

    call_command("nlp_build_default")  # the learned topic classifier's default model, before the first post

    from otklik.celery import app

    if settings.CELERY_BROKER_URL.startswith("sqla+"):
        # Declaring the default queue creates the broker's tables (and the queue row) once, here.
        with app.connection_for_write() as connection:
            channel: Any = connection.default_channel
            channel.queue_declare(queue=app.conf.task_default_queue, durable=True)
    if str(settings.CELERY_RESULT_BACKEND).startswith("db+"):
        backend: Any = app.backend
        backend.ResultSession().close()  # creates the result tables
    return 0


if __name__ == "__main__":
    sys.exit(main())
