"""The whole analysis pipeline, one post at a time, as the worker runs it: posts/s on one core.

Run: `.venv/bin/python bench/nlp_pipeline_speed.py` (options: `--posts N` per run, default 200; `--runs R`,
default 3). The issue's floor is 50 posts/s.

1. Pin the process to one core (CPU 0, like `taskset -c 0`) and one BLAS/OpenMP thread, before numpy loads.
2. A private, throwaway directory (OTKLIK_VAR_DIR=var/bench-nlp-<pid>: a fresh SQLite database, deleted at the end);
   the model caches of var/nlp/ are copied in, so the models load as in a worker that has run before.
3. The reference data as `load_demo` sets it up (rubricator, departments, territories, routing rules, the demo
   gazetteer), without its stream of posts.
4. Warm-up: the models load and the first posts are analysed (not measured: a worker loads once per process);
   then `otklik.nlp.warmup.warm_up_worker()`, as a worker process runs it at start (the models are frozen out of
   the garbage collector's sight; `--no-freeze` leaves that out, to see what it gives).
5. Each run ingests N posts (texts of the team's corpus, in turn; the broker is in memory and nothing consumes it)
   and then times `otklik.nlp.pipeline.analyze_post(id)` on each, one after another. Prints the median of the runs,
   and where the time goes: the steps the pipeline calls (kind, topic, place, duplicates, routing) are wrapped with
   timers, in ms per post over all runs (the rest is the database work of the services).

`--skip STEP` (repeatable: kind, topic, duplicates, routing) replaces a step by a no-op, to see what the
others cost; the figure is then not the pipeline's and is labelled so.
"""

from __future__ import annotations

import os

for _var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS", "NUMEXPR_NUM_THREADS"):
    os.environ[_var] = "1"
if hasattr(os, "sched_setaffinity"):
    os.sched_setaffinity(0, {0})

import argparse  # noqa: E402
import datetime as dt  # noqa: E402
import platform  # noqa: E402
import shutil  # noqa: E402
import statistics  # noqa: E402
import sys  # noqa: E402
import time  # noqa: E402
from collections import Counter  # noqa: E402
from pathlib import Path  # noqa: E402

BASE_DIR = Path(__file__).resolve().parent.parent


