"""Integrations: create, rename/pause, rotate and revoke their tokens; shared ingestion plumbing.

A token is 32 random bytes, URL-safe base64 (43 characters). It is returned once, by
create and rotate; only its sha256 is stored (``token_hash``) with a short hint.
"""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from django.conf import settings
from django.core.cache import cache
from django.db import connection, transaction
from django.db.models import Q
from django.utils import timezone

from accounts.models import Team, User
from alertguardian.api import Conflict
from alertguardian.realtime import publish_on_commit, team_group
from alerts.models import Integration, IntegrationKind
from audit.services import AuditActor, audit_record

TOKEN_BYTES = 32
TOKEN_HINT_LENGTH = 6

# Requests per minute and integration before PagerDuty answers 429 and Alertmanager 503.
# Overridable per integration with config["rate_limit_per_minute"] (0 = unlimited).
DEFAULT_RATE_LIMITS_PER_MINUTE: dict[str, int] = {
    IntegrationKind.PAGERDUTY: 1200,
    IntegrationKind.ALERTMANAGER: 600,
    IntegrationKind.GENERIC: 1200,
    IntegrationKind.FLIGHT_EVENTS: 0,
}
# How long an ingest waits for a row lock before giving up with 503 + Retry-After.
INGEST_LOCK_TIMEOUT_MS = 5000


def token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def _new_token() -> str:
    return secrets.token_urlsafe(TOKEN_BYTES)


def integration_actor(integration: Integration) -> AuditActor:
    """Who an integration's changes are attributed to in timelines and the audit log."""
    return AuditActor(label=f"integration:{integration.pk} {integration.name}"[:254])


def integration_public(integration: Integration) -> dict[str, Any]:
    return {
        "id": integration.pk,
        "team_id": integration.team_id,
        "kind": integration.kind,
        "name": integration.name,
        "is_active": integration.is_active,
        "token_hint": integration.token_hint,
    }


def _publish(integration: Integration) -> None:
    publish_on_commit(
        team_group(integration.team_id),
        {"type": "integration.changed", "version": 1, "integration": integration_public(integration)},
    )


@dataclass(frozen=True)
class IssuedToken:
    integration: Integration
    token: str


@transaction.atomic
def integration_create(
    *, team: Team, kind: str, name: str, by: User | None, config: dict[str, Any] | None = None
) -> IssuedToken:
    token = _new_token()
    integration = Integration.objects.create(
        team=team,
        kind=kind,
        name=name,
        token_hash=token_hash(token),
        token_hint=token[:TOKEN_HINT_LENGTH],
        created_by=by,
        config=config or {},
    )
    audit_record(actor=by, action="integration.created", target=integration, data={"kind": kind, "name": name})
    _publish(integration)
    return IssuedToken(integration=integration, token=token)


def _lock(integration_id: int) -> Integration:
    return Integration.objects.select_for_update().get(pk=integration_id)


def _refuse_if_revoked(integration: Integration) -> None:
    if integration.revoked_at is not None:
        raise Conflict(
            "This integration is revoked; create a new one.",
            code="integration_revoked",
            details={"revoked_at": integration.revoked_at.isoformat()},
        )


@transaction.atomic
def integration_update(
    *, integration_id: int, by: User | None, name: str | None = None, is_active: bool | None = None
) -> Integration:
    """Rename, pause (``is_active=False``: its token answers 401) or resume."""
    integration = _lock(integration_id)
    changes: dict[str, Any] = {}
    if name is not None and name != integration.name:
        changes["name"] = [integration.name, name]
        integration.name = name
    if is_active is not None and is_active != integration.is_active:
        if is_active:
            _refuse_if_revoked(integration)
        changes["is_active"] = [integration.is_active, is_active]
        integration.is_active = is_active
    if changes:
        integration.save(update_fields=["name", "is_active"])
        audit_record(actor=by, action="integration.updated", target=integration, data=changes)
        _publish(integration)
    return integration


@transaction.atomic
def integration_rotate(*, integration_id: int, by: User | None) -> IssuedToken:
    """Issue a new token; the old one stops working at once."""
    integration = _lock(integration_id)
    _refuse_if_revoked(integration)
    token = _new_token()
    integration.token_hash = token_hash(token)
    integration.token_hint = token[:TOKEN_HINT_LENGTH]
    integration.rotated_at = timezone.now()
    integration.save(update_fields=["token_hash", "token_hint", "rotated_at"])
    audit_record(
        actor=by, action="integration.rotated", target=integration, data={"token_hint": integration.token_hint}
    )
    _publish(integration)
    return IssuedToken(integration=integration, token=token)


@transaction.atomic
def integration_revoke(*, integration_id: int, by: User | None) -> Integration:
    """Disable for good: the token answers 401 and cannot be re-enabled (idempotent)."""
    integration = _lock(integration_id)
    if integration.revoked_at is None:
        integration.is_active = False
        integration.revoked_at = timezone.now()
        integration.save(update_fields=["is_active", "revoked_at"])
        audit_record(actor=by, action="integration.revoked", target=integration)
        _publish(integration)
    return integration


def integration_touch(*, integration: Integration) -> None:
    """Record that events arrived, at most once a minute, after the ingest commits.

    Telemetry, not state: it runs in its own statement after commit so that no ingest
    holds the integration's row lock while it waits for another lock (the audit chain's),
    which could deadlock two concurrent ingests.
    """
    now = timezone.now()
    if integration.last_event_at and (now - integration.last_event_at).total_seconds() < 60:
        return
    # The instance may be the process's memoized one (alerts.ingest_selectors): marking it is
    # harmless, it is what the row will say after commit.
    integration.last_event_at = now
    stale = now - timedelta(seconds=60)
    recent = Q(last_event_at__isnull=True) | Q(last_event_at__lt=stale)
    transaction.on_commit(lambda: Integration.objects.filter(recent, pk=integration.pk).update(last_event_at=now))


def ingest_lock_timeout() -> None:
    """Inside an ingest transaction on PostgreSQL: fail fast (→ 503) instead of queueing forever."""
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute(f"SET LOCAL lock_timeout = {int(INGEST_LOCK_TIMEOUT_MS)}")


def integration_rate_limited(*, integration: Integration) -> int | None:
    """Count one request in the integration's current minute; seconds to wait when over the limit."""
    limit = integration.config.get(
        "rate_limit_per_minute",
        getattr(settings, "INGEST_RATE_LIMITS_PER_MINUTE", DEFAULT_RATE_LIMITS_PER_MINUTE).get(integration.kind, 0),
    )
    if not limit:
        return None
    now = int(timezone.now().timestamp())
    window = now // 60
    key = f"ingest-rate:{integration.pk}:{window}"
    cache.add(key, 0, timeout=120)
    try:
        count = cache.incr(key)
    except ValueError:  # expired between add and incr
        cache.set(key, 1, timeout=120)
        count = 1
    if count > int(limit):
        return 60 - now % 60 or 1
    return None
