"""The condition language of alert rules and its safe templates.

Conditions are evaluated in Python on an event (``condition_matches``, O(conditions)) or
compiled to an ORM filter on alerts (``alert_filter``) for threshold rules. Templates
substitute ``{dotted.name}`` placeholders with values and interpret nothing else.
See ``alerts.ops.schemas`` for the documented language.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator, Mapping, Sequence
from typing import Any

from django.db.models import CharField, Q
from django.db.models.expressions import Expression
from django.db.models.fields.json import KT, KeyTransform
from django.db.models.functions import Cast

from alerts.models import SEVERITY_RANK
from alerts.ops.schemas import FIELD_PATTERN

MISSING: Any = object()

# Alert columns a threshold rule may filter or group on (value kind for validation).
ALERT_TEXT_FIELDS = frozenset({"type", "severity", "source", "status", "resource", "title"})
ALERT_NUMBER_FIELDS = frozenset({"occurrences", "affected_bookings_count"})
ALERT_TIME_FIELDS = frozenset({"created_at", "last_occurred_at"})
METADATA_PREFIX = "metadata."

Condition = Mapping[str, Any]


def path_get(data: Any, path: str) -> Any:
    """``data["a"]["b"]`` for ``"a.b"`` — dictionary keys only, never attributes."""
    current = data
    for part in path.split("."):
        if not isinstance(current, Mapping) or part not in current:
            return MISSING
        current = current[part]
    return current


def _is_number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def _equal(actual: Any, expected: Any) -> bool:
    if _is_number(actual) and _is_number(expected):
        return bool(actual == expected)
    return type(actual) is type(expected) and actual == expected


def _ordered(op: str, actual: Any, expected: Any) -> bool:
    comparable = (_is_number(actual) and _is_number(expected)) or (
        isinstance(actual, str) and isinstance(expected, str)
    )
    if not comparable:
        return False
    if op == "gt":
        return bool(actual > expected)
    if op == "gte":
        return bool(actual >= expected)
    if op == "lt":
        return bool(actual < expected)
    return bool(actual <= expected)


def compare(op: str, actual: Any, expected: Any) -> bool:
    if op == "exists":
        return actual is not MISSING
    if op == "not_equals":
        return not _equal(actual, expected)
    if op == "not_in":
        return not any(_equal(actual, item) for item in expected)
    if actual is MISSING:
        return False
    if op == "equals":
        return _equal(actual, expected)
    if op == "in":
        return any(_equal(actual, item) for item in expected)
    if op in {"gt", "gte", "lt", "lte"}:
        return _ordered(op, actual, expected)
    if op == "contains":
        if isinstance(actual, str) and isinstance(expected, str):
            return expected in actual
        if isinstance(actual, list):
            return any(_equal(item, expected) for item in actual)
        return False
    raise ValueError(f"unknown operator {op!r}")


def condition_matches(condition: Condition, context: Mapping[str, Any]) -> bool:
    if "all" in condition:
        return all(condition_matches(item, context) for item in condition["all"])
    if "any" in condition:
        return any(condition_matches(item, context) for item in condition["any"])
    return compare(condition["op"], path_get(context, condition["field"]), condition.get("value"))


def conditions_match(conditions: Sequence[Condition], context: Mapping[str, Any], match: str = "all") -> bool:
    if not conditions:
        return True
    results = (condition_matches(condition, context) for condition in conditions)
    return any(results) if match == "any" else all(results)


def iter_leaves(
    conditions: Sequence[Condition], path: tuple[str | int, ...] = ("conditions",), depth: int = 1
) -> Iterator[tuple[tuple[str | int, ...], Condition, int]]:
    """Every leaf condition with its path (for error messages) and nesting depth."""
    for index, condition in enumerate(conditions):
        here = (*path, index)
        for group in ("all", "any"):
            if group in condition:
                yield from iter_leaves(condition[group], (*here, group), depth + 1)
                break
        else:
            yield here, condition, depth


# --- threshold rules: conditions on alert fields as an ORM filter ----------------------


def alert_field_error(field: str, *, for_time: bool = False) -> str | None:
    """Why ``field`` can't be used on alerts, or None."""
    if field.startswith(METADATA_PREFIX):
        key = field[len(METADATA_PREFIX) :]
        if not key or "__" in key:
            return f"invalid metadata key in {field!r}"
        return None
    allowed = ALERT_TIME_FIELDS if for_time else ALERT_TEXT_FIELDS | ALERT_NUMBER_FIELDS
    if field not in allowed:
        names = [*sorted(allowed), "metadata.<key>"]
        return f"unknown alert field {field!r}; use one of: {', '.join(names)}"
    return None


