"""Alertmanager webhook semantics, with the payloads Alertmanager 0.25 really sent."""

from __future__ import annotations

import json

import pytest
from django.db import connection
from rest_framework.test import APIClient

from accounts.tests.factories import TeamFactory
from alerts.models import Alert, AlertEvent, IntegrationKind
from alerts.services import alert_resolve
from alerts.services import integrations as integration_services
from alerts.services.integrations import integration_revoke
from alerts.tests.ingest_helpers import held_open_elsewhere, new_integration, sample

pytestmark = pytest.mark.django_db

FIRING = "alertmanager-webhook.json"
RESOLVED = "alertmanager-webhook-resolved.json"
MIXED = "alertmanager-webhook-mixed.json"


@pytest.fixture
def am():
    return new_integration(kind=IntegrationKind.ALERTMANAGER)


def post(token, body):
    body = sample(body) if isinstance(body, str) else body
    return APIClient().post(
        f"/api/v1/integrations/{token}/alertmanager", data=json.dumps(body), content_type="application/json"
    )


def ok(response):
    assert response.status_code == 200, response.content
    body = response.json()
    assert body.pop("status") == "success"
    return body


def by_fingerprint():
    return {alert.metadata["fingerprint"]: alert for alert in Alert.objects.all()}


def test_firing_group_raises_one_alert_per_listed_alert(am):
    integration, token = am
    assert ok(post(token, FIRING)) == {"raised": 3, "updated": 0, "unchanged": 0, "resolved": 0, "ignored": 0}
    alerts = by_fingerprint()
    assert set(alerts) == {"aa4d3e395803aa15", "53365508fb7eafc7", "67a80786dab2a048"}
    first = alerts["aa4d3e395803aa15"]
    assert first.dedup_key == f"am:{integration.pk}:aa4d3e395803aa15"
    assert (first.source, first.type, first.severity) == ("alertmanager", "GuardianSyntheticAlert", "critical")
    assert first.title == "GuardianSyntheticAlert (flight=AG101, instance=synthetic-1, run=1795381503, station=LHR)"
    assert first.message == (
        "Synthetic disruption 1: flight AG101 delayed\n\nInjected by a test client (run 1795381503, alert 1 of 3)"
    )
    assert first.resource == "AG101"
    assert first.metadata["labels"]["station"] == "LHR"
    assert first.metadata["alertmanager"]["groupKey"] == '{}:{alertname="GuardianSyntheticAlert"}'
    assert first.last_occurred_at.isoformat() == "2026-11-22T21:05:03+00:00"  # startsAt, not endsAt (0001)
    assert {a.severity for a in alerts.values()} == {"critical", "medium", "low"}  # critical, warning, info


def test_the_same_group_again_is_deduplicated_and_changes_nothing(am):
    _, token = am
    ok(post(token, FIRING))
    assert ok(post(token, FIRING)) == {"raised": 0, "updated": 0, "unchanged": 3, "resolved": 0, "ignored": 0}
    assert Alert.objects.count() == 3
    assert AlertEvent.objects.count() == 3  # no timeline noise from repeats


def test_a_changed_alert_folds_into_the_open_one(am):
    _, token = am
    ok(post(token, FIRING))
    escalated = sample(FIRING)
    escalated["alerts"][2]["labels"]["severity"] = "critical"
    escalated["alerts"][2]["annotations"]["summary"] = "Now it is bad"
    assert ok(post(token, escalated))["updated"] == 1
    alert = by_fingerprint()["67a80786dab2a048"]
    assert (alert.severity, alert.occurrences) == ("critical", 2)
    assert alert.message.startswith("Now it is bad")


def test_resolved_group_resolves_each_listed_alert(am):
    _, token = am
    ok(post(token, FIRING))
    assert ok(post(token, RESOLVED))["resolved"] == 3
    assert set(Alert.objects.values_list("status", flat=True)) == {"resolved"}
    note = AlertEvent.objects.filter(kind="resolved").first().message
    assert note == "Resolved in Alertmanager at 2026-11-22T21:05:06+00:00."
    assert ok(post(token, RESOLVED)) == {"raised": 0, "updated": 0, "unchanged": 0, "resolved": 0, "ignored": 3}


def test_mixed_group_applies_each_alert_its_own_status(am):
    _, token = am
    mixed = sample(MIXED)
    # Open the two alerts that the mixed payload reports as resolved.
    opening = {
        **mixed,
        "alerts": [{**a, "status": "firing", "endsAt": "0001-01-01T00:00:00Z"} for a in mixed["alerts"][:2]],
    }
    ok(post(token, opening))
    assert ok(post(token, MIXED)) == {"raised": 2, "updated": 0, "unchanged": 0, "resolved": 2, "ignored": 0}
    alerts = by_fingerprint()
    assert alerts["85a58cfba69d3652"].status == "resolved"
    assert alerts["480e56edc40204b6"].status == "resolved"
    assert alerts["5f915aa870987357"].status == "triggered"
    assert (alerts["7230253f661b09ee"].status, alerts["7230253f661b09ee"].severity) == ("triggered", "high")  # error


