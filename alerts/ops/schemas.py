"""The JSON schema of alert rule definitions (one per kind), and its validation.

``GET /api/v1/alert-rules/schema`` serves these schemas. A definition is checked in two
passes: this JSON schema (shape, types, operators, bounds), then the engine's semantic
checks (``alerts.ops.rules.rule_definition_errors``: known alert fields, templates,
cron expressions, total condition count). Errors name the field with a path such as
``definition.conditions[0].op``.

Condition language (shared by event and threshold rules)
--------------------------------------------------------
A condition is a leaf ``{"field": "origin", "op": "equals", "value": "EWR"}`` or a group
``{"all": [...]}`` / ``{"any": [...]}`` (groups nest up to 3 levels, 20 leaves in total).
``conditions`` at the top of a definition is a list combined by ``match`` (default
``all``). Operators: ``equals``, ``not_equals``, ``in``, ``not_in`` (value is a list),
``gt``, ``gte``, ``lt``, ``lte`` (numbers, or strings such as ISO dates; on the alert field
``severity`` they follow the severity scale low < medium < high < critical),
``contains`` (substring of a string, or member of a list), ``exists`` (no value).

Fields: for event rules a dotted path into the event (``booking.amount``), plus
``event_type`` and ``source`` unless the event carries fields of those names. For
threshold rules an alert field: ``type``, ``severity``, ``source``, ``status``, ``resource``,
``title``, ``occurrences``, ``affected_bookings_count``, or ``metadata.<key>``.

Alert spec (what a rule raises)
-------------------------------
``{"type": "airport_disruption", "severity": "critical", "title": "...", "message": "...",
"dedup_key": "...", "resource": "..."}``. ``title``, ``message``, ``dedup_key`` and
``resource`` are templates: ``{name}`` is replaced by a value (``{{``/``}}`` are literal
braces); nothing else is interpreted (no attribute access, indexing or format specs).
Values: event rules — the event's fields by dotted path; threshold rules — ``group``,
``count``, ``threshold``, ``window_minutes``, ``window_start``, ``window_end``, ``rule``;
time rules — ``date``, ``time``, ``team``, ``rule``. An empty ``dedup_key`` defaults to
``rule:<id>:<group>`` (threshold), ``rule:<id>:<date>`` (time) or no dedup (event).

Kinds
-----
event:     ``{"event_types": [...], "sources": [...], "match": "all", "conditions": [...], "alert": {...}}``
           evaluated for each incoming integration event (``ops_event_received``).
threshold: ``{"conditions": [...], "group_by": "metadata.origin", "window_minutes": 60,
           "threshold": 10, "time_field": "created_at", "alert": {...}}`` — when ``threshold``
           or more alerts matching ``conditions`` (in the same ``group_by`` value) fall within
           ``window_minutes`` of each other, one alert per window and group. Time is the
           alerts' ``time_field`` (``created_at``, ``last_occurred_at`` or
           ``metadata.<key>`` holding an ISO-8601 instant), not the wall clock, so replays
           of past days work.
time:      ``{"schedule": {"cron": "0 8 * * 1-5"} | {"every_minutes": 60}, "action": "summary"
           | "alert", "period_hours": 24, "alert": {...}}``; cron runs in the team's time zone.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from jsonschema import Draft202012Validator
from jsonschema.exceptions import ValidationError as SchemaError

from alerts.models import Severity

OPERATORS = ("equals", "not_equals", "in", "not_in", "gt", "gte", "lt", "lte", "contains", "exists")
MAX_CONDITIONS = 20
MAX_DEPTH = 3
FIELD_PATTERN = r"^[A-Za-z_][A-Za-z0-9_]{0,63}(\.[A-Za-z_][A-Za-z0-9_]{0,63}){0,4}$"

_SCALAR: dict[str, Any] = {
    "anyOf": [
        {"type": "string", "maxLength": 500},
        {"type": "number"},
        {"type": "boolean"},
        {"type": "null"},
    ]
}

_LEAF: dict[str, Any] = {
    "type": "object",
    "required": ["field", "op"],
    "additionalProperties": False,
    "properties": {
        "field": {"type": "string", "pattern": FIELD_PATTERN},
        "op": {"enum": list(OPERATORS)},
        "value": {},
    },
    "allOf": [
        {
            "if": {"properties": {"op": {"enum": ["in", "not_in"]}}, "required": ["op"]},
            "then": {
                "required": ["value"],
                "properties": {"value": {"type": "array", "minItems": 1, "maxItems": 100, "items": _SCALAR}},
            },
        },
        {
            "if": {"properties": {"op": {"enum": ["gt", "gte", "lt", "lte"]}}, "required": ["op"]},
            "then": {
                "required": ["value"],
                "properties": {"value": {"anyOf": [{"type": "number"}, {"type": "string", "maxLength": 100}]}},
            },
        },
        {
            "if": {"properties": {"op": {"enum": ["equals", "not_equals", "contains"]}}, "required": ["op"]},
            "then": {"required": ["value"], "properties": {"value": _SCALAR}},
        },
    ],
}

_CONDITION: dict[str, Any] = {
    # A group when it has "all" or "any", otherwise a leaf: errors then point inside the
    # right branch (definition.conditions[0].op) instead of a vague "not valid under any".
    "type": "object",
    "if": {"required": ["all"]},
    "then": {
        "additionalProperties": False,
        "properties": {
            "all": {"type": "array", "minItems": 1, "maxItems": MAX_CONDITIONS, "items": {"$ref": "#/$defs/condition"}}
        },
    },
    "else": {
        "if": {"required": ["any"]},
        "then": {
            "additionalProperties": False,
            "properties": {
                "any": {
                    "type": "array",
                    "minItems": 1,
                    "maxItems": MAX_CONDITIONS,
                    "items": {"$ref": "#/$defs/condition"},
                }
            },
        },
        "else": {"$ref": "#/$defs/leaf"},
    },
}

_TEMPLATE = {"type": "string", "maxLength": 300}

ALERT_SPEC_SCHEMA: dict[str, Any] = {
    "type": "object",
    "required": ["type", "severity", "title"],
    "additionalProperties": False,
    "properties": {
        "type": {"type": "string", "pattern": r"^[a-z][a-z0-9_]{0,63}$"},
        "severity": {"enum": list(Severity.values)},
        "title": {"type": "string", "minLength": 1, "maxLength": 300},
        "message": {"type": "string", "maxLength": 2000},
        "dedup_key": _TEMPLATE,
        "resource": {"type": "string", "maxLength": 200},
    },
}

_COMMON_DEFS = {"condition": _CONDITION, "leaf": _LEAF, "alert": ALERT_SPEC_SCHEMA}
_CONDITIONS = {"type": "array", "maxItems": MAX_CONDITIONS, "items": {"$ref": "#/$defs/condition"}}
_MATCH = {"enum": ["all", "any"]}
_NAMES = {"type": "array", "maxItems": 20, "items": {"type": "string", "minLength": 1, "maxLength": 64}}

EVENT_RULE_SCHEMA: dict[str, Any] = {
    "$schema": "https://json-schema.org/draft/2020-12/schema",
    "title": "Event rule definition",
    "type": "object",
    "required": ["alert"],
    "additionalProperties": False,
    "properties": {
        "event_types": _NAMES,
        "sources": _NAMES,
        "match": _MATCH,
        "conditions": _CONDITIONS,
        "alert": {"$ref": "#/$defs/alert"},
    },
    "$defs": _COMMON_DEFS,
}

THRESHOLD_RULE_SCHEMA: dict[str, Any] = {
    "$schema": "https://json-schema.org/draft/2020-12/schema",
    "title": "Threshold rule definition",
    "type": "object",
    "required": ["conditions", "window_minutes", "threshold", "alert"],
    "additionalProperties": False,
    "properties": {
        "source": {"enum": ["alerts"]},
        "match": _MATCH,
        "conditions": {**_CONDITIONS, "minItems": 1},
        "group_by": {"type": "string", "pattern": FIELD_PATTERN},
        "time_field": {"type": "string", "pattern": FIELD_PATTERN},
        "window_minutes": {"type": "integer", "minimum": 1, "maximum": 7 * 24 * 60},
        "threshold": {"type": "integer", "minimum": 1, "maximum": 100_000},
        "alert": {"$ref": "#/$defs/alert"},
    },
    "$defs": _COMMON_DEFS,
}

TIME_RULE_SCHEMA: dict[str, Any] = {
    "$schema": "https://json-schema.org/draft/2020-12/schema",
    "title": "Time rule definition",
    "type": "object",
    "required": ["schedule", "action"],
    "additionalProperties": False,
    "properties": {
        "schedule": {
            "type": "object",
            "additionalProperties": False,
            "minProperties": 1,
            "maxProperties": 1,
            "properties": {
                "cron": {"type": "string", "minLength": 9, "maxLength": 100},
                "every_minutes": {"type": "integer", "minimum": 1, "maximum": 7 * 24 * 60},
            },
        },
        "action": {"enum": ["summary", "alert"]},
        "period_hours": {"type": "integer", "minimum": 1, "maximum": 7 * 24},
        "alert": {"$ref": "#/$defs/alert"},
    },
    "if": {"properties": {"action": {"const": "alert"}}, "required": ["action"]},
    "then": {"required": ["alert"]},
    "$defs": _COMMON_DEFS,
}

RULE_SCHEMAS: dict[str, dict[str, Any]] = {
    "event": EVENT_RULE_SCHEMA,
    "threshold": THRESHOLD_RULE_SCHEMA,
    "time": TIME_RULE_SCHEMA,
}

_VALIDATORS = {kind: Draft202012Validator(schema) for kind, schema in RULE_SCHEMAS.items()}


def error_path(parts: Iterable[str | int], root: str = "definition") -> str:
    """``["conditions", 0, "op"]`` → ``definition.conditions[0].op``."""
    path = root
    for part in parts:
        path += f"[{part}]" if isinstance(part, int) else f".{part}"
    return path


def _message(error: SchemaError) -> tuple[list[str | int], str]:
    """A field path and a short message a rule author can act on."""
    path: list[str | int] = list(error.absolute_path)
    if error.validator == "enum" and path and path[-1] == "op":
        return path, f"unknown operator {error.instance!r}; use one of: {', '.join(OPERATORS)}"
    if error.validator == "enum":
        options = ", ".join(str(option) for option in error.validator_value)
        return path, f"{error.instance!r} is not one of: {options}"
    if error.validator == "required":
        present = error.instance if isinstance(error.instance, dict) else {}
        missing = [name for name in error.validator_value if name not in present]
        return [*path, missing[0]] if missing else path, "This field is required."
    if error.validator == "additionalProperties":
        extra = sorted(set(error.instance) - set(error.schema.get("properties", {})))
        return [*path, extra[0]] if extra else path, "unknown field"
    if error.validator == "pattern":
        return path, f"{error.instance!r} has an invalid format"
    return path, error.message


def schema_errors(kind: str, definition: Any) -> dict[str, list[str]]:
    """JSON-schema errors of ``definition`` for ``kind``, keyed by field path."""
    validator = _VALIDATORS.get(kind)
    if validator is None:
        return {"kind": [f"unknown rule kind {kind!r}"]}
    errors: dict[str, list[str]] = {}
    for error in sorted(validator.iter_errors(definition), key=lambda e: [str(p) for p in e.absolute_path]):
        path, message = _message(error)
        errors.setdefault(error_path(path), []).append(message)
    return errors