def alert_condition_error(condition: Condition) -> str | None:
    field, op, value = condition["field"], condition["op"], condition.get("value")
    problem = alert_field_error(field)
    if problem:
        return problem
    if field in ALERT_NUMBER_FIELDS and op == "contains":
        return f"'contains' does not apply to the number field {field!r}"
    if field == "severity" and op in {"gt", "gte", "lt", "lte"} and value not in SEVERITY_RANK:
        return f"compare severity with one of: {', '.join(SEVERITY_RANK)}"
    return None


class AlertFilterBuilder:
    """Compiles conditions to ``(aliases, Q)``; metadata keys become aliased key transforms
    (a key named like a lookup, e.g. ``in``, can't be misread as one)."""

    def __init__(self) -> None:
        self.aliases: dict[str, Expression] = {}

    def metadata_alias(self, field: str, *, text: bool) -> str:
        key_path = field[len(METADATA_PREFIX) :].split(".")
        name = f"opsm{len(self.aliases)}"
        expression: Expression
        if text:
            expression = Cast(KT("__".join(["metadata", *key_path])), CharField())
        else:
            transform: Any = "metadata"
            for key in key_path:
                transform = KeyTransform(key, transform)
            expression = transform
        self.aliases[name] = expression
        return name

    def leaf(self, condition: Condition) -> Q:
        field, op, value = condition["field"], condition["op"], condition.get("value")
        is_metadata = field.startswith(METADATA_PREFIX)
        target = self.metadata_alias(field, text=op == "contains") if is_metadata else field
        if field == "severity" and op in {"gt", "gte", "lt", "lte"}:
            bound = SEVERITY_RANK[str(value)]
            chosen = [name for name, rank in SEVERITY_RANK.items() if compare(op, rank, bound)]
            return Q(severity__in=chosen)
        if op == "equals":
            return Q(**{target: value})
        if op == "not_equals":
            return ~Q(**{target: value})
        if op == "in":
            return Q(**{f"{target}__in": value})
        if op == "not_in":
            return ~Q(**{f"{target}__in": value})
        if op in {"gt", "gte", "lt", "lte", "contains"}:
            return Q(**{f"{target}__{op}": value})
        if op == "exists":
            if field.startswith(METADATA_PREFIX):
                return Q(**{f"{target}__isnull": False})
            return ~Q(**{field: ""}) if field in ALERT_TEXT_FIELDS else Q(pk__isnull=False)
        raise ValueError(f"unknown operator {op!r}")

    def condition(self, condition: Condition) -> Q:
        if "all" in condition:
            return self.combine(condition["all"], "all")
        if "any" in condition:
            return self.combine(condition["any"], "any")
        return self.leaf(condition)

    def combine(self, conditions: Sequence[Condition], match: str) -> Q:
        parts = [self.condition(condition) for condition in conditions]
        if not parts:
            return Q()
        combined = parts[0]
        for part in parts[1:]:
            combined = (combined | part) if match == "any" else (combined & part)
        return combined


def alert_filter(conditions: Sequence[Condition], match: str = "all") -> tuple[dict[str, Expression], Q]:
    builder = AlertFilterBuilder()
    q = builder.combine(conditions, match)
    return builder.aliases, q


# --- safe templates --------------------------------------------------------------------

_TOKEN = re.compile(r"\{\{|\}\}|\{([^{}]*)\}|[{}]")
_NAME = re.compile(FIELD_PATTERN)
MAX_VALUE_CHARS = 200
_LITERAL_BRACES = {"{{": "{", "}}": "}"}


def template_errors(template: str) -> list[str]:
    errors: list[str] = []
    for match in _TOKEN.finditer(template):
        token = match.group(0)
        if token in {"{{", "}}"}:
            continue
        name = match.group(1)
        if name is None:
            errors.append(f"unbalanced {token!r} at position {match.start()} (write {token * 2} for a literal brace)")
        elif not _NAME.match(name):
            errors.append(f"invalid placeholder {token!r}: use {{name}} or {{dotted.name}}")
    return errors


def _as_text(value: Any) -> str:
    if value is MISSING or value is None:
        return ""
    if isinstance(value, str):
        text = value
    elif isinstance(value, bool | int | float):
        text = json.dumps(value)
    else:
        text = json.dumps(value, default=str, sort_keys=True)
    return text[:MAX_VALUE_CHARS]


def render_template(template: str, values: Mapping[str, Any], *, limit: int = 300) -> str:
    """Substitute ``{name}`` with ``values`` (dotted paths into dicts); missing values render
    empty. Nothing else is evaluated, so a template can't reach attributes or format specs."""

    def substitute(match: re.Match[str]) -> str:
        token = match.group(0)
        if token in _LITERAL_BRACES:
            return _LITERAL_BRACES[token]
        name = match.group(1)
        if name is None or not _NAME.match(name):
            return token
        return _as_text(path_get(values, name))

    return _TOKEN.sub(substitute, template)[:limit]
