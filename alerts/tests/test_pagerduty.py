"""PagerDuty Events API v2 semantics, with the payloads Alertmanager really sends."""

from __future__ import annotations

import json

import pytest
from rest_framework.test import APIClient

from alerts.models import Alert, AlertEvent, IntegrationKind
from alerts.services import alert_acknowledge, alert_resolve
from alerts.services.integrations import integration_update
from alerts.tests.ingest_helpers import new_integration, sample

pytestmark = pytest.mark.django_db

TRIGGER = "pagerduty-v2-trigger-from-alertmanager.json"
RESOLVE = "pagerduty-v2-resolve-from-alertmanager.json"
SAMPLE_KEY = "691a0332f736f5ee7d42c8b3ff92c0abd991b35e9771b47b538c5bcc1fefc846"


@pytest.fixture
def pd():
    return new_integration(kind=IntegrationKind.PAGERDUTY)


def send(token, name_or_body, url="/v2/enqueue", **changes):
    body = sample(name_or_body) if isinstance(name_or_body, str) else name_or_body
    body = {**body, "routing_key": token, **changes}
    return APIClient().post(url, data=json.dumps(body), content_type="application/json")


def success(response, key=SAMPLE_KEY):
    assert response.status_code == 202, response.content
    assert response.json() == {"status": "success", "message": "Event processed", "dedup_key": key}


def test_alertmanager_trigger_creates_one_alert(pd):
    integration, token = pd
    success(send(token, TRIGGER))
    alert = Alert.objects.get()
    assert alert.team_id == integration.team_id
    assert alert.integration_id == integration.pk
    assert alert.source == "pagerduty"
    assert alert.severity == "high"  # Alertmanager's default "error"
    assert alert.title == "[FIRING:2] GuardianSyntheticAlert (1795381606)"
    assert alert.type == "GuardianSyntheticAlert"
    assert alert.resource == "alertmanager-127.0.0.1"
    assert alert.dedup_key == f"pd:{integration.pk}:{SAMPLE_KEY}"
    assert alert.metadata["dedup_key"] == SAMPLE_KEY
    assert alert.metadata["pagerduty"]["custom_details"]["num_firing"] == "2"
    assert alert.metadata["pagerduty"]["client"] == "Alertmanager"


def test_repeated_trigger_folds_into_the_open_alert(pd):
    _, token = pd
    success(send(token, TRIGGER))
    # Alertmanager re-sends "trigger" on a partial resolve, with a new summary.
    partial = sample(TRIGGER)
    partial["payload"] = {**partial["payload"], "summary": "[FIRING:1] GuardianSyntheticAlert (1795381606)"}
    success(send(token, partial))
    alert = Alert.objects.get()
    assert alert.occurrences == 2
    assert alert.title.startswith("[FIRING:1]")
    assert list(AlertEvent.objects.filter(alert=alert).values_list("kind", flat=True)) == ["triggered", "updated"]


def test_resolve_sample_resolves_and_the_key_then_opens_a_new_episode(pd):
    _, token = pd
    success(send(token, TRIGGER))
    success(send(token, RESOLVE))
    first = Alert.objects.get()
    assert first.status == "resolved"
    assert AlertEvent.objects.get(alert=first, kind="resolved").actor_label.startswith("integration:")
    success(send(token, TRIGGER))
    assert Alert.objects.count() == 2
    assert Alert.objects.exclude(pk=first.pk).get().status == "triggered"


def test_resolve_or_acknowledge_of_unknown_or_resolved_keys_is_dropped_with_202(pd):
    _, token = pd
    success(send(token, RESOLVE))
    success(send(token, RESOLVE, event_action="acknowledge"))
    assert not Alert.objects.exists()
    success(send(token, TRIGGER))
    success(send(token, RESOLVE))
    success(send(token, RESOLVE))  # already resolved
    success(send(token, RESOLVE, event_action="acknowledge"))
    assert Alert.objects.get().status == "resolved"


def test_acknowledge_then_triggers_fold_without_reopening(pd):
    _, token = pd
    success(send(token, TRIGGER))
    success(send(token, RESOLVE, event_action="acknowledge"))
    alert = Alert.objects.get()
    assert alert.status == "acknowledged"
    success(send(token, RESOLVE, event_action="acknowledge"))  # twice: dropped
    success(send(token, TRIGGER))
    alert.refresh_from_db()
    assert (alert.status, alert.occurrences) == ("acknowledged", 2)
    assert AlertEvent.objects.filter(alert=alert, kind="acknowledged").count() == 1


def test_trigger_without_dedup_key_gets_a_generated_one(pd):
    integration, token = pd
    body = sample(TRIGGER)
    del body["dedup_key"]
    first = send(token, body)
    second = send(token, body)
    keys = [first.json()["dedup_key"], second.json()["dedup_key"]]
    assert first.status_code == second.status_code == 202
    assert keys[0] != keys[1]
    assert len(keys[0]) == 32
    assert Alert.objects.count() == 2
    assert set(Alert.objects.values_list("dedup_key", flat=True)) == {f"pd:{integration.pk}:{k}" for k in keys}


def test_the_same_key_on_two_integrations_never_collides():
    one, token_one = new_integration(kind=IntegrationKind.PAGERDUTY)
    two, token_two = new_integration(one.team, kind=IntegrationKind.PAGERDUTY, name="second")
    success(send(token_one, TRIGGER))
    success(send(token_two, TRIGGER))
    assert Alert.objects.filter(team=one.team).count() == 2
    success(send(token_two, RESOLVE))
    assert Alert.objects.get(integration=one).status == "triggered"
    assert Alert.objects.get(integration=two).status == "resolved"


