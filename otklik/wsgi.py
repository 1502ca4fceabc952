from __future__ import annotations

import logging
import os
import threading

from django.core.wsgi import get_wsgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "otklik.settings")
application = get_wsgi_application()

# Imported here, not in the warm-up thread: under `gunicorn --preload` the master forks while that thread may be in
# the middle of an import, and each worker would inherit a half-initialised module (every request then fails with
# "partially initialized module"). The warm-up itself (the dictionaries) may run in a thread safely.
from otklik.answers import checks, similar  # noqa: E402


def _warm_up() -> None:
    """Load what the answer editor needs (the spelling dictionary, the index of similar answers) in the background,
    so the first operator's live check and similar answers do not wait for it (~3 s + ~5 s per process)."""
    try:
        checks.warm_up()
        similar.warm_up()
    except Exception:  # a warm-up is an optimisation: the first request loads what failed here
        logging.getLogger(__name__).exception("warm-up of the web process failed")


if os.environ.get("OTKLIK_WARM_UP", "1") != "0":
    threading.Thread(target=_warm_up, name="otklik-warm-up", daemon=True).start()
