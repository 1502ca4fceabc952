"""A worker loads every model of the analysis when it starts, then hides them from the garbage collector.

`warm_up_worker()` runs once per worker process, in a background thread so that the worker reports itself ready at
once (Celery's `worker_process_init` in a prefork child, `worker_ready` for the solo and thread pools;
otklik.nlp.apps connects them; a task that comes meanwhile loads what it needs under the models' own locks). The
topic model with its sentence encoder, the kind model and the morphology are loaded, then `gc.collect();
gc.freeze()` moves the objects alive at that moment — the models' hundreds of MB — to the collector's permanent
generation. Python's cyclic collector otherwise walks them again in each full collection, which the ORM work of
every post triggers: freezing makes the analysis of a post ~5–10 % faster (docs/BENCHMARKS.md). Nothing is loaded
twice: the models are cached per process anyway.
"""

from __future__ import annotations

import gc
import logging
import threading
import time

log = logging.getLogger(__name__)

_done = False


def warm_up_worker() -> bool:
    """Load the models and freeze the heap; False when it already ran in this process."""
    global _done
    if _done:
        return False
    _done = True
    start = time.perf_counter()
    try:
        from otklik.nlp.base import get_classifier
        from otklik.nlp.kind import analyze_kind

        sample = "Третий день нет горячей воды в доме на улице Ленина, 5. Когда дадут?"
        get_classifier().classify(sample)
        analyze_kind(sample)
    except Exception:  # a worker without its models still works: they load at the first post, as before
        log.exception("the worker could not load the analysis models at start")
    gc.collect()
    gc.freeze()
    log.info("analysis models loaded in %.1f s; %d objects frozen", time.perf_counter() - start, gc.get_freeze_count())
    return True


def warm_up_in_background() -> threading.Thread:
    thread = threading.Thread(target=warm_up_worker, name="otklik-nlp-warm-up", daemon=True)
    thread.start()
    return thread
