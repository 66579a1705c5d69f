"""Built-in checks other than SLA: workload, unassigned, payment failures."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from accounts.models import TeamRole
from accounts.tests.factories import MembershipFactory, TeamFactory, member
from alerts.models import Alert, AlertStatus
from alerts.ops.checks import unassigned_check, workload_check
from alerts.ops.models import TeamOpsSettings
from alerts.ops.services import ops_event_received
from alerts.services import alert_acknowledge, alert_assign, alert_resolve
from alerts.tests.ops_factories import frozen, raise_at
from audit.models import AuditEntry

pytestmark = pytest.mark.django_db

T0 = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)


@pytest.fixture
def eager_celery():
    from alertguardian.celery import app

    app.conf.task_always_eager = True
    app.conf.task_eager_propagates = True
    yield
    app.conf.task_always_eager = False
    app.conf.task_eager_propagates = False


def assigned_alerts(team, agent, count, severity="medium"):
    alerts = []
    for n in range(count):
        alert = raise_at(T0, team=team, type="flight_delayed", severity=severity, title=f"delay {n}")
        alert_assign(alert_id=alert.pk, by=None, assignee=agent)
        alerts.append(alert)
    return alerts


def test_overloaded_agent_alerts_the_team_admins_once_and_clears_when_load_drops():
    team = TeamFactory()
    TeamOpsSettings.objects.create(team=team, workload_threshold=2)
    owner = member(team, team_role=TeamRole.OWNER)
    admin = member(team, team_role=TeamRole.ADMIN)
    busy, calm = member(team), member(team)
    work = assigned_alerts(team, busy, 3)
    assigned_alerts(team, calm, 2)  # at the threshold, not above

    with frozen(T0 + timedelta(minutes=5)):
        assert workload_check() == {"fired": 1, "cleared": 0}
    overloaded = Alert.objects.get(type="agent_overloaded")
    assert overloaded.metadata["agent_id"] == busy.pk
    assert overloaded.metadata["audience"] == "team_admins"
    assert sorted(overloaded.metadata["team_admin_ids"]) == sorted([owner.pk, admin.pk])
    assert overloaded.metadata["open_assigned"] == 3
    assert overloaded.assignee is None
    assert overloaded.dedup_key == f"workload:{busy.pk}"

    with frozen(T0 + timedelta(minutes=10)):
        assert workload_check() == {"fired": 0, "cleared": 0}
    overloaded.refresh_from_db()
    assert overloaded.occurrences == 1

    alert_resolve(alert_id=work[0].pk, by=busy)
    with frozen(T0 + timedelta(minutes=15)):
        assert workload_check() == {"fired": 0, "cleared": 1}
    overloaded.refresh_from_db()
    assert overloaded.status == AlertStatus.RESOLVED


def test_workload_threshold_is_per_team_and_defaults_to_ten():
    strict, default = TeamFactory(), TeamFactory()
    TeamOpsSettings.objects.create(team=strict, workload_threshold=1)
    agent = member(strict)
    MembershipFactory(team=default, user=agent, role=TeamRole.AGENT)
    assigned_alerts(strict, agent, 2)
    assigned_alerts(default, agent, 10)
    workload_check()
    assert list(Alert.objects.filter(type="agent_overloaded").values_list("team_id", flat=True)) == [strict.pk]
    assigned_alerts(default, agent, 1)
    workload_check()
    assert Alert.objects.filter(type="agent_overloaded", team=default).count() == 1


def test_high_alert_left_unassigned_raises_once_and_clears_when_taken():
    team = TeamFactory()
    TeamOpsSettings.objects.create(team=team, unassigned_minutes=15)
    agent = member(team)
    high = raise_at(T0, team=team, type="flight_delayed", severity="high", title="UA1 delayed")
    raise_at(T0, team=team, type="flight_delayed", severity="medium", title="medium: not watched")
    acked = raise_at(T0, team=team, type="flight_cancelled", severity="critical", title="taken")
    alert_acknowledge(alert_id=acked.pk, by=agent)

    with frozen(T0 + timedelta(minutes=14)):
        assert unassigned_check()["fired"] == 0
    with frozen(T0 + timedelta(minutes=16)):
        assert unassigned_check()["fired"] == 1
    unassigned = Alert.objects.get(type="alert_unassigned")
    assert unassigned.metadata["alert_id"] == high.pk
    assert unassigned.severity == "high"
    assert unassigned.dedup_key == f"sla:{high.pk}:assign:breached"
    with frozen(T0 + timedelta(minutes=17)):
        assert unassigned_check()["fired"] == 0

    alert_assign(alert_id=high.pk, by=agent, assignee=agent)
    with frozen(T0 + timedelta(minutes=18)):
        assert unassigned_check() == {"fired": 0, "cleared": 1}
    unassigned.refresh_from_db()
    assert unassigned.status == AlertStatus.RESOLVED
    # Unassigning again does not raise a second alert for the same original.
    alert_assign(alert_id=high.pk, by=agent, assignee=None)
    with frozen(T0 + timedelta(minutes=30)):
        assert unassigned_check()["fired"] == 0


def test_unassigned_minutes_default_applies_to_teams_without_settings():
    team = TeamFactory()
    raise_at(T0, team=team, type="flight_cancelled", severity="critical", title="AA1 cancelled")
    with frozen(T0 + timedelta(minutes=14)):
        assert unassigned_check()["fired"] == 0
    with frozen(T0 + timedelta(minutes=16)):
        assert unassigned_check()["fired"] == 1


def test_payment_failed_event_raises_one_alert_per_payment_after_commit(
    eager_celery, django_capture_on_commit_callbacks
):
    team = TeamFactory()
    event = {
        "event_id": "evt-1",
        "payment_id": "pay_42",
        "booking_reference": "ABC123",
        "amount": 1250.5,
        "currency": "EUR",
        "reason": "card declined",
    }
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        match = ops_event_received(team=team, event_type="payment_failed", data=event, source="generic")
    assert match.payment_failed
    assert not Alert.objects.exists()  # nothing is raised inside the ingestion transaction
    with django_capture_on_commit_callbacks(execute=True):
        for callback in callbacks:
            callback()
    alert = Alert.objects.get()
    assert alert.type == "payment_failed"
    assert alert.severity == "high"
    assert alert.source == "generic"
    assert alert.resource == "booking:ABC123"
    assert alert.title == "Payment failed for booking ABC123 (1250.5 EUR): card declined"
    assert alert.dedup_key == "payment_failed:pay_42"
    assert AuditEntry.objects.filter(action="alert.raised", target_id=str(alert.pk)).exists()

    with django_capture_on_commit_callbacks(execute=True):
        ops_event_received(team=team, event_type="payment_failed", data=event, source="generic")
    alert.refresh_from_db()
    assert Alert.objects.count() == 1
    assert alert.occurrences == 2


def test_payment_failed_severity_is_a_team_setting(eager_celery, django_capture_on_commit_callbacks):
    team = TeamFactory()
    TeamOpsSettings.objects.create(team=team, payment_failed_severity="critical")
    with django_capture_on_commit_callbacks(execute=True):
        ops_event_received(team=team, event_type="payment_failed", data={"booking_id": 7}, source="generic")
    assert Alert.objects.get().severity == "critical"


def test_other_event_types_raise_nothing(eager_celery, django_capture_on_commit_callbacks):
    team = TeamFactory()
    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        match = ops_event_received(
            team=team, event_type="payment_succeeded", data={"payment_id": "p"}, source="generic"
        )
    assert not match.matched
    assert callbacks == []
    assert not Alert.objects.exists()
