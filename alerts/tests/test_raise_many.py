"""alerts_raise_many: alert_raise for many alerts at once, with the same outcome."""

from __future__ import annotations

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from accounts.tests.factories import TeamFactory
from alerts import signals
from alerts.models import Alert, AlertEvent, AlertSource
from alerts.services import alert_raise
from alerts.services.lifecycle import NewAlert, alerts_raise_many
from alerts.tests.helpers import published_events
from alerts.tests.ingest_helpers import held_open_elsewhere, when_a_connection_waits_on_a_lock
from audit.models import AuditEntry

pytestmark = pytest.mark.django_db


def spec(key: str, severity: str = "high", title: str | None = None) -> NewAlert:
    return NewAlert(type="flight_cancelled", severity=severity, title=title or f"{key} cancelled", dedup_key=key)


def raise_many(team, *specs: NewAlert):
    return alerts_raise_many(team=team, source=AlertSource.FLIGHT_EVENTS, alerts=list(specs))


def test_new_alerts_get_their_timeline_audit_live_event_and_one_signal(django_capture_on_commit_callbacks):
    team = TeamFactory()
    one, together = [], []
    signals.alert_raised.connect(lambda sender, signal, **kw: one.append(kw), weak=False, dispatch_uid="one")
    signals.alerts_raised.connect(lambda sender, signal, **kw: together.append(kw), weak=False, dispatch_uid="many")
    try:
        with published_events() as live, django_capture_on_commit_callbacks(execute=True):
            results = raise_many(team, spec("a"), spec("b", severity="critical"))
    finally:
        signals.alert_raised.disconnect(dispatch_uid="one")
        signals.alerts_raised.disconnect(dispatch_uid="many")
    assert [result.created for result in results] == [True, True]
    alerts = [result.alert for result in results]
    assert [(a.dedup_key, a.severity, a.source, a.team_id) for a in Alert.objects.order_by("id")] == [
        ("a", "high", "flight_events", team.pk),
        ("b", "critical", "flight_events", team.pk),
    ]
    for alert in alerts:
        event = AlertEvent.objects.get(alert=alert)
        assert (event.kind, event.message, event.data) == (
            "triggered",
            alert.title,
            {"severity": alert.severity, "source": "flight_events"},
        )
        entry = AuditEntry.objects.get(action="alert.raised", target_id=str(alert.pk))
        assert entry.data == {
            "type": "flight_cancelled",
            "severity": alert.severity,
            "dedup_key": alert.dedup_key,
            "source": "flight_events",
        }
    created = [event["alert"]["id"] for _, event in live if event["type"] == "alert.created"]
    assert sorted(set(created)) == sorted(alert.pk for alert in alerts)
    assert together == [{"alert_ids": [alert.pk for alert in alerts]}]  # one signal for the alerts raised together
    assert one == []


def test_new_alerts_are_written_with_a_constant_number_of_queries():
    team = TeamFactory()
    raise_many(team, spec("warm"))
    with CaptureQueriesContext(connection) as two:
        raise_many(team, *(spec(f"two-{n}") for n in range(2)))
    with CaptureQueriesContext(connection) as twenty:
        raise_many(team, *(spec(f"twenty-{n}") for n in range(20)))
    assert len(twenty) == len(two)
    assert Alert.objects.count() == 23


def test_an_open_alert_and_a_repeat_in_the_list_fold_as_alert_raise_would():
    team = TeamFactory()
    existing = alert_raise(team=team, type="flight_cancelled", severity="medium", title="old", dedup_key="open").alert
    results = raise_many(team, spec("open", severity="critical"), spec("new"), spec("new", severity="critical"))
    assert [result.created for result in results] == [False, True, False]
    assert results[0].alert.pk == existing.pk and results[0].severity_raised
    assert results[2].alert.pk == results[1].alert.pk and results[2].severity_raised
    existing.refresh_from_db()
    assert (existing.severity, existing.occurrences) == ("critical", 2)
    new = Alert.objects.get(dedup_key="new")
    assert (new.severity, new.occurrences) == ("critical", 2)
    assert Alert.objects.count() == 2


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_an_alert_created_meanwhile_is_folded_into_not_duplicated():
    """Another transaction opens the same dedup key after our lock query saw none: our
    INSERT waits on the unique index, fails when it commits, and every alert goes through
    alert_raise, which folds into the winner."""
    team = TeamFactory()

    def theirs() -> None:
        alert_raise(team=team, type="flight_cancelled", severity="medium", title="theirs", dedup_key="race")

    with held_open_elsewhere(theirs) as release:
        # Commit theirs once our INSERT waits on the unique index.
        watcher = when_a_connection_waits_on_a_lock(release.set)
        results = raise_many(team, spec("race", severity="critical"), spec("solo"))
        watcher.join(timeout=30)
    assert [result.created for result in results] == [False, True]
    race = Alert.objects.get(dedup_key="race")
    assert (race.title, race.severity, race.occurrences) == ("race cancelled", "critical", 2)
    assert Alert.objects.filter(dedup_key="solo").count() == 1
    assert AuditEntry.objects.filter(action="alert.raised").count() == 2  # theirs and "solo": none lost, none doubled
