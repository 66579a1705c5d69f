"""Time rules: one dispatcher finds due rules (next_run_at) and runs each once."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from accounts.tests.factories import TeamFactory
from alerts.models import Alert
from alerts.ops.models import AlertRule, DailySummary, RuleFiring
from alerts.ops.rules import time_rules_dispatch
from alerts.ops.services import alert_rule_create, alert_rule_update
from alerts.tests.ops_factories import frozen

pytestmark = pytest.mark.django_db

MONDAY_0800_PARIS = datetime(2026, 3, 2, 7, 0, tzinfo=UTC)

CHECK = {
    "schedule": {"cron": "30 9 * * *"},
    "action": "alert",
    "alert": {"type": "daily_check", "severity": "low", "title": "Weather briefing {date} {time} for {team}"},
}


def dispatch(at: datetime) -> int:
    with frozen(at):
        return time_rules_dispatch()


def make(team, definition, at=MONDAY_0800_PARIS, name="rule"):
    with frozen(at):
        return alert_rule_create(team=team, by=None, name=name, kind="time", definition=definition)


def test_cron_rule_runs_once_at_local_time():
    team = TeamFactory(name="Desk", timezone="Europe/Paris")
    rule = make(team, CHECK)
    assert rule.next_run_at == datetime(2026, 3, 2, 8, 30, tzinfo=UTC)  # 09:30 CET

    assert dispatch(datetime(2026, 3, 2, 8, 29, tzinfo=UTC)) == 0
    assert dispatch(datetime(2026, 3, 2, 8, 31, tzinfo=UTC)) == 1
    assert dispatch(datetime(2026, 3, 2, 8, 32, tzinfo=UTC)) == 0
    alert = Alert.objects.get(type="daily_check")
    assert alert.title == "Weather briefing 2026-03-02 09:30 for Desk"
    assert alert.dedup_key == f"rule:{rule.pk}:2026-03-02"
    rule.refresh_from_db()
    assert rule.next_run_at == datetime(2026, 3, 3, 8, 30, tzinfo=UTC)
    assert rule.last_run_at == datetime(2026, 3, 2, 8, 31, tzinfo=UTC)
    assert RuleFiring.objects.filter(rule=rule).count() == 1


def test_runs_missed_while_the_scheduler_was_down_run_once():
    team = TeamFactory(timezone="Europe/Paris")
    rule = make(team, CHECK)
    assert dispatch(datetime(2026, 3, 5, 12, 0, tzinfo=UTC)) == 1
    assert dispatch(datetime(2026, 3, 5, 12, 1, tzinfo=UTC)) == 0
    rule.refresh_from_db()
    assert rule.next_run_at == datetime(2026, 3, 6, 8, 30, tzinfo=UTC)
    assert Alert.objects.filter(type="daily_check").count() == 1


def test_interval_summary_rule_stores_a_summary_of_its_period():
    team = TeamFactory(timezone="UTC")
    rule = make(team, {"schedule": {"every_minutes": 60}, "action": "summary", "period_hours": 2})
    assert rule.next_run_at == MONDAY_0800_PARIS + timedelta(hours=1)
    assert dispatch(MONDAY_0800_PARIS + timedelta(minutes=61)) == 1
    summary = DailySummary.objects.get()
    assert summary.kind == "rule"
    assert summary.rule == rule
    assert summary.period_end - summary.period_start == timedelta(hours=2)
    rule.refresh_from_db()
    assert rule.next_run_at == MONDAY_0800_PARIS + timedelta(minutes=121)
    assert rule.fire_count == 1


def test_disabled_rule_has_no_next_run_and_is_rescheduled_when_enabled():
    team = TeamFactory(timezone="Europe/Paris")
    rule = make(team, CHECK)
    with frozen(MONDAY_0800_PARIS):
        rule = alert_rule_update(rule_id=rule.pk, by=None, enabled=False)
    assert rule.next_run_at is None
    assert dispatch(datetime(2026, 3, 3, 12, 0, tzinfo=UTC)) == 0
    with frozen(datetime(2026, 3, 3, 12, 0, tzinfo=UTC)):
        rule = alert_rule_update(rule_id=rule.pk, by=None, enabled=True)
    assert rule.next_run_at == datetime(2026, 3, 4, 8, 30, tzinfo=UTC)


def test_a_broken_time_rule_records_the_error_and_waits_for_its_next_slot():
    team = TeamFactory(timezone="UTC")
    # Written around the validating service (e.g. by a data migration): no alert spec.
    rule = AlertRule.objects.create(
        team=team,
        name="broken",
        kind="time",
        definition={"schedule": {"every_minutes": 30}, "action": "alert"},
        next_run_at=MONDAY_0800_PARIS,
    )
    assert dispatch(MONDAY_0800_PARIS + timedelta(minutes=1)) == 0
    rule.refresh_from_db()
    assert rule.last_error.startswith("KeyError")
    assert rule.next_run_at == MONDAY_0800_PARIS + timedelta(minutes=31)
