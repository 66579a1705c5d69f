"""The flight event contract (travel.md): parse and validate what integrations post.

One field table drives both the validator and the OpenAPI schema. The validator is a
plain function rather than a DRF serializer because it runs on up to 1,000 events per
request on the ingestion hot path (a serializer costs tens of microseconds per field).
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from alertguardian.api import InvalidInput
from alerts.flightdata import airport_timezone
from alerts.ingest_models import FlightEventType

MAX_EVENTS_PER_REQUEST = 1000

# A carrier code has at least one letter (IATA "UA", "B6", "9E"; ICAO "UAL"), then 1-4 digits.
CARRIER_PATTERN = r"(?:[A-Z][A-Z0-9]|[0-9][A-Z])[A-Z]?"
CARRIER_RE = re.compile(rf"^{CARRIER_PATTERN}$")
FLIGHT_NUMBER_RE = re.compile(rf"^({CARRIER_PATTERN})(\d{{1,4}}[A-Z]?)$")
AIRPORT_RE = re.compile(r"^[A-Z]{3}$")
EVENT_TYPES = frozenset(FlightEventType.values)


class FieldError(ValueError):
    pass


def _string(max_length: int) -> Callable[[Any], str]:
    def parse(value: Any) -> str:
        if not isinstance(value, str):
            raise FieldError("Must be a string.")
        value = value.strip()
        if not value:
            raise FieldError("May not be blank.")
        if len(value) > max_length:
            raise FieldError(f"At most {max_length} characters.")
        return value

    return parse


def _event_type(value: Any) -> str:
    if value not in EVENT_TYPES:
        raise FieldError(f"Unknown event type {value!r}; one of: {', '.join(sorted(EVENT_TYPES))}.")
    return str(value)


def _flight_number(value: Any) -> str:
    if not isinstance(value, str):
        raise FieldError("Must be a string.")
    normalized = value.replace(" ", "").upper()
    if not FLIGHT_NUMBER_RE.match(normalized):
        raise FieldError("Must be a carrier code followed by 1-4 digits, e.g. UA1545.")
    return normalized


def _airport(value: Any) -> str:
    if not isinstance(value, str) or not AIRPORT_RE.match(value.strip().upper()):
        raise FieldError("Must be a 3-letter IATA airport code.")
    return value.strip().upper()


def _carrier(value: Any) -> str:
    if not isinstance(value, str) or not CARRIER_RE.match(value.strip().upper()):
        raise FieldError("Must be a 2-character IATA (or 3-letter ICAO) carrier code.")
    return value.strip().upper()


def parse_aware_datetime(value: Any) -> datetime:
    """ISO 8601 date and time with a UTC offset (``Z``, ``+00:00`` or ``+0000``)."""
    if not isinstance(value, str) or "T" not in value.upper():
        raise FieldError("Must be an ISO 8601 date and time with an offset, e.g. 2013-02-08T05:15:00-05:00.")
    try:
        parsed = datetime.fromisoformat(value)
    except ValueError:
        raise FieldError("Not a valid ISO 8601 date and time.") from None
    if parsed.tzinfo is None or parsed.utcoffset() is None:
        raise FieldError("Must include a UTC offset (e.g. Z or -05:00).")
    return parsed


def _date(value: Any) -> date:
    if not isinstance(value, str):
        raise FieldError("Must be a date string YYYY-MM-DD.")
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise FieldError("Must be a date YYYY-MM-DD.") from None


def _integer(minimum: int, maximum: int) -> Callable[[Any], int]:
    def parse(value: Any) -> int:
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise FieldError("Must be an integer.")
        if isinstance(value, float) and not value.is_integer():  # also refuses inf and nan
            raise FieldError("Must be an integer.")
        if not minimum <= value <= maximum:
            raise FieldError(f"Must be between {minimum} and {maximum}.")
        return int(value)

    return parse


@dataclass(frozen=True)
class FieldSpec:
    parse: Callable[[Any], Any]
    schema: dict[str, Any]
    required: bool = False


_DT_SCHEMA = {"type": "string", "format": "date-time", "description": "ISO 8601 with a UTC offset"}

FIELDS: dict[str, FieldSpec] = {
    "event_id": FieldSpec(_string(200), {"type": "string", "maxLength": 200}, required=True),
    "event_type": FieldSpec(_event_type, {"type": "string", "enum": sorted(EVENT_TYPES)}, required=True),
    "occurred_at": FieldSpec(parse_aware_datetime, _DT_SCHEMA, required=True),
    "flight_number": FieldSpec(_flight_number, {"type": "string", "example": "UA1545"}, required=True),
    "origin": FieldSpec(_airport, {"type": "string", "pattern": "^[A-Z]{3}$"}, required=True),
    "destination": FieldSpec(_airport, {"type": "string", "pattern": "^[A-Z]{3}$"}, required=True),
    "scheduled_departure": FieldSpec(parse_aware_datetime, _DT_SCHEMA, required=True),
    "carrier": FieldSpec(_carrier, {"type": "string"}),
    "service_date": FieldSpec(_date, {"type": "string", "format": "date"}),
    "scheduled_arrival": FieldSpec(parse_aware_datetime, _DT_SCHEMA),
    "estimated_departure": FieldSpec(parse_aware_datetime, _DT_SCHEMA),
    "estimated_arrival": FieldSpec(parse_aware_datetime, _DT_SCHEMA),
    "actual_departure": FieldSpec(parse_aware_datetime, _DT_SCHEMA),
    "actual_arrival": FieldSpec(parse_aware_datetime, _DT_SCHEMA),
    "delay_minutes": FieldSpec(_integer(-1440, 100_000), {"type": "integer"}),
    "gate": FieldSpec(_string(16), {"type": "string", "maxLength": 16}),
    "terminal": FieldSpec(_string(16), {"type": "string", "maxLength": 16}),
    "diverted_to": FieldSpec(_airport, {"type": "string", "pattern": "^[A-Z]{3}$"}),
    "tail_number": FieldSpec(_string(16), {"type": "string", "maxLength": 16}),
    "distance_miles": FieldSpec(_integer(0, 20_000), {"type": "integer"}),
    "source": FieldSpec(_string(100), {"type": "string", "maxLength": 100}),
}
REQUIRED_FIELDS = tuple(name for name, spec in FIELDS.items() if spec.required)


@dataclass(frozen=True)
class FlightEventIn:
    """A validated event. ``fields`` holds every optional field that was sent, parsed."""

    event_id: str
    event_type: str
    occurred_at: datetime
    flight_number: str
    carrier: str
    origin: str
    destination: str
    service_date: date
    scheduled_departure: datetime
    fields: dict[str, Any]
    raw: dict[str, Any]

    @property
    def leg_key(self) -> str:
        return leg_key(self.flight_number, self.service_date, self.origin)


def leg_key(flight_number: str, service_date: date, origin: str) -> str:
    return f"{flight_number}-{service_date.isoformat()}-{origin}"


def local_service_date(scheduled_departure: datetime, origin: str) -> date:
    """The scheduled departure's local date at the origin (its time zone; else the sent offset)."""
    zone = airport_timezone(origin)
    return (scheduled_departure.astimezone(zone) if zone else scheduled_departure).date()


