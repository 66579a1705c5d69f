"""Retention: per-team days, dry run, batched removal, one audit row per real run."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from io import StringIO

import pytest
from django.core.management import call_command

from accounts.tests.factories import TeamFactory, member
from alerts.models import Alert, AlertEvent, AlertUserState
from alerts.ops.models import AlertRule, RuleFiring, SlaEvent, TeamOpsSettings
from alerts.ops.retention import RETENTION_TARGETS, RetentionTarget, retention_run, retention_target_register
from alerts.services import alert_resolve
from alerts.tests.ops_factories import frozen, raise_at
from audit.models import AuditEntry
from audit.services import audit_chain_verify

pytestmark = pytest.mark.django_db

NOW = datetime(2026, 6, 1, 3, 30, tzinfo=UTC)


def resolved(team, days_ago: float, title: str) -> Alert:
    moment = NOW - timedelta(days=days_ago)
    alert = raise_at(moment - timedelta(hours=1), team=team, type="flight_delayed", severity="high", title=title)
    with frozen(moment):
        alert_resolve(alert_id=alert.pk, by=None, note="done")
    return alert


@pytest.fixture
def data():
    default_team, short_team = TeamFactory(), TeamFactory()
    TeamOpsSettings.objects.create(team=short_team, retention_days=7)
    reader = member(default_team)
    old = resolved(default_team, 40, "old")
    AlertUserState.objects.create(alert=old, user=reader, read_at=NOW - timedelta(days=39))
    SlaEvent.objects.create(
        alert=old, team=default_team, kind="ack", stage="breached", deadline=NOW - timedelta(days=41)
    )
    kept = {
        resolved(default_team, 20, "recent"),
        raise_at(
            NOW - timedelta(days=100), team=default_team, type="flight_delayed", severity="high", title="still open"
        ),
        resolved(short_team, 5, "short recent"),
    }
    expired = raise_at(
        NOW - timedelta(days=50), team=default_team, type="notice", severity="low", title="expired",
        expires_at=NOW - timedelta(days=35),
    )  # fmt: skip
    short_old = resolved(short_team, 10, "short old")
    rule = AlertRule.objects.create(team=default_team, name="r", kind="threshold", definition={})
    RuleFiring.objects.create(
        rule=rule,
        window_start=NOW - timedelta(days=60),
        window_end=NOW - timedelta(days=60),
        created_at=NOW - timedelta(days=60),
    )
    RuleFiring.objects.create(
        rule=rule, window_start=NOW - timedelta(days=1), window_end=NOW, created_at=NOW - timedelta(days=1)
    )
    return {"gone": {old, expired, short_old}, "kept": kept}


def test_dry_run_reports_and_changes_nothing(data):
    before = (Alert.objects.count(), AlertEvent.objects.count(), AuditEntry.objects.count())
    with frozen(NOW):
        report = retention_run(dry_run=True)
    assert report.dry_run
    assert report.targets["alerts"]["alerts.Alert"] == 3
    assert report.targets["alerts"]["alerts.AlertEvent"] == AlertEvent.objects.filter(alert__in=data["gone"]).count()
    assert report.targets["alerts"]["alerts.AlertUserState"] == 1
    assert report.targets["alerts"]["alerts.SlaEvent"] == 1
    assert report.targets["rule_firings"] == {"alerts.RuleFiring": 1}
    assert (Alert.objects.count(), AlertEvent.objects.count(), AuditEntry.objects.count()) == before


def test_real_run_removes_due_rows_with_their_timeline_and_audits_once(data):
    gone_ids = [alert.pk for alert in data["gone"]]
    raised_audit = AuditEntry.objects.filter(action="alert.raised", target_id__in=[str(pk) for pk in gone_ids]).count()
    with frozen(NOW):
        report = retention_run()
    assert set(Alert.objects.all()) == data["kept"]
    assert not AlertEvent.objects.filter(alert_id__in=gone_ids).exists()
    assert not AlertUserState.objects.exists()
    assert not SlaEvent.objects.exists()
    assert RuleFiring.objects.count() == 1
    assert report.targets["alerts"]["alerts.Alert"] == 3

    run = AuditEntry.objects.get(action="retention.run")
    assert run.data["removed"]["alerts"]["alerts.Alert"] == 3
    assert run.actor_label == "retention"
    # The audit log is never pruned, and its chain still verifies.
    assert (
        AuditEntry.objects.filter(action="alert.raised", target_id__in=[str(pk) for pk in gone_ids]).count()
        == raised_audit
    )
    assert audit_chain_verify()[1] is None

    with frozen(NOW):
        second = retention_run()
    assert second.total == 0
    assert AuditEntry.objects.filter(action="retention.run").count() == 2


def test_batches_cover_everything(data):
    for n in range(7):
        resolved(TeamFactory(), 31, f"bulk {n}")
    original = RETENTION_TARGETS["alerts"]
    retention_target_register(
        RetentionTarget(name="alerts", candidates=original.candidates, related=original.related, batch_size=2)
    )
    try:
        with frozen(NOW):
            report = retention_run()
    finally:
        retention_target_register(original)
    assert report.targets["alerts"]["alerts.Alert"] == 10


def test_targets_registered_by_other_apps_run_too(data):
    team = TeamFactory()
    rule = AlertRule.objects.create(team=team, name="extra", kind="time", definition={})
    retention_target_register(
        RetentionTarget(name="test_rules", candidates=lambda now: AlertRule.objects.filter(pk=rule.pk))
    )
    try:
        with frozen(NOW):
            assert retention_run(dry_run=True).targets["test_rules"] == {"alerts.AlertRule": 1}
            retention_run()
    finally:
        RETENTION_TARGETS.pop("test_rules")
    assert not AlertRule.objects.filter(pk=rule.pk).exists()


def test_management_command(data):
    out = StringIO()
    with frozen(NOW):
        call_command("retention", "--dry-run", stdout=out)
    assert "alerts: would remove" in out.getvalue()
    assert "alerts.Alert 3" in out.getvalue()
    assert Alert.objects.count() == 6
    assert not AuditEntry.objects.filter(action="retention.run").exists()

    out = StringIO()
    with frozen(NOW):
        call_command("retention", "--json", stdout=out)
    report = json.loads(out.getvalue())
    assert report["dry_run"] is False
    assert report["targets"]["alerts"]["alerts.Alert"] == 3
    assert AuditEntry.objects.get(action="retention.run").actor_label == "manage.py retention"


def test_a_failing_target_is_reported_and_the_others_still_run(data):
    def explode(now):
        raise RuntimeError("protected rows")

    retention_target_register(RetentionTarget(name="broken", candidates=explode))
    try:
        with frozen(NOW):
            report = retention_run()
    finally:
        RETENTION_TARGETS.pop("broken")
    assert report.errors == {"broken": "RuntimeError: protected rows"}
    assert report.targets["alerts"]["alerts.Alert"] == 3
    assert AuditEntry.objects.get(action="retention.run").data["errors"] == {"broken": "RuntimeError: protected rows"}
