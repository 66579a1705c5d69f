"""The condition language, safe templates, the definition schema and cron schedules."""

from __future__ import annotations

from datetime import UTC, datetime
from zoneinfo import ZoneInfo

import pytest

from accounts.tests.factories import TeamFactory
from alerts.models import Alert
from alerts.ops.conditions import (
    MISSING,
    alert_filter,
    compare,
    condition_matches,
    path_get,
    render_template,
    template_errors,
)
from alerts.ops.rules import rule_definition_errors
from alerts.ops.schedule import CronError, cron_next, cron_parse, schedule_next
from alerts.tests.factories import AlertFactory
from alerts.tests.ops_factories import AIRPORT_DISRUPTION_RULE


@pytest.mark.parametrize(
    ("op", "actual", "expected", "result"),
    [
        ("equals", "EWR", "EWR", True),
        ("equals", 1, 1.0, True),
        ("equals", "1", 1, False),
        ("equals", True, 1, False),
        ("not_equals", MISSING, "x", True),
        ("in", "JFK", ["EWR", "JFK"], True),
        ("not_in", "LGA", ["EWR", "JFK"], True),
        ("gt", 181, 180, True),
        ("gte", 180, 180, True),
        ("lt", "2013-02-08", "2013-02-09", True),
        ("lte", "10", 9, False),  # a string is not compared with a number
        ("gt", MISSING, 1, False),
        ("contains", "card declined", "declined", True),
        ("contains", ["hotel", "meal"], "meal", True),
        ("contains", 12, 1, False),
        ("exists", None, None, True),
        ("exists", MISSING, None, False),
    ],
)
def test_compare(op, actual, expected, result):
    assert compare(op, actual, expected) is result


def test_nested_groups_and_dotted_paths():
    event = {"booking": {"amount": 1500, "currency": "EUR"}, "origin": "EWR"}
    condition = {
        "all": [
            {"field": "booking.amount", "op": "gte", "value": 1000},
            {
                "any": [
                    {"field": "origin", "op": "equals", "value": "JFK"},
                    {"field": "booking.currency", "op": "in", "value": ["EUR"]},
                ]
            },
        ]
    }
    assert condition_matches(condition, event)
    event["booking"]["currency"] = "USD"
    assert not condition_matches(condition, event)
    assert path_get({"a": "text"}, "a.upper") is MISSING  # never attribute access


def test_templates_substitute_values_only():
    values = {"flight": "UA1545", "booking": {"ref": "ABC"}, "n": 3}
    assert render_template("{flight} ({booking.ref}) x{n} {{literal}}", values) == "UA1545 (ABC) x3 {literal}"
    assert render_template("{missing}|{__class__}", values) == "|"
    assert render_template("{flight}" * 100, values, limit=10) == "UA1545UA15"
    assert template_errors("{flight} ok {{x}}") == []
    for bad in ("{0.__class__}", "{flight!r}", "{flight:>10}", "{flight", "oops }", "{a[0]}"):
        assert template_errors(bad), bad


def test_valid_definitions_pass():
    assert rule_definition_errors("threshold", AIRPORT_DISRUPTION_RULE) == {}
    assert rule_definition_errors("time", {"schedule": {"cron": "0 8 * * mon-fri"}, "action": "summary"}) == {}
    event = {
        "event_types": ["payment_failed"],
        "conditions": [
            {"field": "amount", "op": "gte", "value": 1000},
            {"any": [{"field": "currency", "op": "exists"}]},
        ],
        "alert": {"type": "big_payment_failed", "severity": "high", "title": "{payment_id} failed"},
    }
    assert rule_definition_errors("event", event) == {}


@pytest.mark.parametrize(
    ("kind", "definition", "path", "fragment"),
    [
        (
            "event",
            {
                "conditions": [{"field": "a", "op": "like", "value": 1}],
                "alert": {"type": "x", "severity": "low", "title": "t"},
            },
            "definition.conditions[0].op",
            "unknown operator",
        ),
        (
            "event",
            {
                "conditions": [{"field": "a", "op": "in", "value": "EWR"}],
                "alert": {"type": "x", "severity": "low", "title": "t"},
            },
            "definition.conditions[0].value",
            "not of type 'array'",
        ),
        (
            "event",
            {"conditions": [{"field": "a", "op": "equals"}], "alert": {"type": "x", "severity": "low", "title": "t"}},
            "definition.conditions[0].value",
            "required",
        ),
        (
            "event",
            {
                "conditions": [{"all": [{"field": "a", "op": "gt", "value": [1]}]}],
                "alert": {"type": "x", "severity": "low", "title": "t"},
            },
            "definition.conditions[0].all[0].value",
            "",
        ),
        (
            "event",
            {"alert": {"type": "x", "severity": "urgent", "title": "t"}},
            "definition.alert.severity",
            "not one of",
        ),
        ("event", {"alert": {"type": "x", "severity": "low"}}, "definition.alert.title", "required"),
        (
            "event",
            {"alert": {"type": "x", "severity": "low", "title": "{0.__class__}"}},
            "definition.alert.title",
            "invalid placeholder",
        ),
        (
            "event",
            {"alert": {"type": "x", "severity": "low", "title": "t"}, "surprise": 1},
            "definition.surprise",
            "unknown field",
        ),
        (
            "event",
            {"conditions": [{"field": "a b", "op": "exists"}], "alert": {"type": "x", "severity": "low", "title": "t"}},
            "definition.conditions[0].field",
            "invalid format",
        ),
        (
            "threshold",
            {**AIRPORT_DISRUPTION_RULE, "conditions": [{"field": "colour", "op": "equals", "value": "x"}]},
            "definition.conditions[0].field",
            "unknown alert field",
        ),
        (
            "threshold",
            {**AIRPORT_DISRUPTION_RULE, "conditions": [{"field": "severity", "op": "gte", "value": "big"}]},
            "definition.conditions[0].op",
            "severity",
        ),
        ("threshold", {**AIRPORT_DISRUPTION_RULE, "group_by": "airport"}, "definition.group_by", "unknown alert field"),
        (
            "threshold",
            {**AIRPORT_DISRUPTION_RULE, "time_field": "title"},
            "definition.time_field",
            "unknown alert field",
        ),
        ("threshold", {**AIRPORT_DISRUPTION_RULE, "window_minutes": 0}, "definition.window_minutes", "minimum"),
        ("time", {"schedule": {"cron": "61 * * * *"}, "action": "summary"}, "definition.schedule.cron", "invalid cron"),
        ("time", {"schedule": {"cron": "0 8 * *"}, "action": "summary"}, "definition.schedule.cron", ""),
        ("time", {"schedule": {"every_minutes": 5}, "action": "alert"}, "definition.alert", "required"),
    ],
)
def test_invalid_definitions_name_the_field(kind, definition, path, fragment):
    errors = rule_definition_errors(kind, definition)
    assert path in errors, errors
    assert any(fragment in message for message in errors[path]), errors


