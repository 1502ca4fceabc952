"""Memory of a worker with every NLP model loaded: RSS (VmRSS, VmHWM from /proc/self/status) and load seconds.

Run: `.venv/bin/python bench/nlp_memory.py` (a fresh process each time; the issue's ceiling is 800 MB RSS).

1. The same throwaway setup as bench/nlp_pipeline_speed.py (fresh SQLite with the reference data and the demo
   gazetteer in var/bench-nlp-<pid>, the model caches of var/nlp/ copied in, deleted at the end); RSS is printed
   after Django and the database are up, before any model.
2. Every model the worker uses is loaded and used once, each timed: the topic classifier (`get_classifier()` and a
   `classify` call), kind and negativity (`kind_model()` and `analyze_kind`), the address rules
   (`extract_address`), the gazetteer and places (`get_gazetteer()`, `find_place`), and every other module under
   otklik/nlp imported; then one post through `analyze_post`, the worker's own entry point.
3. Prints VmRSS and VmHWM (peak) in MB, and the load seconds per model.
"""

from __future__ import annotations

import os

for _var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS", "NUMEXPR_NUM_THREADS"):
    os.environ[_var] = "1"

import datetime as dt  # noqa: E402
import importlib  # noqa: E402
import pkgutil  # noqa: E402
import shutil  # noqa: E402
import sys  # noqa: E402
import time  # noqa: E402
from collections.abc import Callable  # noqa: E402
from pathlib import Path  # noqa: E402
from typing import Any  # noqa: E402

sys.path.insert(0, str(Path(__file__).resolve().parent))

from nlp_pipeline_speed import BASE_DIR, ingest, load_reference_data, machine, setup_django  # noqa: E402

TEXT = "Третий день нет горячей воды на улице Ленина 5, когда уже дадут?! Управляющая компания не отвечает"


def status() -> dict[str, float]:
    """VmRSS and VmHWM in MB."""
    values = {}
    for line in Path("/proc/self/status").read_text().splitlines():
        key, _, rest = line.partition(":")
        if key in ("VmRSS", "VmHWM"):
            values[key] = int(rest.split()[0]) / 1024
    return values


def timed(name: str, step: Callable[[], Any], rows: list[tuple[str, float, float, str]]) -> None:
    start = time.perf_counter()
    try:
        result = step()
        note = repr(result)[:80]
    except Exception as error:  # a step another helper is changing: report it, measure the rest
        note = f"FAILED: {error!r}"[:120]
    rows.append((name, time.perf_counter() - start, status()["VmRSS"], note))


def main() -> int:
    var_dir = BASE_DIR / "var" / f"bench-nlp-{os.getpid()}"
    var_dir.mkdir(parents=True)
    if (BASE_DIR / "var" / "nlp").is_dir():
        shutil.copytree(BASE_DIR / "var" / "nlp", var_dir / "nlp", ignore=shutil.ignore_patterns("*.tmp"))
    try:
        setup_django(var_dir)
        load_reference_data()
        base = status()
        rows: list[tuple[str, float, float, str]] = []

        def import_all() -> int:
            import otklik.nlp

            names = [m.name for m in pkgutil.walk_packages(otklik.nlp.__path__, "otklik.nlp.")]
            for name in names:
                if ".management." in name or ".migrations" in name or name.startswith("otklik.nlp.tests"):
                    continue
                importlib.import_module(name)
            return len(names)

        def classifier() -> Any:
            from otklik.nlp.base import get_classifier

            return get_classifier().classify(TEXT)

        def kind() -> Any:
            from otklik.nlp.kind import analyze_kind, kind_model

            kind_model()
            return analyze_kind(TEXT)

        def address() -> Any:
            from otklik.nlp.address import extract_address

            return extract_address(TEXT)

        def places() -> Any:
            from otklik.nlp.gazetteer import get_gazetteer
            from otklik.nlp.places import find_place

            get_gazetteer()
            return find_place(TEXT)

        def pipeline() -> Any:
            from otklik.nlp.pipeline import analyze_post

            [post_id] = ingest("memory", [TEXT])
            return analyze_post(post_id)

        start = time.perf_counter()
        timed("import every otklik.nlp module", import_all, rows)
        timed("topic classifier: get_classifier() + classify", classifier, rows)
        timed("kind: kind_model() + analyze_kind", kind, rows)
        timed("address: extract_address", address, rows)
        timed("gazetteer + places: get_gazetteer() + find_place", places, rows)
        timed("one post through analyze_post", pipeline, rows)
        total = time.perf_counter() - start
        end = status()

        today = dt.datetime.now(dt.UTC).date().isoformat()
        print(f"# {today}; {machine()}; Python {sys.version.split()[0]}")
        print(f"# before the models (Django, SQLite, reference data): VmRSS {base['VmRSS']:.0f} MB")
        print("| step | seconds | VmRSS after (MB) | result |")
        for name, seconds, rss, note in rows:
            print(f"| {name} | {seconds:.2f} | {rss:.0f} | {note} |")
        print(
            f"| {today} | all models loaded | load {total:.1f} s | VmRSS {end['VmRSS']:.0f} MB | "
            f"VmHWM {end['VmHWM']:.0f} MB | ceiling 800 MB |"
        )
    finally:
        shutil.rmtree(var_dir, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
