"""Public shape of a flight leg: the flights API and the live ``flights.updated`` event.

Schema (version 1), sent to ``team.<id>`` once per ingest request that changed legs::

    {"type": "flights.updated", "version": 1,
     "flights": [{<FLIGHT_PUBLIC_FIELDS>}, ...],   # at most LIVE_FLIGHTS_LIMIT
     "count": <legs changed>, "truncated": <bool>}
"""

from __future__ import annotations

from typing import Any

from alerts.models import FlightStatus

FLIGHT_PUBLIC_FIELDS = (
    "key",
    "flight_number",
    "carrier",
    "service_date",
    "origin",
    "destination",
    "status",
    "scheduled_departure",
    "scheduled_arrival",
    "estimated_departure",
    "estimated_arrival",
    "actual_departure",
    "actual_arrival",
    "gate",
    "terminal",
    "diverted_to",
    "tail_number",
    "distance_miles",
    "delay_minutes",
    "reported_delay_minutes",
    "last_event_type",
    "last_event_at",
    "updated_at",
)
LIVE_FLIGHTS_LIMIT = 100


def _iso(value: Any) -> Any:
    return value.isoformat() if hasattr(value, "isoformat") else value


def flight_public(status: FlightStatus) -> dict[str, Any]:
    return {field: _iso(getattr(status, field)) for field in FLIGHT_PUBLIC_FIELDS}


def flights_updated_event(statuses: list[FlightStatus]) -> dict[str, Any]:
    return {
        "type": "flights.updated",
        "version": 1,
        "flights": [flight_public(status) for status in statuses[:LIVE_FLIGHTS_LIMIT]],
        "count": len(statuses),
        "truncated": len(statuses) > LIVE_FLIGHTS_LIMIT,
    }