def test_condition_count_and_depth_are_bounded():
    leaf = {"field": "a", "op": "exists"}
    too_many = {
        "conditions": [{"all": [leaf] * 15}, {"all": [leaf] * 15}],
        "alert": {"type": "x", "severity": "low", "title": "t"},
    }
    assert "at most 20" in rule_definition_errors("event", too_many)["definition.conditions"][0]
    deep = {
        "conditions": [{"all": [{"any": [{"all": [leaf]}]}]}],
        "alert": {"type": "x", "severity": "low", "title": "t"},
    }
    assert "nest" in rule_definition_errors("event", deep)["definition.conditions"][0]


@pytest.mark.django_db
def test_sql_filter_agrees_with_python_evaluation():
    team = TeamFactory()
    rows = [
        {"type": "flight_cancelled", "severity": "critical", "metadata": {"origin": "EWR", "delay": 0}},
        {"type": "flight_delayed", "severity": "high", "metadata": {"origin": "JFK", "delay": 190}},
        {"type": "flight_delayed", "severity": "medium", "metadata": {"origin": "LGA", "delay": 50, "in": "x"}},
        {"type": "gate_change", "severity": "low", "metadata": {}},
        {"type": "flight_delayed", "severity": "medium", "metadata": {"origin": "EWR-2", "delay": 45}},
    ]
    alerts = [AlertFactory(team=team, **row) for row in rows]
    cases = [
        [{"field": "type", "op": "equals", "value": "flight_delayed"}],
        [{"field": "severity", "op": "gte", "value": "high"}],
        [{"field": "severity", "op": "lt", "value": "high"}],
        [{"field": "metadata.origin", "op": "in", "value": ["EWR", "LGA"]}],
        [{"field": "metadata.origin", "op": "contains", "value": "EWR"}],
        [{"field": "metadata.delay", "op": "gte", "value": 50}],
        [{"field": "metadata.origin", "op": "exists"}],
        [{"field": "metadata.in", "op": "equals", "value": "x"}],  # a key named like a lookup
        [
            {
                "any": [
                    {"field": "type", "op": "equals", "value": "gate_change"},
                    {"field": "metadata.delay", "op": "gt", "value": 100},
                ]
            }
        ],
        [
            {"field": "type", "op": "not_in", "value": ["gate_change"]},
            {"field": "title", "op": "contains", "value": "Alert"},
        ],
    ]
    severity_rank = {"low": 1, "medium": 2, "high": 3, "critical": 4}
    for conditions in cases:
        aliases, q = alert_filter(conditions)
        from_sql = set(Alert.objects.filter(team=team).alias(**aliases).filter(q).values_list("pk", flat=True))
        expected = set()
        for alert in alerts:
            context = {"type": alert.type, "title": alert.title, "metadata": alert.metadata, "severity": alert.severity}
            if any(c.get("field") == "severity" for c in conditions):
                # severities compare on their rank in SQL; mirror that here
                leaf = conditions[0]
                if compare(leaf["op"], severity_rank[alert.severity], severity_rank[leaf["value"]]):
                    expected.add(alert.pk)
                continue
            if all(condition_matches(c, context) for c in conditions):
                expected.add(alert.pk)
        assert from_sql == expected, conditions


def test_cron_runs_in_the_team_time_zone_across_daylight_saving():
    new_york = ZoneInfo("America/New_York")
    spec = cron_parse("0 8 * * mon-fri")
    friday = datetime(2026, 3, 6, 14, 0, tzinfo=UTC)  # 09:00 EST, after Friday's run
    # Monday 2026-03-09 08:00 is EDT (UTC-4) after the 2026-03-08 change.
    assert cron_next(spec, friday, new_york) == datetime(2026, 3, 9, 12, 0, tzinfo=UTC)
    assert cron_next(spec, datetime(2026, 3, 2, 12, 59, tzinfo=UTC), new_york) == datetime(
        2026, 3, 2, 13, 0, tzinfo=UTC
    )
    assert schedule_next({"every_minutes": 90}, friday, new_york) == datetime(2026, 3, 6, 15, 30, tzinfo=UTC)
    # Day of month OR day of week when both are restricted (Vixie cron).
    either = cron_parse("0 0 13 * fri")
    assert cron_next(either, datetime(2026, 2, 1, tzinfo=UTC), ZoneInfo("UTC")) == datetime(2026, 2, 6, tzinfo=UTC)
    with pytest.raises(CronError):
        cron_parse("0 0 31 2 *x")