def machine() -> str:
    cpu = platform.processor() or "unknown CPU"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    cores = sorted(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else "?"
    return f"nproc {os.cpu_count()}, pinned to CPU {cores}, {cpu}"


def setup_django(var_dir: Path) -> None:
    os.environ["OTKLIK_VAR_DIR"] = str(var_dir)
    os.environ["OTKLIK_DB"] = "sqlite"
    os.environ.pop("OTKLIK_DB_NAME", None)
    os.environ["OTKLIK_CELERY_EAGER"] = "0"
    os.environ["OTKLIK_LOG_LEVEL"] = "WARNING"
    os.environ["OTKLIK_BROKER_URL"] = "memory://"
    os.environ["DJANGO_SETTINGS_MODULE"] = "otklik.settings"
    sys.path.insert(0, str(BASE_DIR))
    import django

    django.setup()
    from django.core.management import call_command

    call_command("migrate", interactive=False, verbosity=0)


def load_reference_data() -> str:
    """load_demo's reference part (no posts); falls back to the rubricator and the gazetteer alone."""
    from django.core.management import call_command
    from django.db import transaction

    try:
        from otklik.org.management.commands import load_demo

        command = load_demo.Command()
        command.verbosity = 0
        org = load_demo._read(load_demo.ORG_PATH)
        call_command("load_reference", verbosity=0)
        with transaction.atomic():
            depts = command._departments(org["departments"])
            territories = command._territories(org["territories"])
            command._rules(org, depts, territories)
            command._users(org["users"], depts)
            command._gazetteer()
        return "rubricator, demo departments, territories, routing rules, gazetteer"
    except Exception as error:  # the demo's internals moved: measure with what loads
        print(f"# load_demo's reference part failed ({error!r}); rubricator and gazetteer only")
        call_command("load_reference", verbosity=0)
        from otklik.org.gazetteer import do_import_gazetteer

        do_import_gazetteer((BASE_DIR / "otklik" / "org" / "data" / "demo_gazetteer.csv").read_bytes())
        return "rubricator, gazetteer"


def texts() -> list[str]:
    from otklik.nlp.corpus import load

    return [row.text for row in load()] or ["Третий день нет горячей воды на улице Ленина 5, когда дадут?"]


def ingest(prefix: str, batch: list[str]) -> list[int]:
    from django.utils import timezone

    from otklik.intake.services import default_source, do_ingest_post

    ids = []
    for i, text in enumerate(batch):
        result = do_ingest_post(
            source=default_source("vk"),
            external_id=f"{prefix}-{i}",
            text=text,
            posted_at=timezone.now(),
            author_name="Иван Петров",
            author_id=f"id{i % 50}",
        )
        ids.append(result.post.pk)
    return ids


# The names otklik.nlp.pipeline calls each step by: step → attributes of the module.
STEPS = {
    "kind": ("analyze_kind",),
    "topic": ("_topic_for",),
    "place": ("find_place", "get_gazetteer", "extract_address", "find_territories"),
    "duplicates": ("do_merge_duplicate",),
    "routing": ("suggest_route",),
}


def instrument(skip: list[str]) -> dict[str, float]:
    """Wrap each step the pipeline calls with a timer (or a no-op for the skipped ones); → step → seconds."""
    import functools

    from otklik.nlp import pipeline

    spent: dict[str, float] = dict.fromkeys(STEPS, 0.0)
    from otklik.nlp.kind import KindResult

    noop_results = {"_topic_for": (None, None, 0.0), "analyze_kind": KindResult(kind="complaint", negative=0.5)}
    for step, names in STEPS.items():
        for name in names:
            original = getattr(pipeline, name, None)
            if original is None:
                continue

            def timed(*args, _original=original, _step=step, _name=name, **kwargs):  # type: ignore[no-untyped-def]
                start = time.perf_counter()
                try:
                    if _step in skip:
                        return noop_results.get(_name)
                    return _original(*args, **kwargs)
                finally:
                    spent[_step] += time.perf_counter() - start

            setattr(pipeline, name, functools.wraps(original)(timed))
    return spent


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--posts", type=int, default=200)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--no-freeze", action="store_true", help="leave out the worker's gc.freeze() after warm-up")
    parser.add_argument("--skip", action="append", choices=["duplicates", "kind", "routing", "topic"], default=[])
    args = parser.parse_args()

    var_dir = BASE_DIR / "var" / f"bench-nlp-{os.getpid()}"
    var_dir.mkdir(parents=True)
    if (BASE_DIR / "var" / "nlp").is_dir():
        shutil.copytree(BASE_DIR / "var" / "nlp", var_dir / "nlp", ignore=shutil.ignore_patterns("*.tmp"))
    try:
        setup_django(var_dir)
        import django

        from otklik.nlp.pipeline import analyze_post

        setup = load_reference_data()
        corpus = texts()
        spent = instrument(args.skip)
        start = time.perf_counter()
        outcomes: Counter[str] = Counter(analyze_post(pk) for pk in ingest("warmup", corpus[:20]))
        warmup = time.perf_counter() - start
        if not args.no_freeze:
            from otklik.nlp.warmup import warm_up_worker

            warm_up_worker()
        for step in spent:
            spent[step] = 0.0
        rates = []
        for run in range(args.runs):
            batch = [corpus[(run * args.posts + i) % len(corpus)] for i in range(args.posts)]
            ids = ingest(f"run{run}", batch)
            start = time.perf_counter()
            for pk in ids:
                outcomes[analyze_post(pk)] += 1
            rates.append(len(ids) / (time.perf_counter() - start))
        median = statistics.median(rates)
        today = dt.datetime.now(dt.UTC).date().isoformat()
        print(f"# {today}; {machine()}; Python {platform.python_version()}, Django {django.get_version()}")
        print(f"# setup: SQLite (fresh), {setup}; warm-up (model loading + 20 posts) {warmup:.1f} s")
        print(f"# outcomes: {dict(outcomes)}")
        total = args.posts * args.runs
        print("# ms per post by step: " + ", ".join(f"{step} {1000 * spent[step] / total:.1f}" for step in spent))
        what = "analyze_post, one post at a time, 1 core"
        if args.skip:
            what += f" (WITHOUT {', '.join(args.skip)})"
        if args.no_freeze:
            what += " (no gc.freeze)"
        print("| date | what | N × runs | median posts/s | ms/post | runs (posts/s) | machine |")
        print(
            f"| {today} | {what} | {args.posts} × {args.runs} | {median:.0f} | "
            f"{1000 / median:.1f} | {' '.join(f'{r:.0f}' for r in rates)} | {machine()} |"
        )
        if outcomes.get("failed"):
            print(f"# WARNING: {outcomes['failed']} posts failed analysis (see the log)")
    finally:
        shutil.rmtree(var_dir, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
