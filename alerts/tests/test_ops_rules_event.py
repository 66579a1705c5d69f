"""Event rules: matched in-process on each incoming event, raised after commit by a task."""

from __future__ import annotations

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from accounts.models import TeamRole
from accounts.tests.factories import TeamFactory, member
from alerts.models import Alert
from alerts.ops.models import AlertRule
from alerts.ops.services import alert_rule_create, alert_rule_update, ops_event_received, ops_events_received

pytestmark = pytest.mark.django_db

BIG_PAYMENT = {
    "event_types": ["payment_failed"],
    "conditions": [
        {"field": "amount", "op": "gte", "value": 1000},
        {
            "any": [
                {"field": "booking.channel", "op": "equals", "value": "agency"},
                {"field": "vip", "op": "equals", "value": True},
            ]
        },
    ],
    "alert": {
        "type": "big_payment_failed",
        "severity": "critical",
        "title": "Large payment failed: {amount} {currency} for {booking.reference} {__class__}",
        "dedup_key": "big-payment:{booking.reference}",
        "resource": "booking:{booking.reference}",
        "message": "Reason: {reason}",
    },
}


@pytest.fixture
def eager_celery():
    from alertguardian.celery import app

    app.conf.task_always_eager = True
    app.conf.task_eager_propagates = True
    yield
    app.conf.task_always_eager = False
    app.conf.task_eager_propagates = False


@pytest.fixture
def team():
    return TeamFactory()


@pytest.fixture
def rule(team):
    return alert_rule_create(
        team=team, by=member(team, team_role=TeamRole.ADMIN), name="big payments", kind="event", definition=BIG_PAYMENT
    )


def payment(amount, channel="agency", **extra):
    return {
        "event_id": f"e-{amount}",
        "amount": amount,
        "currency": "EUR",
        "booking": {"reference": "BK1", "channel": channel},
        "reason": "insufficient funds",
        **extra,
    }


