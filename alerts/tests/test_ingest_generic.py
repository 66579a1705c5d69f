"""Generic integrations: CloudEvents 1.0 (structured and batch)."""

from __future__ import annotations

import json

import pytest
from rest_framework.test import APIClient

from alerts.ingest_hooks import generic_event_received
from alerts.models import Alert, GenericEvent, IntegrationKind
from alerts.tests.ingest_helpers import new_integration

pytestmark = pytest.mark.django_db


@pytest.fixture
def generic():
    return new_integration(kind=IntegrationKind.GENERIC)


def cloud_event(event_id="1", type="alertguardian.alert.trigger", subject="pay-42", **data):
    return {
        "specversion": "1.0",
        "id": event_id,
        "source": "/payments",
        "type": type,
        "subject": subject,
        "time": "2026-11-22T21:00:00Z",
        "data": data or {"summary": "Card declined for booking 42", "severity": "error", "source": "payments"},
    }


def post(token, body, content_type="application/cloudevents+json"):
    return APIClient().post(f"/api/v1/integrations/{token}/events", data=json.dumps(body), content_type=content_type)


def test_trigger_acknowledge_resolve_on_subject(generic):
    integration, token = generic
    created = post(token, cloud_event())
    assert created.status_code == 202, created.content
    assert created.json()["events"][0]["result"] == "raised"
    alert = Alert.objects.get()
    assert (alert.source, alert.severity, alert.dedup_key) == ("generic", "high", f"ce:{integration.pk}:pay-42")
    assert alert.title == "Card declined for booking 42"
    assert post(token, cloud_event("2")).json()["events"][0]["result"] == "folded"
    assert (
        post(token, cloud_event("3", type="alertguardian.alert.acknowledge")).json()["events"][0]["result"]
        == "acknowledged"
    )
    assert post(token, cloud_event("4", type="alertguardian.alert.resolve")).json()["events"][0]["result"] == "resolved"
    assert post(token, cloud_event("5", type="alertguardian.alert.resolve")).json()["events"][0]["result"] == "dropped"
    alert.refresh_from_db()
    assert (alert.status, alert.occurrences) == ("resolved", 2)


def test_source_and_id_are_idempotent(generic):
    _, token = generic
    post(token, cloud_event())
    again = post(token, cloud_event())
    assert again.json()["duplicates"] == 1
    assert Alert.objects.get().occurrences == 1
    assert GenericEvent.objects.count() == 1


def test_other_types_are_stored_raise_an_alert_and_reach_the_signal(generic, django_capture_on_commit_callbacks):
    integration, token = generic
    received = []
    generic_event_received.connect(lambda sender, signal, **kw: received.append(kw), weak=False, dispatch_uid="t")
    try:
        with django_capture_on_commit_callbacks(execute=True):
            response = post(
                token,
                cloud_event(
                    type="com.example.hotel_overbooked", summary="Hotel overbooked", severity="critical", booking="B42"
                ),
            )
    finally:
        generic_event_received.disconnect(dispatch_uid="t")
    assert response.status_code == 202
    stored = GenericEvent.objects.get()
    assert stored.data["booking"] == "B42"
    alert = Alert.objects.get()
    assert (alert.type, alert.severity, alert.title) == ("hotel_overbooked", "critical", "Hotel overbooked")
    assert stored.alert_id == alert.pk
    assert received == [
        {
            "team_id": integration.team_id,
            "generic_event_id": stored.pk,
            "type": "com.example.hotel_overbooked",
            "alert_id": alert.pk,
        }
    ]


def test_payment_failures_go_to_the_built_in_payment_rule(generic, django_capture_on_commit_callbacks):
    from alertguardian.celery import app as celery_app

    integration, token = generic
    celery_app.conf.task_always_eager = True
    try:
        with django_capture_on_commit_callbacks(execute=True):
            for event_id in ("p1", "p2"):  # the same payment twice: one alert
                response = post(
                    token,
                    cloud_event(
                        event_id, type="com.example.payment_failed", payment_id="pay_9", booking="B42", amount="120"
                    ),
                )
                assert response.status_code == 202
    finally:
        celery_app.conf.task_always_eager = False
    assert GenericEvent.objects.count() == 2
    alert = Alert.objects.get()
    assert (alert.type, alert.team_id, alert.dedup_key) == (
        "payment_failed",
        integration.team_id,
        "payment_failed:pay_9",
    )
    assert alert.title.startswith("Payment failed for booking B42")
    assert alert.occurrences == 2


def test_batch_is_all_or_nothing(generic):
    _, token = generic
    batch = [cloud_event("1", subject="a"), {**cloud_event("2"), "specversion": "0.3"}, cloud_event("3", subject="c")]
    response = post(token, batch, content_type="application/cloudevents-batch+json")
    assert response.status_code == 400
    assert [item["index"] for item in response.json()["details"]["items"]] == [1]
    assert not GenericEvent.objects.exists()
    batch[1]["specversion"] = "1.0"
    ok = post(token, batch, content_type="application/cloudevents-batch+json")
    assert ok.json()["accepted"] == 3
    assert Alert.objects.count() == 3


def test_invalid_single_event_names_fields(generic):
    _, token = generic
    response = post(token, {"specversion": "1.0", "time": "noon"}, content_type="application/json")
    assert response.status_code == 400
    assert set(response.json()["details"]) == {"id", "source", "type", "time"}


def test_wrong_kind_of_token(generic):
    _, token = new_integration(kind=IntegrationKind.PAGERDUTY)
    assert post(token, cloud_event()).status_code == 404
