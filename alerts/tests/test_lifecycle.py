from __future__ import annotations

import pytest

from accounts.tests.factories import TeamFactory, member
from alerts import signals
from alerts.exceptions import AlertStateConflict, InvalidAssignee
from alerts.models import Alert, AlertEvent, AlertStatus
from alerts.services import (
    alert_acknowledge,
    alert_assign,
    alert_raise,
    alert_reopen,
    alert_resolve,
    alert_unacknowledge,
)
from audit.models import AuditEntry

pytestmark = pytest.mark.django_db


def raise_flight_alert(team, severity="medium", key="flight:UA1-2013-02-08-EWR:delay"):
    return alert_raise(team=team, type="flight_delayed", severity=severity, title="UA1 delayed", dedup_key=key)


def test_raise_writes_alert_timeline_and_audit_and_signals_on_commit(django_capture_on_commit_callbacks):
    team = TeamFactory()
    received = []
    signals.alert_raised.connect(lambda sender, signal, **kw: received.append(kw), weak=False, dispatch_uid="t1")
    try:
        with django_capture_on_commit_callbacks(execute=True):
            result = raise_flight_alert(team)
    finally:
        signals.alert_raised.disconnect(dispatch_uid="t1")
    assert result.created
    assert list(AlertEvent.objects.filter(alert=result.alert).values_list("kind", flat=True)) == ["triggered"]
    assert AuditEntry.objects.filter(action="alert.raised", target_id=str(result.alert.pk)).count() == 1
    assert received == [{"alert_id": result.alert.pk}]


def test_repeat_raise_folds_into_open_alert_and_only_raises_severity():
    team = TeamFactory()
    first = raise_flight_alert(team, "medium").alert
    second = raise_flight_alert(team, "critical")
    third = raise_flight_alert(team, "low")
    assert not second.created
    assert second.severity_raised
    assert not third.severity_raised
    first.refresh_from_db()
    assert Alert.objects.count() == 1
    assert first.severity == "critical"
    assert first.occurrences == 3


def test_same_key_after_resolve_opens_new_alert():
    team = TeamFactory()
    agent = member(team)
    first = raise_flight_alert(team).alert
    alert_resolve(alert_id=first.pk, by=agent, note="done")
    second = raise_flight_alert(team)
    assert second.created
    assert second.alert.pk != first.pk


def test_transitions_and_conflicts():
    team = TeamFactory()
    agent = member(team)
    alert = raise_flight_alert(team).alert
    alert_acknowledge(alert_id=alert.pk, by=agent)
    with pytest.raises(AlertStateConflict) as excinfo:
        alert_acknowledge(alert_id=alert.pk, by=agent)
    assert excinfo.value.details["status"] == AlertStatus.ACKNOWLEDGED
    alert_unacknowledge(alert_id=alert.pk, by=agent)
    alert_resolve(alert_id=alert.pk, by=agent, note="rebooked")
    with pytest.raises(AlertStateConflict):
        alert_resolve(alert_id=alert.pk, by=agent)
    reopened = alert_reopen(alert_id=alert.pk, by=agent)
    assert reopened.status == AlertStatus.TRIGGERED
    kinds = list(AlertEvent.objects.filter(alert=alert).values_list("kind", flat=True))
    assert kinds == ["triggered", "acknowledged", "unacknowledged", "resolved", "reopened"]


def test_assign_only_to_team_staff():
    team, other = TeamFactory(), TeamFactory()
    agent = member(team)
    outsider = member(other)
    alert = raise_flight_alert(team).alert
    assert alert_assign(alert_id=alert.pk, by=agent, assignee=agent).assignee_id == agent.pk
    with pytest.raises(InvalidAssignee):
        alert_assign(alert_id=alert.pk, by=agent, assignee=outsider)