def test_absent_alerts_are_never_resolved(am):
    _, token = am
    ok(post(token, FIRING))
    only_one = sample(RESOLVED)
    only_one["alerts"] = only_one["alerts"][:1]  # group says "resolved" but lists one alert
    only_one["truncatedAlerts"] = 2
    assert ok(post(token, only_one))["resolved"] == 1
    assert Alert.objects.filter(status="resolved").count() == 1
    untruncated = sample(FIRING)
    untruncated["alerts"] = untruncated["alerts"][1:2]
    ok(post(token, untruncated))
    assert Alert.objects.filter(status="triggered").count() == 2  # the third is absent, still open


def test_same_fingerprint_after_resolve_is_a_new_episode(am):
    _, token = am
    ok(post(token, FIRING))
    ok(post(token, RESOLVED))
    assert ok(post(token, FIRING))["raised"] == 3
    assert Alert.objects.count() == 6
    # An agent resolving by hand also ends the episode.
    alert_resolve(alert_id=Alert.objects.filter(status="triggered").first().pk, by=None)
    assert ok(post(token, FIRING))["raised"] == 1


def test_fingerprints_are_per_integration():
    team = TeamFactory()
    _, one = new_integration(team, kind=IntegrationKind.ALERTMANAGER, name="one")
    _, two = new_integration(team, kind=IntegrationKind.ALERTMANAGER, name="two")
    ok(post(one, FIRING))
    ok(post(two, FIRING))
    assert Alert.objects.filter(team=team).count() == 6
    ok(post(two, RESOLVED))
    assert Alert.objects.filter(team=team, status="triggered").count() == 3


def test_invalid_payloads_are_400_naming_each_alert(am):
    _, token = am
    bad = sample(FIRING)
    bad["alerts"][0]["status"] = "burning"
    bad["alerts"][2]["labels"] = {}
    bad["alerts"][2]["startsAt"] = "yesterday"
    response = post(token, bad)
    assert response.status_code == 400
    details = response.json()["details"]["alerts"]
    assert [item["index"] for item in details] == [0, 2]
    assert set(details[1]["errors"]) == {"labels", "startsAt"}
    assert not Alert.objects.exists()
    assert post(token, {"alerts": "none"}).status_code == 400
    assert post(token, {**sample(FIRING), "truncatedAlerts": -1}).status_code == 400


def test_unknown_fields_are_ignored_and_missing_fingerprint_is_derived(am):
    _, token = am
    newer = sample(FIRING)
    newer["someFutureField"] = {"x": 1}
    for alert in newer["alerts"]:
        alert.pop("fingerprint")
        alert["silenceURL"] = "http://example.invalid"
    assert ok(post(token, newer))["raised"] == 3
    assert ok(post(token, newer))["unchanged"] == 3


def test_unknown_and_disabled_tokens(am):
    integration, token = am
    assert post("nope", FIRING).status_code == 404
    integration_revoke(integration_id=integration.pk, by=None)
    assert post(token, FIRING).status_code == 401


def test_overload_guard_pushes_back_with_503_never_429(am):
    integration, token = am
    integration.config = {"rate_limit_per_minute": 1}
    integration.save(update_fields=["config"])
    ok(post(token, FIRING))
    response = post(token, RESOLVED)
    assert response.status_code == 503
    assert 1 <= int(response["Retry-After"]) <= 60
    assert response.json()["code"] == "unavailable"
    assert Alert.objects.filter(status="triggered").count() == 3


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)  # the flush drops seeded rules: tests seed what they need
def test_a_locked_database_pushes_back_with_503(monkeypatch):
    """A real row lock held by another transaction: the webhook gives up after the lock
    timeout and answers 503 + Retry-After, so Alertmanager retries; nothing is half-written."""
    integration, token = new_integration(kind=IntegrationKind.ALERTMANAGER)
    ok(post(token, FIRING))
    monkeypatch.setattr(integration_services, "INGEST_LOCK_TIMEOUT_MS", 200)
    with held_open_elsewhere(lambda: list(Alert.objects.select_for_update().filter(integration=integration))):
        response = post(token, RESOLVED)
    assert response.status_code == 503
    assert response["Retry-After"] == "5"
    assert Alert.objects.filter(status="triggered").count() == 3
    assert ok(post(token, RESOLVED))["resolved"] == 3  # the retry succeeds
    assert connection.vendor == "postgresql"
