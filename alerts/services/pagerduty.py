"""PagerDuty Events API v2 (``POST /v2/enqueue``), as integrations.md describes it.

- trigger: an open alert of the same integration with the same ``dedup_key`` absorbs the
  trigger (no second alert; ``alert_raise`` folds it, severity may rise); after a resolve
  the same key opens a new alert; no ``dedup_key`` → a new alert and a generated key.
- acknowledge / resolve of an unknown, already-acknowledged or resolved key: dropped, still 202.
- Keys are stored scoped per integration (``pd:<integration_id>:<key>``) so two
  integrations can never collide; responses echo the client's own key.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from django.db import transaction

from alerts.models import AlertSource, AlertStatus, Integration, Severity
from alerts.services.integrations import ingest_lock_timeout, integration_actor, integration_touch
from alerts.services.lifecycle import _open_alert_for_update, alert_acknowledge, alert_raise, alert_resolve

PD_SEVERITIES: dict[str, str] = {
    "info": Severity.LOW,
    "warning": Severity.MEDIUM,
    "error": Severity.HIGH,
    "critical": Severity.CRITICAL,
}
EVENT_ACTIONS = ("trigger", "acknowledge", "resolve")
MAX_DEDUP_KEY = 255
MAX_SUMMARY = 1024


class PagerDutyEventInvalid(Exception):
    def __init__(self, errors: list[str]) -> None:
        super().__init__("; ".join(errors))
        self.errors = errors


@dataclass(frozen=True)
class PagerDutyEvent:
    routing_key: str
    event_action: str
    dedup_key: str | None
    payload: dict[str, Any]
    timestamp: datetime | None
    extras: dict[str, Any]  # images, links, client, client_url


def parse_pd_timestamp(value: str) -> datetime:
    """ISO 8601; offsets with or without a colon (``+0000``); a missing offset means UTC."""
    parsed = datetime.fromisoformat(value.strip())
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


def _blank(value: Any) -> bool:
    return not isinstance(value, str) or not value.strip()


def parse_pagerduty_event(data: Any) -> PagerDutyEvent:
    """Validate an Events v2 body; ``PagerDutyEventInvalid`` lists every problem, in PagerDuty's words."""
    if not isinstance(data, dict):
        raise PagerDutyEventInvalid(["Event object must be a JSON object"])
    errors: list[str] = []
    if _blank(data.get("routing_key")):
        errors.append("'routing_key' is missing or blank")
    action = data.get("event_action")
    if action not in EVENT_ACTIONS:
        errors.append("'event_action' is missing or invalid (must be one of 'trigger', 'acknowledge' or 'resolve')")
    dedup = data.get("dedup_key")
    if dedup is not None and not isinstance(dedup, str):
        errors.append("'dedup_key' must be a string")
    elif isinstance(dedup, str) and len(dedup) > MAX_DEDUP_KEY:
        errors.append(f"Length of 'dedup_key' is too long (maximum is {MAX_DEDUP_KEY} characters)")
    elif action in ("acknowledge", "resolve") and _blank(dedup):
        errors.append("'dedup_key' is missing or blank (required to acknowledge or resolve)")
    payload = data.get("payload")
    timestamp = None
    if action == "trigger":
        if not isinstance(payload, dict):
            errors.append("'payload' is missing or not an object")
            payload = {}
        summary = payload.get("summary")
        if not isinstance(summary, str) or not summary.strip():
            errors.append("'payload.summary' is missing or blank")
        elif len(summary) > MAX_SUMMARY:
            errors.append(f"Length of 'payload.summary' is too long (maximum is {MAX_SUMMARY} characters)")
        if _blank(payload.get("source")):
            errors.append("'payload.source' is missing or blank")
        if payload.get("severity") not in PD_SEVERITIES:
            errors.append(
                "'payload.severity' is missing or invalid (must be one of 'critical', 'error', 'warning' or 'info')"
            )
        for name in ("component", "group", "class"):
            if payload.get(name) is not None and not isinstance(payload[name], str):
                errors.append(f"'payload.{name}' must be a string")
        raw_timestamp = payload.get("timestamp")
        if raw_timestamp is not None:
            try:
                timestamp = parse_pd_timestamp(raw_timestamp) if isinstance(raw_timestamp, str) else None
            except ValueError:
                timestamp = None
            if timestamp is None:
                errors.append("'payload.timestamp' is not a valid ISO 8601 timestamp")
    for name in ("images", "links"):
        if data.get(name) is not None and not isinstance(data[name], list):
            errors.append(f"'{name}' must be an array")
    if errors:
        raise PagerDutyEventInvalid(errors)
    return PagerDutyEvent(
        routing_key=data["routing_key"].strip(),
        event_action=str(action),
        dedup_key=dedup.strip() if isinstance(dedup, str) and dedup.strip() else None,
        payload=payload if isinstance(payload, dict) else {},
        timestamp=timestamp,
        extras={name: data[name] for name in ("images", "links", "client", "client_url") if name in data},
    )


def scoped_dedup_key(integration: Integration, client_key: str) -> str:
    return f"pd:{integration.pk}:{client_key}"


@dataclass(frozen=True)
class PagerDutyOutcome:
    dedup_key: str  # the client's key (generated for a trigger without one)
    result: str  # created | folded | acknowledged | resolved | dropped
    alert_id: int | None


@transaction.atomic
def pagerduty_event_process(*, integration: Integration, event: PagerDutyEvent) -> PagerDutyOutcome:
    ingest_lock_timeout()
    integration_touch(integration=integration)
    client_key = event.dedup_key or uuid.uuid4().hex
    key = scoped_dedup_key(integration, client_key)
    actor = integration_actor(integration)
    if event.event_action == "trigger":
        payload = event.payload
        raised = alert_raise(
            team=integration.team,
            type=(payload.get("class") or "pagerduty_event")[:64],
            severity=PD_SEVERITIES[payload["severity"]],
            title=payload["summary"][:300],
            message=payload["summary"],
            source=AlertSource.PAGERDUTY,
            resource=payload["source"][:200],
            dedup_key=key,
            integration=integration,
            metadata={
                "dedup_key": client_key,
                "pagerduty": {
                    **{name: payload[name] for name in ("source", "component", "group", "class") if name in payload},
                    "severity": payload["severity"],
                    "timestamp": event.timestamp.isoformat() if event.timestamp else None,
                    "custom_details": payload.get("custom_details"),
                    **event.extras,
                },
            },
            actor=actor,
            occurred_at=event.timestamp,
        )
        return PagerDutyOutcome(client_key, "created" if raised.created else "folded", raised.alert.pk)
    alert = _open_alert_for_update(team_id=integration.team_id, dedup_key=key)
    if alert is None:
        return PagerDutyOutcome(client_key, "dropped", None)
    if event.event_action == "acknowledge":
        if alert.status != AlertStatus.TRIGGERED:
            return PagerDutyOutcome(client_key, "dropped", alert.pk)
        alert_acknowledge(alert_id=alert.pk, by=actor, note="Acknowledged through the PagerDuty Events API")
        return PagerDutyOutcome(client_key, "acknowledged", alert.pk)
    alert_resolve(alert_id=alert.pk, by=actor, note="Resolved through the PagerDuty Events API")
    return PagerDutyOutcome(client_key, "resolved", alert.pk)
