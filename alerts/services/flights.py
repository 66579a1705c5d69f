"""``flight_events_ingest``: store flight events, update flight legs, raise disruption alerts.

One transaction per call, in this order (the order is what keeps it correct and fast):

1. create-or-lock the legs the events touch (``FlightStatus``, one statement in
   ``flight_legs``), in key order so that concurrent ingests cannot deadlock;
2. insert the events with ``ON CONFLICT DO NOTHING RETURNING``: what comes back is new,
   the rest are duplicates (at-least-once delivery) and change nothing;
3. apply each leg's new events oldest first; an event not newer than the leg's newest
   applied event is stored but changes nothing (out-of-order delivery);
4. run the detection rules on each changed leg (before → after) and raise, fold, resolve
   or record outcomes on the leg's alerts through the lifecycle services;
5. one audit row per request, one live ``flights.updated`` event and one
   ``flight_legs_changed`` signal on commit.

A batch is applied as a whole: its net change per leg is what detection sees.
``flight_events_ingest_many`` applies several requests at once (group commit, see
``flight_grouping``) with the same outcome per request as one after the other.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from django.db import connection, transaction
from django.db.models import Field
from django.utils import timezone

from alertguardian.bulk_sql import rows_source
from alertguardian.realtime import publish_on_commit, team_group
from alerts.flight_contract import FlightEventIn
from alerts.flight_payloads import flights_updated_event
from alerts.flightdata import airport_timezone
from alerts.ingest_hooks import affected_bookings_counts, flight_legs_changed
from alerts.models import (
    Alert,
    AlertSource,
    AlertStatus,
    FlightEvent,
    FlightEventType,
    FlightLegStatus,
    FlightStatus,
    Integration,
    IntegrationKind,
)
from alerts.services.detection import (
    ALERT_TYPES,
    KIND_CANCELLED,
    KIND_DELAY,
    Finding,
    LegState,
    dedup_key,
    detect,
    rules_for_team,
)
from alerts.services.flight_legs import COPIED_FIELDS, legs_lock, legs_save
from alerts.services.integrations import ingest_lock_timeout, integration_actor, integration_touch
from alerts.services.lifecycle import NewAlert, alert_resolve, alerts_raise_many
from alerts.services.outcomes import alert_outcome_record
from audit.services import AuditActor, AuditRecord, audit_record_many

LATE_FROM_MINUTES = 15  # a leg counts as "delayed" (status, ?delayed=true) from here, as BTS does
AUDIT_LEGS_LIMIT = 50


@dataclass
class IngestResult:
    received: int = 0
    accepted: int = 0
    duplicates: int = 0
    late: int = 0
    legs_updated: int = 0
    alerts_raised: int = 0
    alerts_updated: int = 0
    alerts_resolved: int = 0
    outcomes_recorded: int = 0
    alerts_by_kind: Counter[str] = field(default_factory=Counter)

    def as_dict(self) -> dict[str, Any]:
        return {
            "received": self.received,
            "accepted": self.accepted,
            "duplicates": self.duplicates,
            "late": self.late,
            "legs_updated": self.legs_updated,
            "alerts_raised": self.alerts_raised,
            "alerts_updated": self.alerts_updated,
            "alerts_resolved": self.alerts_resolved,
            "outcomes_recorded": self.outcomes_recorded,
        }


def flight_events_ingest(*, integration: Integration, events: list[FlightEventIn]) -> IngestResult:
    """Ingest validated events of one integration (see the module docstring)."""
    return flight_events_ingest_many(integration=integration, requests=[events])[0]


def flight_events_ingest_many(*, integration: Integration, requests: list[list[FlightEventIn]]) -> list[IngestResult]:
    """Several requests' events in one transaction, with one result and one audit entry each.

    For group commit (``alerts.services.flight_grouping``): requests must not share a leg,
    so that each leg's change, and what detection makes of it, is the one its request alone
    would have made. An event id sent twice counts as a duplicate of the request that sent
    it second, as it would had the requests come one after the other.
    """
    results = [IngestResult(received=len(events)) for events in requests]
    unique: dict[str, FlightEventIn] = {}
    owner: dict[str, IngestResult] = {}  # event id -> the result of the request that sent it first
    for events, result in zip(requests, results, strict=True):
        for event in events:
            if event.event_id in unique:
                result.duplicates += 1
            else:
                unique[event.event_id] = event
                owner[event.event_id] = result
    with transaction.atomic():
        ingest_lock_timeout()
        legs = legs_lock(team_id=integration.team_id, events=unique.values())
        expected = _newer_than_their_legs(legs=legs, events=list(unique.values()))
        inserted = _insert_events(integration=integration, events=list(unique.values()), applied=expected)
        for event_id in unique:
            if event_id in inserted:
                owner[event_id].accepted += 1
            else:
                owner[event_id].duplicates += 1
        new_events = [event for event in unique.values() if event.event_id in inserted]  # in the same order
        if new_events:  # the team's event rules see every new flight event (matching never writes here)
            from alerts.ops.services import ops_events_received  # ops imports alerts.services: import late

            ops_events_received(
                team_id=integration.team_id,
                events=[(event.event_type, event.raw) for event in new_events],
                source=IntegrationKind.FLIGHT_EVENTS,
            )
        changes, applied = _apply_events(legs=legs, events=new_events, now=timezone.now())
        for event in new_events:
            if event.event_id not in applied:
                owner[event.event_id].late += 1
        stored_wrong = applied ^ (expected & set(inserted))
        if stored_wrong:  # only when an event id was reused for another leg concurrently
            for event_id in stored_wrong:
                FlightEvent.objects.filter(pk=inserted[event_id]).update(applied=event_id in applied)
        leg_results = {change.leg.key: owner[change.event_ids[-1]] for change in changes}
        for change in changes:
            leg_results[change.leg.key].legs_updated += 1
        if changes:
            legs_save([change.leg for change in changes])
            _react(integration=integration, changes=changes, results=leg_results)
        if inserted:
            integration_touch(integration=integration)
        _audit(integration=integration, results=results, changes=changes, leg_results=leg_results)
        if changes:
            statuses = [change.leg for change in changes]
            publish_on_commit(team_group(integration.team_id), flights_updated_event(statuses))
            payload = [change.signal_payload() for change in changes]
            team_id = integration.team_id
            transaction.on_commit(lambda: flight_legs_changed.send(sender=None, team_id=team_id, changes=payload))
    return results


def _audit(
    *,
    integration: Integration,
    results: list[IngestResult],
    changes: list[LegChange],
    leg_results: dict[str, IngestResult],
) -> None:
    """One entry per request that stored anything (with the legs it changed), one INSERT."""
    actor = integration_actor(integration)
    records = []
    for result in results:
        if not result.accepted:
            continue
        legs = [change.leg.key for change in changes if leg_results[change.leg.key] is result]
        records.append(
            AuditRecord(
                actor=actor,
                action="flight_events.ingested",
                target=integration,
                data={**result.as_dict(), "legs": legs[:AUDIT_LEGS_LIMIT]},
            )
        )
    audit_record_many(records)


def _newer_than_their_legs(*, legs: dict[str, FlightStatus], events: list[FlightEventIn]) -> set[str]:
    """Ids of the events that will change their leg (newer than its newest applied event).

    Known before inserting, so each event is stored with its final ``applied`` flag in
    the same statement. A duplicate never counts: had it been applied before, its leg is
    already at least as new.
    """
    newest = {key: leg.last_event_at for key, leg in legs.items()}
    applied: set[str] = set()
    for event in sorted(events, key=lambda e: e.occurred_at):
        last = newest[event.leg_key]
        if last is None or event.occurred_at > last:
            newest[event.leg_key] = event.occurred_at
            applied.add(event.event_id)
    return applied


def _insert_events(*, integration: Integration, events: list[FlightEventIn], applied: set[str]) -> dict[str, int]:
    """Insert, skipping ids this integration already sent; returns {event_id: pk} of the new ones.

    Raw SQL because Django's ``bulk_create(ignore_conflicts=True)`` cannot tell which rows
    were skipped; ``RETURNING`` can (PostgreSQL and SQLite ≥ 3.35).
    """
    if not events:
        return {}
    now = timezone.now()
    meta = FlightEvent._meta
    names = [
        "integration",
        "team",
        "event_id",
        "event_type",
        "leg_key",
        "occurred_at",
        "received_at",
        "applied",
        "payload",
    ]
    fields: list[Field[Any, Any]] = [meta.get_field(name) for name in names]  # type: ignore[misc]
    rows = [
        (
            integration.pk,
            integration.team_id,
            event.event_id,
            event.event_type,
            event.leg_key,
            event.occurred_at,
            now,
            event.event_id in applied,
            event.raw,
        )
        for event in events
    ]
    source, params = rows_source(fields, rows)
    quote = connection.ops.quote_name
    columns = ", ".join(quote(f.column or f.name) for f in fields)
    sql = (
        # Only quoted model identifiers, column types and placeholders go into the text.
        f"INSERT INTO {quote(meta.db_table)} ({columns}) {source} "
        f"ON CONFLICT ({quote('integration_id')}, {quote('event_id')}) DO NOTHING "
        f"RETURNING {quote('id')}, {quote('event_id')}"
    )
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        return {event_id: pk for pk, event_id in cursor.fetchall()}


@dataclass
class LegChange:
    leg: FlightStatus
    before: LegState | None
    after: LegState | None = None
    event_types: set[str] = field(default_factory=set)
    event_ids: list[str] = field(default_factory=list)  # applied, oldest first
    findings: list[Finding] = field(default_factory=list)
    alert_ids: dict[str, int] = field(default_factory=dict)

    def signal_payload(self) -> dict[str, Any]:
        return {
            "leg": self.leg.key,
            "status": self.leg.status,
            "delay_minutes": self.leg.delay_minutes,
            "event_types": sorted(self.event_types),
            "findings": [
                {
                    "kind": finding.kind,
                    "severity": finding.severity,
                    "creates_alert": finding.rule.creates_alert,
                    "notify_customers": finding.rule.notify_customers,
                    "escalate": finding.rule.escalate,
                    "suggestions": finding.rule.suggestions,
                    "alert_id": self.alert_ids.get(finding.kind),
                }
                for finding in self.findings
            ],
        }


def _apply_events(
    *, legs: dict[str, FlightStatus], events: list[FlightEventIn], now: datetime
) -> tuple[list[LegChange], set[str]]:
    by_leg: dict[str, list[FlightEventIn]] = defaultdict(list)
    for event in events:
        by_leg[event.leg_key].append(event)
    changes: list[LegChange] = []
    applied: set[str] = set()
    for key in sorted(by_leg):
        leg = legs[key]
        change = LegChange(leg=leg, before=leg_state(leg) if leg.last_event_at else None)
        for event in sorted(by_leg[key], key=lambda e: e.occurred_at):
            if leg.last_event_at is not None and event.occurred_at <= leg.last_event_at:
                continue  # late: stored, changes nothing
            _apply(leg, event, now)
            change.event_types.add(event.event_type)
            change.event_ids.append(event.event_id)
            applied.add(event.event_id)
        if change.event_types:
            change.after = leg_state(leg)
            changes.append(change)
    return changes, applied


def _apply(leg: FlightStatus, event: FlightEventIn, now: datetime) -> None:
    leg.carrier = event.carrier
    leg.destination = event.destination
    leg.scheduled_departure = event.scheduled_departure
    for name in COPIED_FIELDS:
        if name in event.fields:
            setattr(leg, name, event.fields[name])
    if "delay_minutes" in event.fields:
        leg.reported_delay_minutes = event.fields["delay_minutes"]
    leg.delay_minutes = computed_delay(leg)
    leg.status = _next_status(leg, event.event_type)
    leg.last_event_at = event.occurred_at
    leg.last_event_type = event.event_type
    leg.updated_at = now


def computed_delay(leg: FlightStatus) -> int | None:
    """Minutes from the scheduled to the actual (else estimated) departure; else the sender's figure."""
    departure = leg.actual_departure or leg.estimated_departure
    if departure is not None and leg.scheduled_departure is not None:
        return round((departure - leg.scheduled_departure).total_seconds() / 60)
    return leg.reported_delay_minutes


