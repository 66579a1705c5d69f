from __future__ import annotations

import pytest

from accounts.models import TeamRole
from accounts.tests.factories import TeamFactory, member
from audit.models import AuditEntry
from fallbacks.models import Booking, BookingSegment
from fallbacks.tests.helpers import client_for, customer_of, flights

pytestmark = pytest.mark.django_db


def segment(origin="JFK", destination="LAX", dep="2013-02-08T06:00:00-05:00", arr="2013-02-08T09:20:00-08:00", **extra):
    return {
        "flight_number": extra.pop("flight_number", "UA1030"),
        "origin": origin,
        "destination": destination,
        "scheduled_departure": dep,
        "scheduled_arrival": arr,
        **extra,
    }


def create(client, **body):
    payload = {"passengers": 1, "segments": [segment()], **body}
    return client.post("/api/v1/bookings", payload, format="json")


def test_customer_books_for_themselves_and_gets_leg_keys(team, customer):
    response = create(client_for(customer), reference="abc123", total_paid="350.00")
    assert response.status_code == 201, response.json()
    body = response.json()
    assert body["reference"] == "ABC123"
    assert body["customer"]["id"] == customer.pk
    assert body["segments"][0]["leg_key"] == "UA1030-2013-02-08-JFK"
    assert body["segments"][0]["service_date"] == "2013-02-08"
    assert AuditEntry.objects.filter(action="booking.created", target_id=str(body["id"])).count() == 1


def test_customer_cannot_book_for_someone_else(team, customer):
    other = customer_of(team)
    response = create(client_for(customer), customer=other.email)
    assert response.status_code == 403
    assert Booking.objects.count() == 0


def test_customer_cannot_book_with_a_team_they_do_not_belong_to(customer):
    elsewhere = TeamFactory()
    response = create(client_for(customer), team=elsewhere.pk)
    assert response.status_code == 404


def test_agent_books_for_a_customer_of_their_team(team, agent, customer):
    response = create(client_for(agent), team=team.pk, customer=customer.email, passengers=3)
    assert response.status_code == 201, response.json()
    assert response.json()["passengers"] == 3
    viewer = member(team, team_role=TeamRole.VIEWER)
    assert create(client_for(viewer), team=team.pk, customer=customer.email, reference="VIEW01").status_code == 404


def test_agent_of_another_team_gets_404(team, customer):
    outsider = member(TeamFactory())
    response = create(client_for(outsider), team=team.pk, customer=customer.email)
    assert response.status_code == 404


@pytest.mark.parametrize(
    ("segments", "path", "fragment"),
    [
        ([segment(origin="QQQ")], (0, "origin"), "unknown airport"),
        ([segment(dep="2013-02-08T06:00:00")], (0, "scheduled_departure"), "offset"),
        ([segment(arr="2013-02-08T02:00:00-08:00")], (0, "scheduled_arrival"), "after the scheduled departure"),
        ([segment(service_date="2013-02-09")], (0, "service_date"), "2013-02-08"),
        ([segment(flight_number="1")], (0, "flight_number"), "carrier"),
        (
            [
                segment(),
                segment(
                    origin="LAX",
                    destination="SFO",
                    dep="2013-02-08T09:00:00-08:00",
                    arr="2013-02-08T10:30:00-08:00",
                    flight_number="UA200",
                ),
            ],
            (1, "scheduled_departure"),
            "time order",
        ),
        (
            [
                segment(),
                segment(
                    origin="LAX",
                    destination="SFO",
                    dep="2013-02-08T09:40:00-08:00",
                    arr="2013-02-08T11:00:00-08:00",
                    flight_number="UA200",
                ),
            ],
            (1, "scheduled_departure"),
            "minimum connection time is 30 min",
        ),
        (
            [
                segment(),
                segment(
                    origin="LAX",
                    destination="LHR",
                    dep="2013-02-08T10:00:00-08:00",
                    arr="2013-02-09T04:00:00+00:00",
                    flight_number="BA282",
                ),
            ],
            (1, "scheduled_departure"),
            "minimum connection time is 60 min",
        ),
        (
            [
                segment(),
                segment(
                    origin="SFO",
                    destination="SEA",
                    dep="2013-02-08T12:00:00-08:00",
                    arr="2013-02-08T14:00:00-08:00",
                    flight_number="UA201",
                ),
            ],
            (1, "origin"),
            "must leave from LAX",
        ),
    ],
)
def test_itinerary_errors_name_the_segment_index_and_field(customer, segments, path, fragment):
    response = create(client_for(customer), segments=segments)
    assert response.status_code == 400, response.json()
    body = response.json()
    assert set(body) == {"code", "message", "details"}
    index, field = path
    messages = body["details"]["segments"][index][field]
    assert any(fragment in m for m in messages), messages
    assert Booking.objects.count() == 0
    assert BookingSegment.objects.count() == 0


