"""The flight event contract over HTTP: validation, limits, tokens."""

from __future__ import annotations

import json

import pytest
from rest_framework.test import APIClient

from alerts.flight_contract import REQUIRED_FIELDS
from alerts.models import FlightEvent, FlightStatus, IntegrationKind
from alerts.services.integrations import integration_revoke, integration_update
from alerts.tests.ingest_helpers import LEG, ensure_default_rules, flight_event, new_integration

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _rules():
    ensure_default_rules()


@pytest.fixture
def feed():
    return new_integration()


def post(token, body, **extra):
    return APIClient().post(
        f"/api/v1/integrations/{token}/flight-events", data=json.dumps(body), content_type="application/json", **extra
    )


def test_one_event_is_accepted_and_counted(feed):
    integration, token = feed
    response = post(token, flight_event())
    assert response.status_code == 200, response.content
    assert response.json() == {
        "received": 1,
        "accepted": 1,
        "duplicates": 0,
        "late": 0,
        "legs_updated": 1,
        "alerts_raised": 0,
        "alerts_updated": 0,
        "alerts_resolved": 0,
        "outcomes_recorded": 0,
    }
    assert FlightStatus.objects.get(team=integration.team, key=LEG).status == "scheduled"


@pytest.mark.parametrize("field", REQUIRED_FIELDS)
def test_each_required_field_missing_is_named(feed, field):
    _, token = feed
    response = post(token, flight_event(**{field: ...}))
    assert response.status_code == 400
    body = response.json()
    assert body["code"] == "invalid_event"
    assert body["details"] == {field: ["This field is required."]}
    assert not FlightEvent.objects.exists()


def test_null_required_field_is_refused(feed):
    _, token = feed
    response = post(token, flight_event(flight_number=None))
    assert response.json()["details"] == {"flight_number": ["This field may not be null."]}


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("occurred_at", "2013-02-08T05:15:00"),  # no offset
        ("occurred_at", "2013-02-08"),  # a date, not a time
        ("occurred_at", "yesterday"),
        ("occurred_at", 1360300500),  # epoch seconds are not the contract
        ("scheduled_departure", "2013-02-30T05:15:00Z"),
        ("actual_departure", "not a time"),
        ("estimated_arrival", "2013-02-08 10:00"),
    ],
)
def test_bad_times_are_named(feed, field, value):
    _, token = feed
    response = post(token, flight_event(**{field: value}))
    assert response.status_code == 400
    assert list(response.json()["details"]) == [field]


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("event_type", "exploded"),
        ("event_type", "CANCELLED"),
        ("flight_number", "1545"),
        ("flight_number", 1545),
        ("origin", "NEWARK"),
        ("destination", "I1"),
        ("delay_minutes", "45"),
        ("delay_minutes", 4.5),
        ("delay_minutes", True),
        ("event_id", ""),
        ("event_id", "x" * 201),
        ("service_date", "08/02/2013"),
        ("diverted_to", 123),
        ("gate", ["C1"]),
        ("distance_miles", -5),
    ],
)
def test_bad_values_are_named(feed, field, value):
    _, token = feed
    response = post(token, flight_event(**{field: value}))
    assert response.status_code == 400, response.content
    assert list(response.json()["details"]) == [field]


def test_offsets_without_colon_and_z_are_accepted(feed):
    integration, token = feed
    response = post(
        token,
        flight_event(occurred_at="2013-02-08T05:00:00Z", scheduled_departure="2013-02-08T10:15:00+0000"),
    )
    assert response.status_code == 200, response.content
    leg = FlightStatus.objects.get(team=integration.team)
    assert leg.key == LEG  # 10:15 UTC is 05:15 local at EWR: the local service date
    assert leg.service_date.isoformat() == "2013-02-08"


def test_unknown_fields_are_ignored_and_flight_number_normalized(feed):
    integration, token = feed
    response = post(token, flight_event(flight_number="ua 1545", origin="ewr", aircraft_colour="blue"))
    assert response.status_code == 200, response.content
    leg = FlightStatus.objects.get(team=integration.team)
    assert (leg.key, leg.carrier) == (LEG, "UA")


def test_list_errors_name_each_bad_item_and_nothing_is_applied(feed):
    _, token = feed
    events = [
        flight_event("a"),
        flight_event("b", event_type="boom"),
        flight_event("c"),
        flight_event("d", occurred_at="soon", origin=...),
        "not an object",
    ]
    response = post(token, events)
    assert response.status_code == 400
    body = response.json()
    assert body["code"] == "invalid_events"
    items = body["details"]["items"]
    assert [item["index"] for item in items] == [1, 3, 4]
    assert list(items[0]["errors"]) == ["event_type"]
    assert set(items[1]["errors"]) == {"occurred_at", "origin"}
    assert items[2]["errors"] == {"non_field_errors": ["Each event must be a JSON object."]}
    assert not FlightEvent.objects.exists()  # all-or-nothing
    assert not FlightStatus.objects.exists()


def test_1000_events_pass_and_1001_are_refused(feed):
    _, token = feed
    events = [flight_event(f"e{n}", flight_number=f"UA{n + 1}") for n in range(1001)]
    refused = post(token, events)
    assert refused.status_code == 400
    assert refused.json()["code"] == "too_many_events"
    assert refused.json()["details"] == {"max_events": 1000, "received": 1001}
    assert not FlightEvent.objects.exists()
    accepted = post(token, events[:1000])
    assert accepted.status_code == 200
    assert accepted.json()["accepted"] == 1000


def test_empty_list_and_wrong_json_shape_are_400(feed):
    _, token = feed
    assert post(token, []).status_code == 400
    assert post(token, "a string").json()["code"] == "invalid_event"
    malformed = APIClient().post(
        f"/api/v1/integrations/{token}/flight-events", data="{not json", content_type="application/json"
    )
    assert malformed.status_code == 400
    assert malformed.json()["code"] == "malformed_request"


def test_body_over_one_mib_is_413(feed):
    _, token = feed
    body = [flight_event(f"e{n}", source="x" * 100) for n in range(1000)]
    body[0]["padding"] = "x" * (1024 * 1024)
    response = post(token, body)
    assert response.status_code == 413
    assert response.json()["code"] == "payload_too_large"
    assert not FlightEvent.objects.exists()


def test_unknown_token_is_404_with_standard_body():
    response = post("no-such-token", flight_event())
    assert response.status_code == 404
    assert response.json() == {"code": "unknown_integration", "message": "Unknown integration token.", "details": {}}


def test_token_of_another_kind_is_unknown_here():
    _, token = new_integration(kind=IntegrationKind.ALERTMANAGER)
    assert post(token, flight_event()).status_code == 404


def test_paused_and_revoked_integrations_answer_401(feed):
    integration, token = feed
    integration_update(integration_id=integration.pk, by=None, is_active=False)
    paused = post(token, flight_event())
    assert paused.status_code == 401
    assert paused.json()["code"] == "integration_disabled"
    integration_update(integration_id=integration.pk, by=None, is_active=True)
    assert post(token, flight_event()).status_code == 200
    integration_revoke(integration_id=integration.pk, by=None)
    assert post(token, flight_event("e2")).status_code == 401
    assert FlightEvent.objects.count() == 1


def test_session_cookies_are_not_needed_nor_used_for_csrf(feed):
    _, token = feed
    client = APIClient(enforce_csrf_checks=True)
    response = client.post(
        f"/api/v1/integrations/{token}/flight-events", data=json.dumps(flight_event()), content_type="application/json"
    )
    assert response.status_code == 200
