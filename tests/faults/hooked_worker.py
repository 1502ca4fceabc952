"""`python tests/faults/hooked_worker.py <celery worker arguments>`: a Celery worker of Otklik with a fault hook.

With `FAULTS_HANG_MARKER=/path` in the environment the worker analyses the first post it gets completely — every
write of the analysis done, inside the still open transaction — then writes the post's id to the marker file and
hangs there, before the commit: the moment a test kills it (SIGKILL) is "in the middle of the task", with the work
done but not committed. Without the variable it is an ordinary worker.
"""

from __future__ import annotations

import os
import sys
import time
from pathlib import Path
from typing import Any


def install_hang_hook(marker: Path) -> None:
    from otklik.nlp import pipeline

    original = pipeline._analyze

    def analyse_then_hang(post: Any, result: Any) -> str:
        outcome = original(post, result)
        marker.write_text(f"{post.pk} {outcome}")
        time.sleep(3600)  # killed here
        return outcome

    pipeline._analyze = analyse_then_hang


def main() -> None:
    sys.path.insert(0, str(Path(__file__).resolve().parents[2]))
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "otklik.settings")
    import django

    django.setup()
    marker = os.environ.get("FAULTS_HANG_MARKER")
    if marker:
        install_hang_hook(Path(marker))
    from celery.bin.celery import main as celery_main

    sys.argv = ["celery", "-A", "otklik", "worker", *sys.argv[1:]]
    celery_main()


if __name__ == "__main__":
    main()
