"""Generic events: CloudEvents 1.0, structured JSON, one event or a batch.

Every new event is stored (``GenericEvent``; ``source`` + ``id`` is idempotent) and
announced on commit with ``alerts.ingest_hooks.generic_event_received``. Then:

- ``alertguardian.alert.trigger``: raise (or fold into) an alert; ``subject`` is the dedup
  key, ``data`` is shaped like a PagerDuty payload (summary, severity, source, ...);
- ``alertguardian.alert.acknowledge`` / ``.resolve``: act on the open alert with that
  ``subject``; unknown subjects are dropped;
- any other type: the team's event rules (``alerts.ops``) see it first. A payment failure
  (type ``payment_failed``, or any type ending in ``.payment_failed``) belongs to the
  built-in payment rule, which raises one alert per payment after commit; every other
  type raises an alert from ``data`` (its ``summary``/``title``, ``severity``), typed
  after the event, deduplicated on ``subject`` when one is given. Other apps react to a
  type through the signal.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from functools import partial
from typing import Any

from django.db import IntegrityError, transaction

from alertguardian.api import InvalidInput
from alerts.flight_contract import FieldError, parse_aware_datetime
from alerts.ingest_hooks import generic_event_received
from alerts.models import AlertSource, AlertStatus, GenericEvent, Integration, Severity
from alerts.ops.services import ops_event_received
from alerts.services.integrations import ingest_lock_timeout, integration_actor, integration_touch
from alerts.services.lifecycle import _open_alert_for_update, alert_acknowledge, alert_raise, alert_resolve
from alerts.services.pagerduty import PD_SEVERITIES
from audit.services import audit_record

TYPE_PREFIX = "alertguardian.alert."
MAX_EVENTS = 1000


@dataclass(frozen=True)
class CloudEvent:
    id: str
    source: str
    type: str
    subject: str
    time: datetime | None
    data: Any


def _parse_one(item: Any) -> tuple[CloudEvent | None, dict[str, list[str]]]:
    if not isinstance(item, dict):
        return None, {"non_field_errors": ["Each event must be a JSON object."]}
    errors: dict[str, list[str]] = {}
    if item.get("specversion") != "1.0":
        errors["specversion"] = ["Must be '1.0'."]
    for name, limit in (("id", 200), ("source", 500), ("type", 200)):
        value = item.get(name)
        if not isinstance(value, str) or not value.strip():
            errors[name] = ["This field is required."]
        elif len(value) > limit:
            errors[name] = [f"At most {limit} characters."]
    subject = item.get("subject", "")
    if not isinstance(subject, str) or len(subject) > 255:
        errors["subject"] = ["Must be a string of at most 255 characters."]
    time = None
    if item.get("time") is not None:
        try:
            time = parse_aware_datetime(item["time"])
        except FieldError as exc:
            errors["time"] = [str(exc)]
    if errors:
        return None, errors
    return CloudEvent(item["id"], item["source"], item["type"], subject, time, item.get("data")), {}


def parse_cloud_events(data: Any) -> list[CloudEvent]:
    """One structured event (object) or a batch (array, ≤ 1,000); all valid or 400."""
    items = data if isinstance(data, list) else [data]
    if isinstance(data, list) and not 1 <= len(data) <= MAX_EVENTS:
        raise InvalidInput(f"A batch holds 1 to {MAX_EVENTS} events.", code="invalid_events")
    events: list[CloudEvent] = []
    bad: list[dict[str, Any]] = []
    for index, item in enumerate(items):
        event, errors = _parse_one(item)
        if event is None:
            bad.append({"index": index, "errors": errors})
        else:
            events.append(event)
    if bad:
        if not isinstance(data, list):
            raise InvalidInput("The event is invalid.", details=bad[0]["errors"], code="invalid_event")
        raise InvalidInput(f"{len(bad)} events are invalid; none was applied.", details={"items": bad})
    return events


@dataclass
class GenericResult:
    accepted: int = 0
    duplicates: int = 0
    events: list[dict[str, Any]] = field(default_factory=list)


def _severity(data: dict[str, Any]) -> str:
    value = str(data.get("severity", "")).lower()
    if value in Severity.values:
        return value
    return PD_SEVERITIES.get(value, Severity.MEDIUM)


def _apply(*, integration: Integration, event: CloudEvent) -> tuple[str, int | None]:
    data = event.data if isinstance(event.data, dict) else {"value": event.data}
    key = f"ce:{integration.pk}:{event.subject}" if event.subject else ""
    actor = integration_actor(integration)
    action = event.type[len(TYPE_PREFIX) :] if event.type.startswith(TYPE_PREFIX) else ""
    if action in ("acknowledge", "resolve"):
        alert = _open_alert_for_update(team_id=integration.team_id, dedup_key=key) if key else None
        if alert is None or (action == "acknowledge" and alert.status != AlertStatus.TRIGGERED):
            return "dropped", alert.pk if alert else None
        if action == "acknowledge":
            alert_acknowledge(alert_id=alert.pk, by=actor, note=f"Acknowledged by event {event.id}")
        else:
            alert_resolve(alert_id=alert.pk, by=actor, note=f"Resolved by event {event.id}")
        return action + "d", alert.pk
    alert_type = "generic_event" if action == "trigger" else event.type.rsplit(".", 1)[-1]
    if action != "trigger":
        match = ops_event_received(
            team=integration.team, event_type=alert_type, data={**data, "subject": event.subject}, source="generic"
        )
        if match.payment_failed:
            return "routed", None  # the built-in payment rule raises it on commit
    summary = str(data.get("summary") or data.get("title") or f"{event.type} from {event.source}")
    raised = alert_raise(
        team=integration.team,
        type=alert_type[:64],
        severity=_severity(data),
        title=summary[:300],
        message=summary,
        source=AlertSource.GENERIC,
        resource=str(data.get("resource") or data.get("source") or event.source)[:200],
        dedup_key=key,
        integration=integration,
        metadata={"cloudevent": {"id": event.id, "source": event.source, "type": event.type}, "data": data},
        actor=actor,
        occurred_at=event.time,
    )
    return ("raised" if raised.created else "folded"), raised.alert.pk


@transaction.atomic
def generic_events_ingest(*, integration: Integration, events: list[CloudEvent]) -> GenericResult:
    ingest_lock_timeout()
    integration_touch(integration=integration)
    result = GenericResult()
    for event in events:
        try:
            with transaction.atomic():
                stored = GenericEvent.objects.create(
                    integration=integration,
                    team_id=integration.team_id,
                    source=event.source,
                    event_id=event.id,
                    type=event.type,
                    subject=event.subject,
                    time=event.time,
                    data=event.data if event.data is not None else {},
                )
        except IntegrityError:
            result.duplicates += 1
            result.events.append({"id": event.id, "source": event.source, "result": "duplicate"})
            continue
        outcome, alert_id = _apply(integration=integration, event=event)
        if alert_id is not None and stored.alert_id != alert_id:
            stored.alert_id = alert_id
            stored.save(update_fields=["alert"])
        result.accepted += 1
        result.events.append({"id": event.id, "source": event.source, "result": outcome, "alert_id": alert_id})
        transaction.on_commit(
            partial(
                generic_event_received.send,
                sender=None,
                team_id=integration.team_id,
                generic_event_id=stored.pk,
                type=event.type,
                alert_id=alert_id,
            )
        )
    if result.accepted:
        audit_record(
            actor=integration_actor(integration),
            action="generic_events.ingested",
            target=integration,
            data={"accepted": result.accepted, "duplicates": result.duplicates, "events": result.events[:50]},
        )
    return result