def test_matching_event_raises_the_configured_alert(team, rule, eager_celery, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        match = ops_event_received(team=team, event_type="payment_failed", data=payment(1500), source="generic")
    assert match.rule_ids == [rule.pk]
    alert = Alert.objects.get(type="big_payment_failed")
    assert alert.severity == "critical"
    assert alert.source == "rule"
    # Placeholders read event fields only; "{__class__}" is just a missing key.
    assert alert.title == "Large payment failed: 1500 EUR for BK1 "
    assert alert.message == "Reason: insufficient funds"
    assert alert.dedup_key == "big-payment:BK1"
    assert alert.resource == "booking:BK1"
    assert alert.metadata["rule_id"] == rule.pk
    rule.refresh_from_db()
    assert rule.fire_count == 1
    assert rule.last_fired_at is not None
    # The built-in payment_failed rule fires too.
    assert Alert.objects.filter(type="payment_failed").count() == 1


@pytest.mark.parametrize(
    ("event_type", "data"),
    [
        ("payment_failed", payment(999)),
        ("payment_failed", payment(5000, channel="web")),
        ("refund_failed", payment(5000)),
    ],
)
def test_non_matching_events_raise_nothing_from_the_rule(
    team, rule, event_type, data, eager_celery, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        match = ops_event_received(team=team, event_type=event_type, data=data, source="generic")
    assert match.rule_ids == []
    assert not Alert.objects.filter(type="big_payment_failed").exists()


def test_any_group_and_boolean_fields(team, rule, eager_celery, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        ops_event_received(
            team=team, event_type="payment_failed", data=payment(2000, channel="web", vip=True), source="generic"
        )
    assert Alert.objects.filter(type="big_payment_failed").count() == 1


def test_repeated_event_folds_into_the_open_alert(team, rule, eager_celery, django_capture_on_commit_callbacks):
    for _ in range(2):
        with django_capture_on_commit_callbacks(execute=True):
            ops_event_received(team=team, event_type="payment_failed", data=payment(1500), source="generic")
    assert Alert.objects.get(type="big_payment_failed").occurrences == 2


def test_rules_of_other_teams_and_disabled_rules_do_not_match(
    team, rule, eager_celery, django_capture_on_commit_callbacks
):
    other = TeamFactory()
    with django_capture_on_commit_callbacks(execute=True):
        assert (
            ops_event_received(team=other, event_type="payment_failed", data=payment(1500), source="generic").rule_ids
            == []
        )
    alert_rule_update(rule_id=rule.pk, by=None, enabled=False)
    with django_capture_on_commit_callbacks(execute=True):
        assert (
            ops_event_received(team=team, event_type="payment_failed", data=payment(1500), source="generic").rule_ids
            == []
        )
    assert not Alert.objects.filter(type="big_payment_failed").exists()


def test_rule_disabled_between_match_and_task_does_not_fire(
    team, rule, eager_celery, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        ops_event_received(team=team, event_type="payment_failed", data=payment(1500), source="generic")
    AlertRule.objects.filter(pk=rule.pk).update(enabled=False)
    with django_capture_on_commit_callbacks(execute=True):
        for callback in callbacks:
            callback()
    assert not Alert.objects.filter(type="big_payment_failed").exists()


def test_flight_event_rule_with_default_dedup_on_event_id(team, eager_celery, django_capture_on_commit_callbacks):
    alert_rule_create(
        team=team,
        by=None,
        name="long delays from EWR",
        kind="event",
        definition={
            "event_types": ["delayed"],
            "sources": ["flight_events"],
            "conditions": [
                {"field": "origin", "op": "equals", "value": "EWR"},
                {"field": "delay_minutes", "op": "gt", "value": 240},
            ],
            "alert": {
                "type": "ewr_long_delay",
                "severity": "high",
                "title": "{flight_number} delayed {delay_minutes} min",
            },
        },
    )
    events = [
        ("delayed", {"event_id": "f1", "flight_number": "UA1545", "origin": "EWR", "delay_minutes": 300}),
        (
            "delayed",
            {"event_id": "f1", "flight_number": "UA1545", "origin": "EWR", "delay_minutes": 300},
        ),  # redelivered
        ("delayed", {"event_id": "f2", "flight_number": "UA9", "origin": "JFK", "delay_minutes": 300}),
        ("delayed", {"event_id": "f3", "flight_number": "UA7", "origin": "EWR", "delay_minutes": 60}),
    ]
    with CaptureQueriesContext(connection) as queries, django_capture_on_commit_callbacks(execute=False) as callbacks:
        matches = ops_events_received(team_id=team.pk, events=events, source="flight_events")
    assert len(queries) == 1  # one query for the whole batch; matching itself is in memory
    assert [bool(m.rule_ids) for m in matches] == [True, True, False, False]
    with django_capture_on_commit_callbacks(execute=True):
        for callback in callbacks:
            callback()
    alert = Alert.objects.get(type="ewr_long_delay")
    assert alert.title == "UA1545 delayed 300 min"
    assert alert.dedup_key.endswith(":f1")
    assert alert.occurrences == 2


def test_events_with_datetimes_are_made_json_safe(team, eager_celery, django_capture_on_commit_callbacks):
    from datetime import UTC, datetime

    alert_rule_create(
        team=team,
        by=None,
        name="late",
        kind="event",
        definition={
            "conditions": [{"field": "scheduled_departure", "op": "lt", "value": "2013-02-08T12:00"}],
            "alert": {"type": "early_event", "severity": "low", "title": "dep {scheduled_departure}"},
        },
    )
    with django_capture_on_commit_callbacks(execute=True):
        ops_event_received(
            team=team,
            event_type="cancelled",
            data={"scheduled_departure": datetime(2013, 2, 8, 6, tzinfo=UTC)},
            source="flight_events",
        )
    assert Alert.objects.get(type="early_event").title == "dep 2013-02-08T06:00:00+00:00"


def test_a_rule_stored_broken_never_fails_ingestion(team, rule, eager_celery, django_capture_on_commit_callbacks):
    AlertRule.objects.create(team=team, name="broken", kind="event", definition={"conditions": [{"field": "amount"}]})
    with django_capture_on_commit_callbacks(execute=True):
        match = ops_event_received(team=team, event_type="payment_failed", data=payment(1500), source="generic")
    assert match.rule_ids == [rule.pk]
    assert Alert.objects.filter(type="big_payment_failed").count() == 1


def test_flight_events_posted_to_the_api_pass_through_the_event_rules(
    team, eager_celery, django_capture_on_commit_callbacks
):
    from rest_framework.test import APIClient

    from alerts.tests.ingest_helpers import ensure_default_rules, flight_event, new_integration

    ensure_default_rules()
    alert_rule_create(
        team=team,
        by=None,
        name="diversions at EWR",
        kind="event",
        definition={
            "event_types": ["diverted"],
            "sources": ["flight_events"],
            "conditions": [{"field": "origin", "op": "equals", "value": "EWR"}],
            "alert": {"type": "ewr_diversion", "severity": "high", "title": "{flight_number} diverted"},
        },
    )
    _, token = new_integration(team)
    url = f"/api/v1/integrations/{token}/flight-events"
    diverted = flight_event("d1", "diverted", diverted_to="AUS")
    with django_capture_on_commit_callbacks(execute=True):
        first = APIClient().post(url, diverted, format="json")
        again = APIClient().post(url, diverted, format="json")  # a redelivery is not a new event
    assert first.status_code in (200, 202), first.json()
    assert again.status_code in (200, 202)
    alert = Alert.objects.get(type="ewr_diversion")
    assert alert.title == "UA1545 diverted" and alert.occurrences == 1
