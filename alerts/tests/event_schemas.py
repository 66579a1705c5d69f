"""JSON Schemas of every live event a socket can receive (documented in docs/events.md).

Tests validate what actually arrives on a socket against these, so a payload change
that the docs do not describe fails a test.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

import jsonschema

from alerts.events import ALERT_EVENT_TYPES, ALERT_PUBLIC_FIELDS

_DATETIME = {"type": "string", "format": "date-time"}
_NULLABLE_DATETIME = {"type": ["string", "null"], "format": "date-time"}

ALERT_OBJECT: dict[str, Any] = {
    "type": "object",
    "additionalProperties": False,
    "required": list(ALERT_PUBLIC_FIELDS),
    "properties": {
        "id": {"type": "integer", "minimum": 1},
        "team_id": {"type": "integer", "minimum": 1},
        "type": {"type": "string", "minLength": 1},
        "severity": {"enum": ["low", "medium", "high", "critical"]},
        "status": {"enum": ["triggered", "acknowledged", "resolved"]},
        "title": {"type": "string"},
        "resource": {"type": "string"},
        "assignee_id": {"type": ["integer", "null"]},
        "ack_deadline": _NULLABLE_DATETIME,
        "created_at": _DATETIME,
        "updated_at": _DATETIME,
        "acknowledged_at": _NULLABLE_DATETIME,
        "resolved_at": _NULLABLE_DATETIME,
        "occurrences": {"type": "integer", "minimum": 1},
        "affected_bookings_count": {"type": "integer", "minimum": 0},
    },
}


def _alert_event(event_type: str, *, status: str | None = None, data: dict[str, Any] | None = None) -> dict[str, Any]:
    alert = ALERT_OBJECT
    if status is not None:
        alert = {**ALERT_OBJECT, "properties": {**ALERT_OBJECT["properties"], "status": {"const": status}}}
    properties: dict[str, Any] = {"type": {"const": event_type}, "version": {"const": 1}, "alert": alert}
    required = ["type", "version", "alert"]
    if data is not None:
        properties["data"] = data
    else:
        properties["data"] = {"type": "object"}
    return {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "type": "object",
        "additionalProperties": False,
        "required": required,
        "properties": properties,
    }


def _data(properties: dict[str, Any], required: list[str]) -> dict[str, Any]:
    return {"type": "object", "additionalProperties": False, "required": required, "properties": properties}


EVENT_SCHEMAS: dict[str, dict[str, Any]] = {
    "alert.created": _alert_event("alert.created", status="triggered", data=_data({}, [])),
    # A repeat raise folded into the open alert, or a note added (then data has note_id).
    "alert.updated": _alert_event(
        "alert.updated",
        data={
            "oneOf": [
                _data({"severity_raised": {"type": "boolean"}}, ["severity_raised"]),
                _data({"note_id": {"type": "integer", "minimum": 1}}, ["note_id"]),
            ]
        },
    ),
    "alert.acknowledged": _alert_event("alert.acknowledged", status="acknowledged", data=_data({}, [])),
    "alert.unacknowledged": _alert_event("alert.unacknowledged", status="triggered", data=_data({}, [])),
    "alert.resolved": _alert_event("alert.resolved", status="resolved", data=_data({}, [])),
    "alert.reopened": _alert_event("alert.reopened", status="triggered", data=_data({}, [])),
    "alert.assigned": _alert_event("alert.assigned", data=_data({}, [])),
    # A step ran (the countdown moved), or the run stopped/completed (the countdown cleared).
    "alert.escalated": _alert_event(
        "alert.escalated",
        data={
            "oneOf": [
                _data(
                    {
                        "run_id": {"type": "integer", "minimum": 1},
                        "step_seq": {"type": "integer", "minimum": 0},
                        "kind": {"type": ["string", "null"]},
                        "next_step_at": _NULLABLE_DATETIME,
                    },
                    ["run_id", "step_seq", "kind", "next_step_at"],
                ),
                _data(
                    {"run_id": {"type": "integer", "minimum": 1}, "event": {"enum": ["stopped", "completed"]}},
                    ["run_id", "event"],
                ),
            ]
        },
    ),
    # Published by the fallbacks app; its data is its own to document.
    "alert.fallback_applied": _alert_event("alert.fallback_applied"),
    # Personal channel (/ws/notifications/).
    "unread.count": {
        "type": "object",
        "additionalProperties": False,
        "required": ["type", "version", "count"],
        "properties": {
            "type": {"const": "unread.count"},
            "version": {"const": 1},
            "count": {"type": "integer", "minimum": 0},
        },
    },
    "notification.created": {
        "type": "object",
        "additionalProperties": False,
        "required": ["type", "version", "notification", "unread_notifications"],
        "properties": {
            "type": {"const": "notification.created"},
            "version": {"const": 1},
            "unread_notifications": {"type": "integer", "minimum": 1},
            "notification": {
                "type": "object",
                "additionalProperties": False,
                "required": ["id", "kind", "title", "body", "alert_id", "created_at", "read_at"],
                "properties": {
                    "id": {"type": "integer", "minimum": 1},
                    "kind": {"type": "string"},
                    "title": {"type": "string"},
                    "body": {"type": "string"},
                    "alert_id": {"type": ["integer", "null"]},
                    "created_at": _DATETIME,
                    "read_at": _NULLABLE_DATETIME,
                },
            },
        },
    },
    "notification.read": {
        "type": "object",
        "additionalProperties": False,
        "required": ["type", "version", "ids", "unread_notifications"],
        "properties": {
            "type": {"const": "notification.read"},
            "version": {"const": 1},
            "ids": {"type": "array", "items": {"type": "integer", "minimum": 1}, "minItems": 1},
            "unread_notifications": {"type": "integer", "minimum": 0},
        },
    },
    "alert.read": {
        "type": "object",
        "additionalProperties": False,
        "required": ["type", "version", "alert_id"],
        "properties": {
            "type": {"const": "alert.read"},
            "version": {"const": 1},
            "alert_id": {"type": "integer", "minimum": 1},
        },
    },
}

assert set(ALERT_EVENT_TYPES) <= set(EVENT_SCHEMAS), "every alert event type needs a schema"

_FORMATS = jsonschema.FormatChecker(formats=())


@_FORMATS.checks("date-time", raises=ValueError)
def _is_aware_iso_datetime(value: object) -> bool:
    # Our own check: jsonschema skips "date-time" silently without an optional package.
    if not isinstance(value, str):
        return True
    parsed = datetime.fromisoformat(value)
    if parsed.tzinfo is None:
        raise ValueError(f"{value!r} has no time zone")
    return True


def assert_event_valid(event: dict[str, Any]) -> None:
    """Fail unless ``event`` is a known event type and matches its schema exactly."""
    assert isinstance(event, dict), event
    schema = EVENT_SCHEMAS.get(event.get("type", ""))
    assert schema is not None, f"unknown event type {event.get('type')!r}"
    jsonschema.validate(event, schema, format_checker=_FORMATS)
