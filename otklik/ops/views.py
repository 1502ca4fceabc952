"""`/healthz`: is Otklik able to work? For load balancers and monitoring; no login, no secrets."""

from __future__ import annotations

import time
from typing import Any

from django.conf import settings
from django.db import DatabaseError, connection
from django.http import HttpRequest, JsonResponse
from django.utils import timezone
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_safe
from kombu import Connection

from otklik.ops.models import Heartbeat, Process

#: Seconds the broker may take to answer; /healthz as a whole stays under two seconds when the broker is down.
BROKER_TIMEOUT = 1
#: The checks that decide the status; `beat` is reported but informational (without beat the worker heartbeat
#: also goes stale, since beat sends it).
REQUIRED = ("database", "broker", "worker")


def _elapsed_ms(started: float) -> int:
    return round((time.monotonic() - started) * 1000)


def check_database() -> dict[str, Any]:
    started = time.monotonic()
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
            cursor.fetchone()
    except DatabaseError as exc:
        # The class name only: a driver's message may name hosts and users.
        return {"ok": False, "vendor": connection.vendor, "error": type(exc).__name__}
    return {"ok": True, "vendor": connection.vendor, "latency_ms": _elapsed_ms(started)}


def check_broker() -> dict[str, Any]:
    url = settings.CELERY_BROKER_URL
    transport = url.partition("://")[0]  # the scheme alone: never the host, user or password
    started = time.monotonic()
    try:
        with Connection(url, connect_timeout=BROKER_TIMEOUT) as conn:
            conn.ensure_connection(max_retries=1, interval_start=0, interval_step=0, timeout=BROKER_TIMEOUT)
    except Exception as exc:  # any failure to connect, whatever the transport raises, means "not usable"
        return {"ok": False, "transport": transport, "error": type(exc).__name__}
    return {"ok": True, "transport": transport, "latency_ms": _elapsed_ms(started)}


def check_heartbeat(beat: Heartbeat | None, now: Any, *, error: str = "") -> dict[str, Any]:
    if beat is None:
        return {"ok": False, "last_seen": None, "age_seconds": None, **({"error": error} if error else {})}
    return {
        "ok": not beat.is_stale(now),
        "last_seen": beat.last_seen.isoformat(),
        "age_seconds": round(beat.age_seconds(now)),
    }


@never_cache
@require_safe
def healthz(request: HttpRequest) -> JsonResponse:
    """200 `{"status": "ok", …}` when the database, the broker and a recent worker heartbeat are fine; else 503.

    The worker heartbeat is recent when younger than HEARTBEAT_MAX_AGE_SECONDS.
    """
    checks: dict[str, dict[str, Any]] = {"database": check_database(), "broker": check_broker()}
    now = timezone.now()
    beats: dict[str, Heartbeat] = {}
    error = ""
    if checks["database"]["ok"]:
        try:
            beats = {hb.name: hb for hb in Heartbeat.objects.all()}
        except DatabaseError as exc:
            error = type(exc).__name__
    else:
        error = "database"
    checks["worker"] = check_heartbeat(beats.get(Process.WORKER), now, error=error)
    checks["beat"] = check_heartbeat(beats.get(Process.BEAT), now, error=error)
    healthy = all(checks[name]["ok"] for name in REQUIRED)
    return JsonResponse({"status": "ok" if healthy else "fail", "checks": checks}, status=200 if healthy else 503)
