"""Prometheus Alertmanager webhook (version 4), as integrations.md describes it.

Each POST is the whole group, not a change: state is applied per listed alert from its own
``status``. An alert is deduplicated on (integration, fingerprint) while it is open
(``am:<integration_id>:<fingerprint>``); the same fingerprint after a resolve opens a new
episode. Alerts that are absent from a POST are never resolved — not when
``truncatedAlerts > 0`` (they were merely left out), and not otherwise either (a group's
``status: resolved`` only speaks for the alerts it lists). ``endsAt`` of a firing alert
(``0001-01-01T00:00:00Z``) is never used for state.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from django.db import transaction

from alertguardian.api import InvalidInput
from alerts.models import SEVERITY_RANK, Alert, AlertSource, AlertStatus, Integration, Severity
from alerts.services.integrations import ingest_lock_timeout, integration_actor, integration_touch
from alerts.services.lifecycle import alert_raise, alert_resolve

SEVERITY_LABELS: dict[str, str] = {
    "critical": Severity.CRITICAL,
    "error": Severity.HIGH,
    "high": Severity.HIGH,
    "warning": Severity.MEDIUM,
    "medium": Severity.MEDIUM,
    "info": Severity.LOW,
    "low": Severity.LOW,
}
DEFAULT_SEVERITY = Severity.HIGH  # no or unknown severity label: PagerDuty's default "error"
TITLE_EXCLUDED_LABELS = ("alertname", "severity")


@dataclass(frozen=True)
class AmAlert:
    status: str
    labels: dict[str, str]
    annotations: dict[str, str]
    fingerprint: str
    starts_at: datetime | None
    ends_at: datetime | None
    generator_url: str

    @property
    def severity(self) -> str:
        return SEVERITY_LABELS.get(self.labels.get("severity", "").lower(), DEFAULT_SEVERITY)

    @property
    def title(self) -> str:
        name = self.labels.get("alertname") or "Alertmanager alert"
        rest = ", ".join(f"{k}={v}" for k, v in sorted(self.labels.items()) if k not in TITLE_EXCLUDED_LABELS)
        return (f"{name} ({rest})" if rest else name)[:300]

    @property
    def message(self) -> str:
        parts = [self.annotations.get("summary", ""), self.annotations.get("description", "")]
        return "\n\n".join(part for part in parts if part)


@dataclass(frozen=True)
class AmGroup:
    alerts: list[AmAlert]
    truncated_alerts: int
    meta: dict[str, Any]


def _parse_time(value: Any) -> datetime | None:
    """RFC 3339; Go's zero time (year 1, what a firing alert carries as endsAt) is None."""
    if not isinstance(value, str) or not value:
        return None
    parsed = datetime.fromisoformat(value)
    if parsed.tzinfo is None:
        raise ValueError("no offset")
    return None if parsed.year <= 1 else parsed


def _string_map(value: Any) -> dict[str, str] | None:
    if value is None:
        return {}
    if not isinstance(value, dict) or not all(isinstance(v, str) for v in value.values()):
        return None
    return {str(k): v for k, v in value.items()}


def parse_alertmanager_payload(data: Any) -> AmGroup:
    if not isinstance(data, dict):
        raise InvalidInput("The webhook body must be a JSON object.", code="invalid_webhook")
    raw_alerts = data.get("alerts")
    if not isinstance(raw_alerts, list):
        raise InvalidInput("'alerts' must be a list.", details={"alerts": ["Must be a list."]}, code="invalid_webhook")
    truncated = data.get("truncatedAlerts", 0)
    if isinstance(truncated, bool) or not isinstance(truncated, int) or truncated < 0:
        raise InvalidInput(
            "'truncatedAlerts' must be a non-negative integer.",
            details={"truncatedAlerts": ["Must be a non-negative integer."]},
            code="invalid_webhook",
        )
    alerts: list[AmAlert] = []
    bad: list[dict[str, Any]] = []
    for index, item in enumerate(raw_alerts):
        errors: dict[str, list[str]] = {}
        if not isinstance(item, dict):
            bad.append({"index": index, "errors": {"non_field_errors": ["Must be an object."]}})
            continue
        if item.get("status") not in ("firing", "resolved"):
            errors["status"] = ["Must be 'firing' or 'resolved'."]
        labels = _string_map(item.get("labels"))
        annotations = _string_map(item.get("annotations"))
        if not labels:
            errors["labels"] = ["Must be a non-empty object of string values."]
        if annotations is None:
            errors["annotations"] = ["Must be an object of string values."]
        fingerprint = item.get("fingerprint")
        if fingerprint is not None and (not isinstance(fingerprint, str) or not fingerprint.strip()):
            errors["fingerprint"] = ["Must be a non-empty string."]
        times: dict[str, datetime | None] = {}
        for name in ("startsAt", "endsAt"):
            try:
                times[name] = _parse_time(item.get(name))
            except ValueError:
                errors[name] = ["Must be an RFC 3339 timestamp."]
        if errors:
            bad.append({"index": index, "errors": errors})
            continue
        assert labels is not None
        assert annotations is not None
        alerts.append(
            AmAlert(
                status=item["status"],
                labels=labels,
                annotations=annotations,
                # Alertmanager always sends one; for other senders, the same hash of the labels.
                fingerprint=(
                    fingerprint or hashlib.sha256(json.dumps(labels, sort_keys=True).encode()).hexdigest()[:16]
                ),
                starts_at=times["startsAt"],
                ends_at=times["endsAt"],
                generator_url=str(item.get("generatorURL") or ""),
            )
        )
    if bad:
        raise InvalidInput(
            f"{len(bad)} of {len(raw_alerts)} alerts are invalid; nothing was applied.",
            details={"alerts": bad},
            code="invalid_webhook",
        )
    meta = {name: data.get(name) for name in ("receiver", "groupKey", "externalURL", "version", "status")}
    return AmGroup(alerts=alerts, truncated_alerts=truncated, meta=meta)


