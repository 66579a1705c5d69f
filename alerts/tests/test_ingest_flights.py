"""flight_events_ingest: idempotency, ordering, leg state, bulk behaviour; the flights API."""

from __future__ import annotations

import json
from datetime import datetime

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from rest_framework.test import APIClient

from accounts.models import TeamRole, UserRole
from accounts.tests.factories import TeamFactory, member
from alertguardian.realtime import team_group
from alerts.flight_contract import parse_flight_events
from alerts.ingest_hooks import flight_legs_changed
from alerts.models import Alert, FlightEvent, FlightStatus
from alerts.services import integrations as integration_services
from alerts.services.flights import flight_events_ingest
from alerts.tests.ingest_helpers import (
    LEG,
    captured_group,
    ensure_default_rules,
    flight_event,
    leg_locked,
    new_integration,
)
from audit.models import AuditEntry

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _rules():
    ensure_default_rules()


def ingest(integration, *events):
    parsed, _ = parse_flight_events(list(events))
    return flight_events_ingest(integration=integration, events=parsed)


def leg(integration, key=LEG):
    return FlightStatus.objects.get(team=integration.team, key=key)


def test_leg_takes_the_latest_times_gate_and_computed_delay():
    integration, _ = new_integration()
    ingest(
        integration,
        flight_event("s", gate="C5", terminal="C", tail_number="N14228", distance_miles=1400),
        flight_event(
            "d",
            "delayed",
            occurred_at="2013-02-08T04:00:00-05:00",
            estimated_departure="2013-02-08T06:05:00-05:00",
            delay_minutes=999,  # the sender's figure loses to the times
        ),
    )
    state = leg(integration)
    assert state.status == "delayed"
    assert state.delay_minutes == 50
    assert state.reported_delay_minutes == 999
    assert (state.gate, state.terminal, state.tail_number, state.distance_miles) == ("C5", "C", "N14228", 1400)
    assert state.destination == "IAH"
    assert state.last_event_type == "delayed"
    assert state.last_event_at == datetime.fromisoformat("2013-02-08T04:00:00-05:00")


def test_stored_events_and_legs_keep_every_value_exactly():
    """Events and legs are written by hand-built bulk statements (JSON rows on PostgreSQL,
    VALUES on SQLite): quotes, backslashes, non-ASCII text, nested payloads, sub-second
    times and unset (NULL) fields come back as sent."""
    integration, _ = new_integration()
    awkward = 'O\'Hare "B" \\ gate — Zürich ✈'
    event = flight_event(
        "q'1\\",
        "delayed",
        occurred_at="2013-02-08T04:00:00.123456-05:00",
        estimated_departure="2013-02-08T06:05:00-05:00",
        gate="B'7",
        extra={"note": awkward, "nested": [1, {"a": None}]},
    )
    ingest(integration, event)
    stored = FlightEvent.objects.get(integration=integration)
    assert stored.event_id == "q'1\\"
    assert stored.payload["extra"] == {"note": awkward, "nested": [1, {"a": None}]}
    assert stored.occurred_at == datetime.fromisoformat("2013-02-08T04:00:00.123456-05:00")
    assert stored.applied is True
    state = leg(integration)
    assert state.gate == "B'7"
    assert state.estimated_departure == datetime.fromisoformat("2013-02-08T06:05:00-05:00")
    assert state.actual_departure is None and state.distance_miles is None
    assert state.last_event_at == stored.occurred_at


def test_a_payload_with_an_integer_beyond_64_bits_is_stored_exactly():
    """The fast JSON encoder (orjson) refuses such integers; the standard library's takes over."""
    integration, _ = new_integration()
    ingest(integration, flight_event("big", "delayed", delay_minutes=5, extra={"id": 2**70, "ratio": 0.25}))
    stored = FlightEvent.objects.get(integration=integration)
    assert stored.payload["extra"] == {"id": 2**70, "ratio": 0.25}
    assert leg(integration).delay_minutes == 5


def test_delay_minutes_is_used_when_no_times_are_given():
    integration, _ = new_integration()
    ingest(integration, flight_event("d", "delayed", delay_minutes=30))
    assert leg(integration).delay_minutes == 30


def test_duplicates_change_nothing_and_are_counted():
    integration, _ = new_integration()
    first = ingest(integration, flight_event("a"), flight_event("a"))
    assert (first.accepted, first.duplicates) == (1, 1)
    second = ingest(integration, flight_event("a", "cancelled", occurred_at="2013-02-08T03:00:00-05:00"))
    assert (second.accepted, second.duplicates, second.legs_updated, second.alerts_raised) == (0, 1, 0, 0)
    assert leg(integration).status == "scheduled"
    assert FlightEvent.objects.count() == 1


def test_same_event_id_from_two_integrations_is_two_events():
    team = TeamFactory()
    one, _ = new_integration(team, name="one")
    two, _ = new_integration(team, name="two")
    assert ingest(one, flight_event("a")).accepted == 1
    assert ingest(two, flight_event("a")).accepted == 1
    assert FlightStatus.objects.filter(team=team).count() == 1  # one leg per team, whoever reports it