def _next_status(leg: FlightStatus, event_type: str) -> str:
    if event_type in (FlightEventType.SCHEDULED, FlightEventType.REINSTATED):
        late = (leg.delay_minutes or 0) >= LATE_FROM_MINUTES
        return FlightLegStatus.DELAYED if late else FlightLegStatus.SCHEDULED
    if event_type == FlightEventType.GATE_CHANGE:
        return leg.status
    return event_type  # delayed, cancelled, departed, arrived, diverted are statuses too


def leg_state(leg: FlightStatus) -> LegState:
    departure = leg.actual_departure or leg.estimated_departure
    departure_local_date = None
    if departure is not None:
        zone = airport_timezone(leg.origin)
        departure_local_date = (departure.astimezone(zone) if zone else departure).date()
    return LegState(
        status=leg.status,
        delay_minutes=leg.delay_minutes,
        departure_local_date=departure_local_date,
        service_date=leg.service_date,
        gate=leg.gate,
        terminal=leg.terminal,
    )


def _react(*, integration: Integration, changes: list[LegChange], results: dict[str, IngestResult]) -> None:
    """Detection and the alert side effects of the changed legs."""
    rules = rules_for_team(integration.team_id)
    wanted: set[str] = set()
    # Only the legs that may have an alert are locked: a batch's hundreds of quiet legs
    # would make a long IN list (escaped into the statement text) that matches nothing.
    wanted_legs: set[str] = set()
    for change in changes:
        assert change.after is not None
        change.findings = detect(rules=rules, before=change.before, after=change.after, event_types=change.event_types)
        keys = {dedup_key(change.leg.key, f.kind) for f in change.findings if f.rule.creates_alert}
        if FlightEventType.REINSTATED in change.event_types:
            keys.add(dedup_key(change.leg.key, KIND_CANCELLED))
        if change.event_types & {FlightEventType.DEPARTED, FlightEventType.ARRIVED}:
            keys.add(dedup_key(change.leg.key, KIND_DELAY))
        if keys:
            wanted |= keys
            wanted_legs.add(change.leg.key)
    if not wanted:
        return
    latest = _lock_alerts(team_id=integration.team_id, legs=sorted(wanted_legs), dedup_keys=wanted)
    actor = integration_actor(integration)
    raising = [change.leg.key for change in changes if any(f.rule.creates_alert for f in change.findings)]
    bookings = affected_bookings_counts(team_id=integration.team_id, leg_keys=raising)
    # Per leg: resolve a reinstated cancellation, raise or fold the findings' alerts, then
    # record departures/arrivals on the delay alert; each step for all legs at once, so the
    # new alerts of the whole ingest are written together.
    for change in changes:
        _resolve_reinstated(change=change, latest=latest, actor=actor, result=results[change.leg.key])
    _raise_findings(
        integration=integration, changes=changes, latest=latest, actor=actor, bookings=bookings, results=results
    )
    for change in changes:
        _record_outcomes(change=change, latest=latest, actor=actor, result=results[change.leg.key])