def test_international_arrival_needs_90_minutes_and_a_valid_connection_passes(customer):
    inbound = segment(
        origin="LHR",
        destination="JFK",
        dep="2013-02-08T10:00:00+00:00",
        arr="2013-02-08T13:00:00-05:00",
        flight_number="BA117",
    )
    too_short = segment(
        origin="JFK", destination="LAX", dep="2013-02-08T14:20:00-05:00", arr="2013-02-08T17:40:00-08:00"
    )
    response = create(client_for(customer), segments=[inbound, too_short])
    assert response.status_code == 400
    assert "90 min" in response.json()["details"]["segments"][1]["scheduled_departure"][0]
    enough = {**too_short, "scheduled_departure": "2013-02-08T14:30:00-05:00"}
    assert create(client_for(customer), segments=[inbound, enough]).status_code == 201


def test_passengers_and_empty_segments_are_rejected(customer):
    client = client_for(customer)
    assert create(client, passengers=0).json()["details"]["passengers"]
    assert create(client, segments=[]).status_code == 400


def test_duplicate_reference_is_a_400_on_the_reference(customer):
    client = client_for(customer)
    assert create(client, reference="DUP001").status_code == 201
    response = create(client, reference="DUP001")
    assert response.status_code == 400
    assert "reference" in response.json()["details"]


def test_customers_see_only_their_bookings_and_filters_work(team, agent, customer, inventory):
    other = customer_of(team)
    lax = flights("JFK", "LAX", service_date="2013-02-08")[0]
    atl = flights("LGA", "ATL", service_date="2013-02-08")[0]
    from fallbacks.tests.helpers import book

    mine = book(team, customer, [lax])
    theirs = book(team, other, [atl])
    listed = client_for(customer).get("/api/v1/bookings").json()["results"]
    assert [b["id"] for b in listed] == [mine.pk]
    assert client_for(customer).get(f"/api/v1/bookings/{theirs.pk}").status_code == 404
    staff = client_for(agent)
    assert {b["id"] for b in staff.get("/api/v1/bookings").json()["results"]} == {mine.pk, theirs.pk}
    by_flight = staff.get("/api/v1/bookings", {"flight": lax.flight_number}).json()["results"]
    assert [b["id"] for b in by_flight] == [mine.pk]
    by_leg = staff.get("/api/v1/bookings", {"flight": atl.leg_key}).json()["results"]
    assert [b["id"] for b in by_leg] == [theirs.pk]
    by_customer = staff.get("/api/v1/bookings", {"customer": other.email}).json()["results"]
    assert [b["id"] for b in by_customer] == [theirs.pk]
    assert staff.get("/api/v1/bookings", {"date": "2013-02-09"}).json()["results"] == []
    assert staff.get("/api/v1/bookings", {"date": "not-a-date"}).status_code == 400
    outsider = member(TeamFactory())
    assert client_for(outsider).get(f"/api/v1/bookings/{mine.pk}").status_code == 404
    assert client_for(outsider).get("/api/v1/bookings").json()["results"] == []