def test_out_of_order_events_are_stored_but_change_nothing():
    integration, _ = new_integration()
    ingest(integration, flight_event("dep", "departed", occurred_at="2013-02-08T05:20:00-05:00", gate="C9"))
    result = ingest(
        integration,
        flight_event("old", "cancelled", occurred_at="2013-02-08T03:00:00-05:00"),
        flight_event("same", "gate_change", occurred_at="2013-02-08T05:20:00-05:00", gate="A1"),
    )
    assert (result.accepted, result.late, result.legs_updated, result.alerts_raised) == (2, 2, 0, 0)
    state = leg(integration)
    assert (state.status, state.gate) == ("departed", "C9")
    assert dict(FlightEvent.objects.values_list("event_id", "applied")) == {"dep": True, "old": False, "same": False}
    assert not Alert.objects.exists()


def test_a_batch_is_applied_oldest_first_whatever_its_order():
    integration, _ = new_integration()
    result = ingest(
        integration,
        flight_event(
            "arr", "arrived", occurred_at="2013-02-08T09:00:00-06:00", actual_arrival="2013-02-08T08:55:00-06:00"
        ),
        flight_event("sch"),
        flight_event(
            "dep", "departed", occurred_at="2013-02-08T05:20:00-05:00", actual_departure="2013-02-08T05:20:00-05:00"
        ),
    )
    assert (result.accepted, result.late) == (3, 0)
    state = leg(integration)
    assert state.status == "arrived"
    assert state.delay_minutes == 5


def test_legs_are_per_team():
    one, _ = new_integration()
    two, _ = new_integration()
    ingest(one, flight_event("a", "cancelled"))
    ingest(two, flight_event("a"))
    assert leg(one).status == "cancelled"
    assert leg(two).status == "scheduled"
    assert Alert.objects.get().team_id == one.team_id


def test_ingest_is_audited_published_and_signalled(django_capture_on_commit_callbacks):
    integration, _ = new_integration()
    received = []

    def receiver(sender, **kwargs):
        received.append(kwargs)

    flight_legs_changed.connect(receiver, dispatch_uid="test-legs")
    try:
        with captured_group(team_group(integration.team_id)) as live, django_capture_on_commit_callbacks(execute=True):
            ingest(integration, flight_event("a", "cancelled"))
    finally:
        flight_legs_changed.disconnect(dispatch_uid="test-legs")
    entry = AuditEntry.objects.get(action="flight_events.ingested")
    assert entry.data["accepted"] == 1
    assert entry.data["legs"] == [LEG]
    assert entry.team_id == integration.team_id
    flights = [event for event in live if event["type"] == "flights.updated"]
    assert len(flights) == 1
    assert flights[0]["flights"][0]["key"] == LEG
    assert flights[0]["flights"][0]["status"] == "cancelled"
    assert {event["type"] for event in live} == {"flights.updated", "alert.created"}
    assert len(received) == 1
    change = received[0]["changes"][0]
    assert (received[0]["team_id"], change["leg"], change["status"]) == (integration.team_id, LEG, "cancelled")
    assert change["findings"][0]["kind"] == "cancelled"
    assert change["findings"][0]["alert_id"] == Alert.objects.get().pk


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)  # the flush drops seeded rules: tests seed what they need
def test_a_leg_locked_too_long_answers_503_and_stores_nothing(monkeypatch):
    ensure_default_rules()
    integration, token = new_integration()
    ingest(integration, flight_event("a"))
    monkeypatch.setattr(integration_services, "INGEST_LOCK_TIMEOUT_MS", 200)
    with leg_locked(LEG):
        response = APIClient().post(
            f"/api/v1/integrations/{token}/flight-events",
            data=json.dumps(flight_event("b", "cancelled", occurred_at="2013-02-08T03:00:00-05:00")),
            content_type="application/json",
        )
    assert response.status_code == 503
    assert response["Retry-After"] == "5"
    assert response.json()["code"] == "unavailable"
    assert list(FlightEvent.objects.values_list("event_id", flat=True)) == ["a"]
    assert leg(integration).status == "scheduled"


def test_integration_last_event_at_is_recorded_after_commit(django_capture_on_commit_callbacks):
    integration, _ = new_integration()
    with django_capture_on_commit_callbacks(execute=True):
        ingest(integration, flight_event("a"))
    integration.refresh_from_db()
    assert integration.last_event_at is not None


def test_only_duplicates_write_no_audit_row():
    integration, _ = new_integration()
    ingest(integration, flight_event("a"))
    before = AuditEntry.objects.count()
    ingest(integration, flight_event("a"))
    assert AuditEntry.objects.count() == before


def _batch(count, prefix):
    return [
        flight_event(f"{prefix}{n}", flight_number=f"UA{n + 1}", gate=f"G{n}", occurred_at="2013-02-08T00:00:00-05:00")
        for n in range(count)
    ]


