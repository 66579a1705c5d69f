"""Helpers for the operations tests (alerts/tests/test_ops_*.py)."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime

import time_machine

from alerts.services import alert_raise

AIRPORT_DISRUPTION_RULE = {
    "conditions": [{"field": "type", "op": "equals", "value": "flight_cancelled"}],
    "group_by": "metadata.origin",
    "window_minutes": 60,
    "threshold": 10,
    "alert": {
        "type": "airport_disruption",
        "severity": "critical",
        "title": "Airport-wide disruption at {group}: {count} cancellations within {window_minutes} min",
        "dedup_key": "airport-disruption:{group}",
        "resource": "{group}",
    },
}


@contextmanager
def frozen(at: datetime) -> Iterator[None]:
    with time_machine.travel(at, tick=False):
        yield


def raise_at(at: datetime, **kwargs):
    """``alert_raise`` as if called at ``at`` (its created_at is then ``at``)."""
    with frozen(at):
        return alert_raise(**kwargs).alert


def cancellation(team, *, flight: str, origin: str, destination: str, departure: datetime):
    """A cancellation alert the way flight-event ingestion raises it."""
    service_date = departure.date().isoformat()
    leg = f"{flight}-{service_date}-{origin}"
    return raise_at(
        departure,
        team=team,
        type="flight_cancelled",
        severity="critical",
        title=f"{flight} {origin}-{destination} cancelled",
        source="flight_events",
        resource=leg,
        dedup_key=f"flight:{leg}:cancelled",
        metadata={"origin": origin, "destination": destination, "flight_number": flight, "service_date": service_date},
    )