@pytest.mark.parametrize(
    ("pd_severity", "severity"), [("info", "low"), ("warning", "medium"), ("error", "high"), ("critical", "critical")]
)
def test_severity_mapping(pd, pd_severity, severity):
    _, token = pd
    body = sample(TRIGGER)
    body["payload"] = {**body["payload"], "severity": pd_severity}
    success(send(token, body))
    assert Alert.objects.get().severity == severity


def test_timestamps_with_offsets_without_colon(pd):
    _, token = pd
    body = sample(TRIGGER)
    body["payload"] = {**body["payload"], "timestamp": "2026-11-22T21:04:09.123+0000"}
    success(send(token, body))
    alert = Alert.objects.get()
    assert alert.last_occurred_at.isoformat() == "2026-11-22T21:04:09.123000+00:00"
    assert alert.metadata["pagerduty"]["timestamp"] == "2026-11-22T21:04:09.123000+00:00"


def test_other_path_behaves_the_same(pd):
    _, token = pd
    success(send(token, TRIGGER, url="/api/v1/integrations/pagerduty/v2/enqueue"))
    success(send(token, RESOLVE, url="/api/v1/integrations/pagerduty/v2/enqueue"))
    assert Alert.objects.get().status == "resolved"


def invalid(response):
    assert response.status_code == 400, response.content
    body = response.json()
    assert body["status"] == "invalid event"
    assert body["message"] == "Event object is invalid"
    return body["errors"]


def test_invalid_events_list_every_error(pd):
    _, token = pd
    body = sample(TRIGGER)
    body["payload"] = {"summary": "", "severity": "fatal", "timestamp": "yesterday"}
    errors = invalid(send(token, body))
    assert errors == [
        "'payload.summary' is missing or blank",
        "'payload.source' is missing or blank",
        "'payload.severity' is missing or invalid (must be one of 'critical', 'error', 'warning' or 'info')",
        "'payload.timestamp' is not a valid ISO 8601 timestamp",
    ]
    assert invalid(send(token, TRIGGER, event_action="explode")) == [
        "'event_action' is missing or invalid (must be one of 'trigger', 'acknowledge' or 'resolve')"
    ]
    assert invalid(send(token, RESOLVE, dedup_key="")) == [
        "'dedup_key' is missing or blank (required to acknowledge or resolve)"
    ]
    assert invalid(send(token, TRIGGER, dedup_key="k" * 256)) == [
        "Length of 'dedup_key' is too long (maximum is 255 characters)"
    ]
    long_summary = sample(TRIGGER)
    long_summary["payload"] = {**long_summary["payload"], "summary": "s" * 1025}
    assert invalid(send(token, long_summary)) == [
        "Length of 'payload.summary' is too long (maximum is 1024 characters)"
    ]
    assert invalid(send(token, TRIGGER, routing_key="")) == ["'routing_key' is missing or blank"]
    malformed = APIClient().post("/v2/enqueue", data="{nope", content_type="application/json")
    assert invalid(malformed) == ["Request body is not valid JSON"]
    assert invalid(APIClient().post("/v2/enqueue", data="[]", content_type="application/json")) == [
        "Event object must be a JSON object"
    ]
    assert not Alert.objects.exists()


def test_unknown_and_disabled_routing_keys(pd):
    integration, token = pd
    unknown = send("0" * 32, TRIGGER)
    assert unknown.status_code == 404
    assert unknown.json()["code"] == "unknown_integration"
    _, flights_token = new_integration(kind=IntegrationKind.FLIGHT_EVENTS)
    assert send(flights_token, TRIGGER).status_code == 404
    integration_update(integration_id=integration.pk, by=None, is_active=False)
    disabled = send(token, TRIGGER)
    assert disabled.status_code == 401
    assert disabled.json()["code"] == "integration_disabled"
    assert not Alert.objects.exists()


def test_rate_limit_answers_429_with_retry_after():
    integration, token = new_integration(kind=IntegrationKind.PAGERDUTY)
    integration.config = {"rate_limit_per_minute": 2}
    integration.save(update_fields=["config"])
    success(send(token, TRIGGER))
    success(send(token, RESOLVE))
    limited = send(token, TRIGGER)
    assert limited.status_code == 429
    assert 1 <= int(limited["Retry-After"]) <= 60
    assert limited.json()["status"] == "throttle event"
    assert Alert.objects.count() == 1


def test_bodies_over_512_kb_are_refused(pd):
    _, token = pd
    body = sample(TRIGGER)
    body["payload"] = {**body["payload"], "custom_details": {"blob": "x" * (512 * 1024)}}
    response = send(token, body)
    assert response.status_code == 413
    assert response.json()["code"] == "payload_too_large"


def test_agent_resolution_then_trigger_opens_new_alert_and_ack_from_agent_is_respected(pd):
    _, token = pd
    success(send(token, TRIGGER))
    alert = Alert.objects.get()
    alert_acknowledge(alert_id=alert.pk, by=None)
    alert_resolve(alert_id=alert.pk, by=None)
    success(send(token, TRIGGER))
    assert Alert.objects.filter(status="triggered").count() == 1
