from __future__ import annotations

import gc
import logging
import os
import threading

from django.core.wsgi import get_wsgi_application
from django.utils import timezone

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "otklik.settings")
application = get_wsgi_application()

# Imported here, not in the warm-up thread: under `gunicorn --preload` the master forks while that thread may be in
# the middle of an import, and each worker would inherit a half-initialised module (every request then fails with
# "partially initialized module"). The warm-up itself (the dictionaries) may run in a thread safely.
# The production calendar's package imports every country's module (~0.5 s): here too, for the same reason.
import holidays.countries  # noqa: E402, F401

from otklik.answers import checks, similar  # noqa: E402
from otklik.core.worktime import get_calendar  # noqa: E402


def _warm_up() -> None:
    """Load what the answer editor needs (the spelling dictionary, the index of similar answers) in the background,
    so the first operator's live check and similar answers do not wait for it (~3 s + ~5 s per process), and the
    working calendar of this year (the first deadline or dashboard of a process computed it: ~0.35 s); then
    freeze the heap, as the workers do (otklik.nlp.warmup): the objects alive now — Django's, the dictionaries' —
    leave the collector's generations, so its full collections no longer walk them in the middle of a request
    (measured on the 1M database: the API list's slowest requests 150–170 ms → under 100, docs/BENCHMARKS.md)."""
    try:
        checks.warm_up()
        similar.warm_up()
        get_calendar().is_working_day(timezone.localdate())
    except Exception:  # a warm-up is an optimisation: the first request loads what failed here
        logging.getLogger(__name__).exception("warm-up of the web process failed")
    gc.collect()
    gc.freeze()


if os.environ.get("OTKLIK_WARM_UP", "1") != "0":
    threading.Thread(target=_warm_up, name="otklik-warm-up", daemon=True).start()