@pytest.mark.postgres  # SQLite caps statement parameters, so Django splits bulk statements there
def test_query_count_does_not_grow_with_the_batch():
    integration, _ = new_integration()
    ingest(integration, flight_event("warm"))  # integration last_event_at, first-time work
    with CaptureQueriesContext(connection) as small:
        ingest(integration, *_batch(5, "s"))
    with CaptureQueriesContext(connection) as large:
        ingest(integration, *_batch(300, "l"))
    assert len(large) == len(small)
    assert len(large) <= 12
    with CaptureQueriesContext(connection) as updates:  # the same legs again, newer events
        ingest(
            integration,
            *[
                dict(e, event_id=f"u{n}", occurred_at="2013-02-08T01:00:00-05:00")
                for n, e in enumerate(_batch(300, "x"))
            ],
        )
    assert len(updates) == len(large)  # legs are created or locked by the same one statement


def test_single_event_on_a_known_leg_is_a_handful_of_queries():
    integration, _ = new_integration()
    ingest(integration, flight_event("a"))
    with CaptureQueriesContext(connection) as queries:
        ingest(integration, flight_event("b", gate="B2", occurred_at="2013-02-08T01:00:00-05:00"))
    # (savepoint), lock timeout, create-or-lock leg, insert event, the team's event rules,
    # save leg, detection rules, audit (advisory lock, previous hash, insert), (release)
    assert len(queries) <= 11, "\n".join(q["sql"][:100] for q in queries)


# --- the flights API -------------------------------------------------------------------


def api(user):
    client = APIClient()
    client.force_authenticate(user)
    return client


@pytest.fixture
def two_days():
    integration, _ = new_integration()
    ingest(
        integration,
        flight_event("1", "cancelled"),
        flight_event("2", "delayed", flight_number="B6725", origin="JFK", destination="BQN", delay_minutes=50),
        flight_event("3", flight_number="AA1141", origin="JFK", destination="MIA"),
        flight_event(
            "4",
            scheduled_departure="2013-02-09T05:15:00-05:00",
            occurred_at="2013-02-09T00:00:00-05:00",
        ),
    )
    return integration


def keys(response):
    assert response.status_code == 200, response.content
    return sorted(row["key"] for row in response.json()["results"])


def test_flights_list_filters(two_days):
    agent = member(two_days.team)
    client = api(agent)
    assert len(keys(client.get("/api/v1/flights"))) == 4
    assert keys(client.get("/api/v1/flights?date=2013-02-08&origin=jfk")) == [
        "AA1141-2013-02-08-JFK",
        "B6725-2013-02-08-JFK",
    ]
    assert keys(client.get("/api/v1/flights?status=cancelled")) == [LEG]
    assert keys(client.get("/api/v1/flights?delayed=true")) == ["B6725-2013-02-08-JFK"]
    assert len(keys(client.get("/api/v1/flights?delayed=false"))) == 3
    bad = client.get("/api/v1/flights?date=tomorrow&status=lost")
    assert bad.status_code == 400
    assert set(bad.json()["details"]) == {"date", "status"}


def test_flight_detail_by_number_and_date(two_days):
    client = api(member(two_days.team))
    both = client.get("/api/v1/flights/UA1545")
    assert [row["key"] for row in both.json()["legs"]] == ["UA1545-2013-02-09-EWR", LEG]
    one = client.get("/api/v1/flights/ua1545?date=2013-02-08")
    assert one.status_code == 200
    assert [row["status"] for row in one.json()["legs"]] == ["cancelled"]
    assert client.get("/api/v1/flights/UA1545?date=2013-03-01").status_code == 404
    assert client.get("/api/v1/flights/UA1545?date=someday").status_code == 400


def test_flights_are_staff_only_and_per_team(two_days):
    outsider = member(TeamFactory())
    assert api(outsider).get("/api/v1/flights").json()["results"] == []
    assert api(outsider).get("/api/v1/flights/UA1545").status_code == 404
    customer = member(two_days.team, team_role=TeamRole.VIEWER, role=UserRole.CUSTOMER)
    assert api(customer).get("/api/v1/flights").status_code == 403
    assert APIClient().get("/api/v1/flights").status_code == 401
    admin = member(TeamFactory(), role=UserRole.ADMIN)
    assert len(api(admin).get("/api/v1/flights").json()["results"]) == 4


def test_http_and_service_agree(two_days):
    _, token = new_integration(two_days.team)
    response = APIClient().post(
        f"/api/v1/integrations/{token}/flight-events",
        data=json.dumps(
            [
                flight_event(
                    "5", "departed", flight_number="AA1141", origin="JFK", occurred_at="2013-02-08T06:00:00-05:00"
                )
            ]
        ),
        content_type="application/json",
    )
    assert response.json()["legs_updated"] == 1
    assert FlightStatus.objects.get(key="AA1141-2013-02-08-JFK").status == "departed"