def _lock_alerts(*, team_id: int, legs: list[str], dedup_keys: set[str]) -> dict[str, Alert]:
    """Lock every alert this ingest may touch before the first audit row takes the audit
    lock (a lifecycle action elsewhere locks its alert first, then audits: locking in the
    other order here could deadlock). Returns the newest alert per dedup key."""
    latest: dict[str, Alert] = {}
    alerts = (
        Alert.objects.select_for_update()
        .filter(team_id=team_id, resource__in=legs, dedup_key__in=dedup_keys)
        .order_by("id")
    )
    for alert in alerts:
        latest[alert.dedup_key] = alert
    return latest


def _resolve_reinstated(
    *, change: LegChange, latest: dict[str, Alert], actor: AuditActor, result: IngestResult
) -> None:
    leg = change.leg
    if FlightEventType.REINSTATED not in change.event_types or leg.status == FlightLegStatus.CANCELLED:
        return
    cancelled = latest.get(dedup_key(leg.key, KIND_CANCELLED))
    if cancelled is not None and cancelled.status != AlertStatus.RESOLVED:
        alert_resolve(
            alert_id=cancelled.pk, by=actor, note=f"{leg.flight_number} was reinstated.", data={"leg": leg.key}
        )
        result.alerts_resolved += 1


def _raise_findings(
    *,
    integration: Integration,
    changes: list[LegChange],
    latest: dict[str, Alert],
    actor: AuditActor,
    bookings: dict[str, int],
    results: dict[str, IngestResult],
) -> None:
    raising = [(change, finding) for change in changes for finding in change.findings if finding.rule.creates_alert]
    if not raising:
        return
    raised = alerts_raise_many(
        team=integration.team,
        source=AlertSource.FLIGHT_EVENTS,
        integration=integration,
        actor=actor,
        alerts=[
            NewAlert(
                type=ALERT_TYPES[finding.kind],
                severity=finding.severity,
                title=_title(change.leg, finding),
                message=_message(change.leg, finding),
                resource=change.leg.key,
                dedup_key=dedup_key(change.leg.key, finding.kind),
                metadata=_alert_metadata(change.leg, finding),
                affected_bookings_count=bookings.get(change.leg.key, 0),
                occurred_at=change.leg.last_event_at,
            )
            for change, finding in raising
        ],
    )
    for (change, finding), outcome in zip(raising, raised, strict=True):
        latest[outcome.alert.dedup_key] = outcome.alert
        change.alert_ids[finding.kind] = outcome.alert.pk
        result = results[change.leg.key]
        if outcome.created:
            result.alerts_raised += 1
            result.alerts_by_kind[finding.kind] += 1
        else:
            result.alerts_updated += 1


