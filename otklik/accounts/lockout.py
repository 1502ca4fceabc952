"""Login throttling: failed logins are counted in the database (every web process sees them) and too many of them
lock the login for a while.

Three counters over the last OTKLIK_LOGIN_FAILURE_WINDOW_MINUTES:
1. a username from one address — OTKLIK_LOGIN_MAX_FAILURES (5) locks that pair;
2. one address, any username — OTKLIK_LOGIN_MAX_FAILURES_PER_IP (30) locks the address (password spraying);
3. one username, any address — OTKLIK_LOGIN_MAX_FAILURES_PER_USER (30) locks the username (a distributed guess).
A lock lasts OTKLIK_LOGIN_LOCKOUT_MINUTES; 0 turns a counter off. A successful login forgets the pair's failures.
While a lock holds, the password is not even checked. An administrator sees and lifts locks in the Django admin.

The client's address is REMOTE_ADDR, or — only when OTKLIK_TRUSTED_PROXY_COUNT > 0 (Otklik behind that many
proxies of our own, each appending to X-Forwarded-For) — the address the outermost trusted proxy saw.
"""

from __future__ import annotations

import datetime as dt
from typing import TYPE_CHECKING

from django.conf import settings
from django.db.models import Q
from django.http import HttpRequest
from django.utils import timezone
from django.utils.translation import gettext as _

from otklik.accounts.models import Lockout, LoginFailure

if TYPE_CHECKING:
    from otklik.accounts.models import User

# Failed logins older than this are deleted (they no longer count for any window).
KEEP_FAILURES = dt.timedelta(days=1)
# The request attribute through which the authentication backend tells the login form about a lock.
REQUEST_ATTRIBUTE = "otklik_lockout"


def _setting(name: str, default: int) -> int:
    return int(getattr(settings, name, default))


def max_failures() -> int:
    return _setting("OTKLIK_LOGIN_MAX_FAILURES", 5)


def max_failures_per_ip() -> int:
    return _setting("OTKLIK_LOGIN_MAX_FAILURES_PER_IP", 30)


def max_failures_per_user() -> int:
    return _setting("OTKLIK_LOGIN_MAX_FAILURES_PER_USER", 30)


def window() -> dt.timedelta:
    return dt.timedelta(minutes=_setting("OTKLIK_LOGIN_FAILURE_WINDOW_MINUTES", 15))


def lock_time() -> dt.timedelta:
    return dt.timedelta(minutes=_setting("OTKLIK_LOGIN_LOCKOUT_MINUTES", 15))


def normalize_username(username: str | None) -> str:
    """Counted case-insensitively: «Admin» and «admin» are one target for a guesser."""
    return (username or "").strip().casefold()[:150]


def client_ip(request: HttpRequest) -> str:
    """The client's address: REMOTE_ADDR, or the entry of X-Forwarded-For written by the outermost trusted proxy.

    With N trusted proxies the last N entries of X-Forwarded-For were appended by them; the N-th from the end is
    the address the first of them saw. Anything to the left of it was sent by the client and is not trusted.
    """
    remote = (request.META.get("REMOTE_ADDR") or "").strip()
    proxies = _setting("OTKLIK_TRUSTED_PROXY_COUNT", 0)
    if proxies <= 0:
        return remote[:45]
    forwarded = [part.strip() for part in request.META.get("HTTP_X_FORWARDED_FOR", "").split(",") if part.strip()]
    if len(forwarded) < proxies:
        return remote[:45]
    return forwarded[-proxies][:45]


def active_lockout(username: str | None, ip: str) -> Lockout | None:
    """The lock (the one lasting longest) that refuses `username` from `ip` now, or None."""
    name = normalize_username(username)
    scope = Q(username="", ip=ip) if ip else Q(pk__in=[])
    if name:
        scope |= Q(username=name, ip=ip) | Q(username=name, ip="")
    return (
        Lockout.objects.filter(scope, cleared_at__isnull=True, locked_until__gt=timezone.now())
        .order_by("-locked_until")
        .first()
    )


def _lock(username: str, ip: str, failures: int, now: dt.datetime) -> Lockout:
    return Lockout.objects.create(
        username=username, ip=ip, failures=failures, created_at=now, locked_until=now + lock_time()
    )


def record_failure(username: str | None, ip: str) -> Lockout | None:
    """Count one failed login; lock what has failed too often. Returns the lock now refusing this pair, or None.

    1. Store the failure; forget failures older than KEEP_FAILURES.
    2. Count the pair, the address and the username over the window (failures before an unlock do not count:
       only those after the latest lock of the same scope was created).
    3. For each counter at its limit without an active lock, create one.
    """
    name = normalize_username(username)
    now = timezone.now()
    LoginFailure.objects.create(username=name, ip=ip, created_at=now)
    LoginFailure.objects.filter(created_at__lt=now - KEEP_FAILURES).delete()
    since = now - window()
    scopes: list[tuple[str, str, int]] = []
    if name and ip:
        scopes.append((name, ip, max_failures()))
    if ip:
        scopes.append(("", ip, max_failures_per_ip()))
    if name:
        scopes.append((name, "", max_failures_per_user()))
    for scope_name, scope_ip, limit in scopes:
        if limit <= 0:
            continue
        last_lock = (
            Lockout.objects.filter(username=scope_name, ip=scope_ip)
            .order_by("-created_at")
            .values_list("created_at", flat=True)
            .first()
        )
        failures = LoginFailure.objects.filter(created_at__gte=since)
        if last_lock is not None:
            failures = failures.filter(created_at__gt=last_lock)
        if scope_name:
            failures = failures.filter(username=scope_name)
        if scope_ip:
            failures = failures.filter(ip=scope_ip)
        count = failures.count()
        if (
            count >= limit
            and not Lockout.objects.filter(
                username=scope_name, ip=scope_ip, cleared_at__isnull=True, locked_until__gt=now
            ).exists()
        ):
            _lock(scope_name, scope_ip, count, now)
    return active_lockout(name, ip)


def record_success(username: str | None, ip: str) -> None:
    """A successful login forgets the failures of this username from this address."""
    LoginFailure.objects.filter(username=normalize_username(username), ip=ip).delete()


def do_clear_lockout(lockout: Lockout, *, actor: User | None) -> bool:
    """Lift a lock (an administrator's action) and forget the failures it counted. False when it was not active."""
    now = timezone.now()
    cleared = Lockout.objects.filter(pk=lockout.pk, cleared_at__isnull=True).update(cleared_at=now, cleared_by=actor)
    failures = LoginFailure.objects.all()
    if lockout.username:
        failures = failures.filter(username=lockout.username)
    if lockout.ip:
        failures = failures.filter(ip=lockout.ip)
    failures.delete()
    return cleared == 1 and lockout.locked_until > now


def lockout_message(lockout: Lockout) -> str:
    until = timezone.localtime(lockout.locked_until)
    return _(
        "Too many failed attempts to log in. Logging in is locked until %(time)s; try again later "
        "or ask an administrator to unlock it."
    ) % {"time": until.strftime("%H:%M")}