def scoped_dedup_key(integration: Integration, fingerprint: str) -> str:
    return f"am:{integration.pk}:{fingerprint}"


@dataclass
class AmResult:
    raised: int = 0
    updated: int = 0
    unchanged: int = 0
    resolved: int = 0
    ignored: int = 0  # resolved alerts we had no open alert for
    alert_ids: list[int] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        return {
            "raised": self.raised,
            "updated": self.updated,
            "unchanged": self.unchanged,
            "resolved": self.resolved,
            "ignored": self.ignored,
        }


def _metadata(alert: AmAlert, group: AmGroup) -> dict[str, Any]:
    return {
        "fingerprint": alert.fingerprint,
        "labels": alert.labels,
        "annotations": alert.annotations,
        "starts_at": alert.starts_at.isoformat() if alert.starts_at else None,
        "generator_url": alert.generator_url,
        "alertmanager": group.meta,
    }


def _unchanged(open_alert: Alert, alert: AmAlert) -> bool:
    """A re-send (repeat_interval, retry, clustered peer) that would change nothing."""
    return (
        open_alert.metadata.get("labels") == alert.labels
        and open_alert.metadata.get("annotations") == alert.annotations
        and open_alert.metadata.get("starts_at") == (alert.starts_at.isoformat() if alert.starts_at else None)
        and SEVERITY_RANK[alert.severity] <= SEVERITY_RANK[open_alert.severity]
    )


@transaction.atomic
def alertmanager_webhook_process(*, integration: Integration, group: AmGroup) -> AmResult:
    ingest_lock_timeout()
    integration_touch(integration=integration)
    result = AmResult()
    keys = {scoped_dedup_key(integration, alert.fingerprint) for alert in group.alerts}
    # Lock the open alerts first, in id order (see flights._lock_alerts for why).
    open_alerts = {
        alert.dedup_key: alert
        for alert in Alert.objects.select_for_update()
        .filter(team_id=integration.team_id, dedup_key__in=keys)
        .exclude(status=AlertStatus.RESOLVED)
        .order_by("id")
    }
    actor = integration_actor(integration)
    # A fixed order, so that two peers posting the same group cannot deadlock on each other.
    for alert in sorted(group.alerts, key=lambda a: a.fingerprint):
        key = scoped_dedup_key(integration, alert.fingerprint)
        existing = open_alerts.get(key)
        if alert.status == "resolved":
            if existing is None:
                result.ignored += 1
                continue
            ends = f" at {alert.ends_at.isoformat()}" if alert.ends_at else ""
            alert_resolve(
                alert_id=existing.pk,
                by=actor,
                note=f"Resolved in Alertmanager{ends}.",
                data={"ends_at": alert.ends_at.isoformat() if alert.ends_at else None},
            )
            open_alerts.pop(key)
            result.resolved += 1
            result.alert_ids.append(existing.pk)
            continue
        if existing is not None and _unchanged(existing, alert):
            result.unchanged += 1
            result.alert_ids.append(existing.pk)
            continue
        raised = alert_raise(
            team=integration.team,
            type=(alert.labels.get("alertname") or "alertmanager_alert")[:64],
            severity=alert.severity,
            title=alert.title,
            message=alert.message,
            source=AlertSource.ALERTMANAGER,
            resource=(alert.labels.get("resource") or alert.labels.get("flight") or alert.labels.get("instance", ""))[
                :200
            ],
            dedup_key=key,
            integration=integration,
            metadata=_metadata(alert, group),
            actor=actor,
            occurred_at=alert.starts_at if existing is None else None,
        )
        open_alerts[key] = raised.alert
        result.alert_ids.append(raised.alert.pk)
        if raised.created:
            result.raised += 1
        else:
            result.updated += 1
    return result