def _record_outcomes(*, change: LegChange, latest: dict[str, Alert], actor: AuditActor, result: IngestResult) -> None:
    leg = change.leg
    for event_type in (FlightEventType.DEPARTED, FlightEventType.ARRIVED):
        delay_alert = latest.get(dedup_key(leg.key, KIND_DELAY))
        if event_type in change.event_types and delay_alert is not None:
            outcome = _outcome(leg, event_type)
            alert_outcome_record(alert_id=delay_alert.pk, by=actor, outcome=outcome, message=outcome["summary"])
            result.outcomes_recorded += 1


def _route(leg: FlightStatus) -> str:
    return f"{leg.flight_number} {leg.origin}→{leg.destination} on {leg.service_date.isoformat()}"


def _title(leg: FlightStatus, finding: Finding) -> str:
    if finding.kind == KIND_CANCELLED:
        return f"{_route(leg)} cancelled"
    if finding.kind == KIND_DELAY:
        return f"{_route(leg)} delayed {leg.delay_minutes} min"
    if finding.kind == "diverted":
        return f"{_route(leg)} diverted" + (f" to {leg.diverted_to}" if leg.diverted_to else "")
    if finding.kind == "gate":
        return f"{_route(leg)} gate changed to {leg.gate or '?'}" + (
            f" (terminal {leg.terminal})" if leg.terminal else ""
        )
    return f"{_route(leg)} is {leg.status}"