def parse_event(item: Any) -> tuple[FlightEventIn | None, dict[str, list[str]]]:
    """One event: the parsed event, or the errors per field. Unknown fields are ignored."""
    if not isinstance(item, dict):
        return None, {"non_field_errors": ["Each event must be a JSON object."]}
    errors: dict[str, list[str]] = {}
    parsed: dict[str, Any] = {}
    for name, spec in FIELDS.items():
        value = item.get(name)
        if value is None:
            if spec.required:
                errors[name] = ["This field is required." if name not in item else "This field may not be null."]
            continue
        try:
            parsed[name] = spec.parse(value)
        except FieldError as exc:
            errors[name] = [str(exc)]
    if errors:
        return None, errors
    flight_number = parsed.pop("flight_number")
    carrier = parsed.pop("carrier", None) or FLIGHT_NUMBER_RE.match(flight_number).group(1)  # type: ignore[union-attr]
    scheduled_departure = parsed.pop("scheduled_departure")
    origin = parsed.pop("origin")
    service_date = parsed.pop("service_date", None) or local_service_date(scheduled_departure, origin)
    return (
        FlightEventIn(
            event_id=parsed.pop("event_id"),
            event_type=parsed.pop("event_type"),
            occurred_at=parsed.pop("occurred_at"),
            flight_number=flight_number,
            carrier=carrier,
            origin=origin,
            destination=parsed.pop("destination"),
            service_date=service_date,
            scheduled_departure=scheduled_departure,
            fields=parsed,
            raw=item,
        ),
        {},
    )


def parse_flight_events(data: Any) -> tuple[list[FlightEventIn], bool]:
    """Validate one event object or a list of up to 1,000; returns (events, was_a_list).

    Raises ``InvalidInput`` naming each bad field, and for a list each bad item's index:
    ``details = {"items": [{"index": 3, "errors": {"occurred_at": ["..."]}}, ...]}``.
    """
    if isinstance(data, dict):
        event, errors = parse_event(data)
        if event is None:
            raise InvalidInput("The flight event is invalid.", details=errors, code="invalid_event")
        return [event], False
    if not isinstance(data, list):
        raise InvalidInput("Send one flight event object or a JSON list of them.", code="invalid_event")
    if not data:
        raise InvalidInput("The list of events is empty.", code="invalid_event")
    if len(data) > MAX_EVENTS_PER_REQUEST:
        raise InvalidInput(
            f"At most {MAX_EVENTS_PER_REQUEST} events per request.",
            details={"max_events": MAX_EVENTS_PER_REQUEST, "received": len(data)},
            code="too_many_events",
        )
    events: list[FlightEventIn] = []
    bad: list[dict[str, Any]] = []
    for index, item in enumerate(data):
        event, errors = parse_event(item)
        if event is None:
            bad.append({"index": index, "errors": errors})
        else:
            events.append(event)
    if bad:
        raise InvalidInput(
            f"{len(bad)} of {len(data)} events are invalid; none was applied.",
            details={"items": bad},
            code="invalid_events",
        )
    return events, True


def flight_event_json_schema() -> dict[str, Any]:
    """JSON schema of one event, for the OpenAPI description."""
    return {
        "type": "object",
        "required": list(REQUIRED_FIELDS),
        "properties": {name: spec.schema for name, spec in FIELDS.items()},
        "additionalProperties": True,
    }
