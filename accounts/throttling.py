"""Failed-login lockout (per account and per client address) and the registration rate limit.

Counters live in Django's cache (locmem when embedded, Redis in production, so every
web process shares them). A window starts at the first failure and lasts
``LOGIN_FAILURE_WINDOW_SECONDS``; once a key has reached its limit, sign-in is refused
with 429 until the window ends, even with the right password. The window's start is
stored next to the counter and compared with the clock, so expiry does not depend on
the cache's own TTL (tests move the clock with time-machine).
"""

from __future__ import annotations

import hashlib
import ipaddress
import math
from dataclasses import dataclass
from typing import Any

from django.conf import settings
from django.core.cache import cache
from django.utils import timezone
from rest_framework.settings import api_settings
from rest_framework.throttling import SimpleRateThrottle

ACCOUNT_SCOPE = "account"
IP_SCOPE = "ip"


def client_ip(request: Any) -> str | None:
    """The caller's address. ``X-Forwarded-For`` is trusted only for the configured number of
    proxies (``REST_FRAMEWORK["NUM_PROXIES"]``); otherwise anyone could pick a fresh address
    per request and dodge the per-IP limit."""
    remote = request.META.get("REMOTE_ADDR")
    candidate = remote
    num_proxies = api_settings.NUM_PROXIES
    forwarded = request.headers.get("x-forwarded-for")
    if num_proxies and forwarded:
        addresses = [part.strip() for part in forwarded.split(",") if part.strip()]
        if addresses:
            candidate = addresses[-min(num_proxies, len(addresses))]
    for value in (candidate, remote):
        try:
            return str(ipaddress.ip_address(value)) if value else None
        except ValueError:
            continue
    return None


@dataclass(frozen=True)
class LoginLock:
    scope: str
    retry_after: int


def _limits() -> dict[str, int]:
    return {
        ACCOUNT_SCOPE: int(settings.LOGIN_FAILURE_LIMIT_PER_ACCOUNT),
        IP_SCOPE: int(settings.LOGIN_FAILURE_LIMIT_PER_IP),
    }


def _window_seconds() -> int:
    return int(settings.LOGIN_FAILURE_WINDOW_SECONDS)


def _base_key(scope: str, identity: str) -> str:
    digest = hashlib.sha256(identity.encode()).hexdigest()[:32]
    return f"login-failures:{scope}:{digest}"


def _identities(*, email: str, ip: str | None) -> dict[str, str]:
    return {ACCOUNT_SCOPE: email.strip().lower(), IP_SCOPE: ip or "unknown"}


def _current(scope: str, identity: str, now: float) -> tuple[int, float | None]:
    """(failures in the open window, window start) — (0, None) when no window is open."""
    base = _base_key(scope, identity)
    since = cache.get(f"{base}:since")
    if since is None or now - float(since) >= _window_seconds():
        return 0, None
    return int(cache.get(f"{base}:count") or 0), float(since)


def login_lock(*, email: str, ip: str | None) -> LoginLock | None:
    """The lock that refuses this sign-in, if any (account first, then address)."""
    now = timezone.now().timestamp()
    limits = _limits()
    for scope, identity in _identities(email=email, ip=ip).items():
        count, since = _current(scope, identity, now)
        if since is not None and count >= limits[scope]:
            return LoginLock(scope=scope, retry_after=max(1, math.ceil(since + _window_seconds() - now)))
    return None


def login_failure_record(*, email: str, ip: str | None) -> None:
    now = timezone.now().timestamp()
    # Keep keys a little longer than the window; expiry is decided by the stored start anyway.
    ttl = _window_seconds() + 60
    for scope, identity in _identities(email=email, ip=ip).items():
        base = _base_key(scope, identity)
        _, since = _current(scope, identity, now)
        if since is None:
            cache.set_many({f"{base}:since": now, f"{base}:count": 1}, timeout=ttl)
            continue
        try:
            cache.incr(f"{base}:count")
        except ValueError:  # evicted between the read and the increment
            cache.set(f"{base}:count", 1, timeout=ttl)


def login_failures_clear(*, email: str) -> None:
    """A successful sign-in forgets the account's failures (the address keeps its count)."""
    base = _base_key(ACCOUNT_SCOPE, email.strip().lower())
    cache.delete_many([f"{base}:since", f"{base}:count"])


def lock_notice_first(*, lock: LoginLock, email: str, ip: str | None) -> bool:
    """True once per lock window: refused attempts are audited once, not once per request,
    so a client hammering a locked account cannot flood the audit log."""
    identity = _identities(email=email, ip=ip)[lock.scope]
    return bool(cache.add(f"{_base_key(lock.scope, identity)}:noticed", 1, timeout=lock.retry_after))


class RegistrationRateThrottle(SimpleRateThrottle):
    """Sign-ups per client address (``REGISTRATION_RATE``, default 20/hour)."""

    scope = "registration"

    def get_rate(self) -> str:
        return str(getattr(settings, "REGISTRATION_RATE", "20/hour"))

    def get_cache_key(self, request: Any, view: Any) -> str:
        return self.cache_format % {"scope": self.scope, "ident": client_ip(request) or "unknown"}