def _local(value: datetime | None, airport: str) -> str | None:
    """ISO time at the airport's local offset (the same instant whatever offset it came with)."""
    if value is None:
        return None
    zone = airport_timezone(airport)
    return (value.astimezone(zone) if zone else value).isoformat()


def _message(leg: FlightStatus, finding: Finding) -> str:
    parts = [f"Rule: {finding.rule.name} ({finding.reason})."]
    if leg.scheduled_departure:
        parts.append(f"Scheduled departure {_local(leg.scheduled_departure, leg.origin)}.")
    new_departure = leg.actual_departure or leg.estimated_departure
    if new_departure and finding.kind == KIND_DELAY:
        parts.append(f"New departure {_local(new_departure, leg.origin)}.")
    if finding.rule.suggestions:
        parts.append(f"Suggest: {', '.join(map(str, finding.rule.suggestions))}.")
    return " ".join(parts)


def _alert_metadata(leg: FlightStatus, finding: Finding) -> dict[str, Any]:
    return {
        "leg": leg.key,
        "flight_number": leg.flight_number,
        "origin": leg.origin,
        "destination": leg.destination,
        "service_date": leg.service_date.isoformat(),
        "flight_status": leg.status,
        "delay_minutes": leg.delay_minutes,
        "scheduled_departure": _local(leg.scheduled_departure, leg.origin),
        "new_departure": _local(leg.actual_departure or leg.estimated_departure, leg.origin),
        "gate": leg.gate,
        "terminal": leg.terminal,
        "diverted_to": leg.diverted_to,
        "rule": {
            "id": finding.rule.pk,
            "name": finding.rule.name,
            "condition": finding.rule.condition,
            "threshold_minutes": finding.rule.threshold_minutes,
        },
        "escalate": finding.rule.escalate,
        "notify_customers": finding.rule.notify_customers,
        "suggestions": list(finding.rule.suggestions or []),
    }


def _outcome(leg: FlightStatus, event_type: str) -> dict[str, Any]:
    verb = "departed" if event_type == FlightEventType.DEPARTED else "arrived"
    when = leg.actual_departure if verb == "departed" else leg.actual_arrival
    delay = f"{leg.delay_minutes} min late" if leg.delay_minutes and leg.delay_minutes > 0 else "on time"
    return {
        "event": verb,
        "at": _local(when, leg.origin if verb == "departed" else leg.destination),
        "actual_departure": _local(leg.actual_departure, leg.origin),
        "actual_arrival": _local(leg.actual_arrival, leg.destination),
        "delay_minutes": leg.delay_minutes,
        "summary": f"{leg.flight_number} {verb} ({delay} from {leg.origin})",
    }
