from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
import time_machine
from django.core.management import call_command

from fallbacks.models import Airport, AlternativeRouteCache, GroundRoute, Hotel, HotelNight, InventoryFlight
from fallbacks.providers import LocalDataProvider
from fallbacks.services import alternatives_precompute, hotel_availability_sync, inventory_load
from fallbacks.tests.helpers import DAY, ROUTES, flights, raise_disruption

pytestmark = pytest.mark.django_db


def test_load_builds_real_flights_with_seats_times_and_synthetic_returns():
    result = inventory_load(start=DAY, days=1, routes={("JFK", "LAX")})
    assert result.flights_created == 62  # 31 real departures + 31 synthetic return legs
    real = InventoryFlight.objects.get(leg_key="UA1030-2013-02-08-JFK")
    # 06:01 local at JFK (EST, UTC-5); arrival 09:18 local at LAX (PST, UTC-8)
    assert real.scheduled_departure == datetime(2013, 2, 8, 11, 1, tzinfo=UTC)
    assert real.scheduled_arrival == datetime(2013, 2, 8, 17, 18, tzinfo=UTC)
    assert real.seats == 178  # planes.csv seats of its tail number
    assert 0.70 * real.seats <= real.seats_sold < 0.95 * real.seats
    assert real.historical_outcome == ""
    assert not real.is_synthetic
    back = InventoryFlight.objects.get(leg_key="UA1030-2013-02-08-LAX")
    assert back.is_synthetic
    assert back.source == "synthetic-reverse"
    assert (back.origin, back.destination) == ("LAX", "JFK")
    assert back.scheduled_departure >= real.scheduled_arrival + timedelta(minutes=60)
    assert back.scheduled_arrival - back.scheduled_departure == real.scheduled_arrival - real.scheduled_departure
    cancelled = InventoryFlight.objects.filter(origin="JFK", historical_outcome="cancelled").count()
    assert cancelled == 15


def test_load_is_idempotent_and_keeps_seats_sold():
    inventory_load(start=DAY, days=1, routes={("JFK", "LAX")})
    flight = InventoryFlight.objects.get(leg_key="UA1030-2013-02-08-JFK")
    LocalDataProvider().reserve_seats(ref=str(flight.pk), seats=3)
    counts = (
        InventoryFlight.objects.count(),
        Airport.objects.count(),
        Hotel.objects.count(),
        GroundRoute.objects.count(),
    )
    again = inventory_load(start=DAY, days=1, routes={("JFK", "LAX")})
    assert (again.flights_created, again.flights_updated, again.hotels, again.ground_routes) == (0, 0, 0, 0)
    assert counts == (
        InventoryFlight.objects.count(),
        Airport.objects.count(),
        Hotel.objects.count(),
        GroundRoute.objects.count(),
    )
    flight_after = InventoryFlight.objects.get(pk=flight.pk)
    assert flight_after.seats_sold == flight.seats_sold + 3


def test_airports_hotels_and_ground_routes_from_airportsdata():
    inventory_load(start=DAY, days=1, routes=ROUTES)
    jfk = Airport.objects.get(iata="JFK")
    assert jfk.tz == "America/New_York"
    assert Airport.objects.filter(iata="HPN", source="curated").exists()
    hotels = Hotel.objects.filter(airport="JFK")
    assert hotels.count() == 2
    assert all(h.is_synthetic and 0 < h.distance_km < 6 for h in hotels)
    shuttle = GroundRoute.objects.get(origin="JFK", destination="LGA", mode="bus")
    assert shuttle.frequency_minutes == 30
    assert GroundRoute.objects.filter(origin="BOS", destination="EWR", mode="rail").exists()
    assert not GroundRoute.objects.filter(origin="JFK", destination="LAX").exists()  # far beyond 400 km
    # one HotelNight per hotel for the loaded day and the night after
    assert HotelNight.objects.filter(hotel__airport="JFK").count() == 4


def test_hotel_sync_never_drops_capacity_below_rooms_booked():
    inventory_load(start=DAY, days=1, routes={("JFK", "LAX")})
    hotel = Hotel.objects.filter(airport="JFK").first()
    assert hotel is not None
    LocalDataProvider().reserve_rooms(ref=str(hotel.pk), nights=[DAY], rooms=5)
    Hotel.objects.filter(pk=hotel.pk).update(rooms_total=3)  # the provider now offers fewer rooms
    hotel_availability_sync(start=DAY, days=1)
    night = HotelNight.objects.get(hotel=hotel, night=DAY)
    assert night.rooms_booked == 5
    assert night.rooms_total == 5
    assert hotel_availability_sync(start=DAY, days=1) == 0  # nothing changed the second time


def test_load_inventory_command(capsys):
    call_command("load_inventory", "--date", "2013-02-08", "--routes", "JFK-LAX")
    out = capsys.readouterr().out
    assert "62 flights created" in out
    assert InventoryFlight.objects.count() == 62


def test_precompute_alternatives_for_at_risk_departures(team):
    inventory_load(start=DAY, days=1, routes={("JFK", "LAX"), ("EWR", "LAX")})
    delayed = flights("JFK", "LAX")[0]
    raise_disruption(team, delayed.leg_key, kind="delay", delay_minutes=150)
    with time_machine.travel(delayed.scheduled_departure - timedelta(hours=2), tick=False):
        cached = alternatives_precompute()
    # every JFK departure in the next 24 h is at risk (open disruption alert at JFK)
    assert cached == InventoryFlight.objects.filter(origin="JFK").count()
    row = AlternativeRouteCache.objects.get(leg_key=delayed.leg_key)
    assert row.reason == "delayed"
    alternatives = row.alternatives
    assert alternatives
    assert all(a["leg_key"] != delayed.leg_key for a in alternatives)
    assert {a["origin"] for a in alternatives} <= {"JFK", "EWR", "LGA"}
    assert [a["departure"] for a in alternatives] == sorted(a["departure"] for a in alternatives)


def test_inventory_and_alternatives_endpoints(agent):
    from fallbacks.tests.helpers import client_for

    inventory_load(start=DAY, days=1, routes={("JFK", "LAX"), ("EWR", "LAX")})
    client = client_for(agent)
    assert client.get("/api/v1/inventory/flights").status_code == 400  # unfiltered would list everything
    page = client.get("/api/v1/inventory/flights", {"origin": "jfk", "destination": "LAX", "date": "2013-02-08"}).json()
    departures = [f["scheduled_departure"] for f in page["results"]]
    assert len(departures) == 31
    assert departures == sorted(departures)
    first = page["results"][0]
    assert first["seats_free"] == first["seats"] - first["seats_sold"]
    alternatives = client.get(f"/api/v1/inventory/flights/{first['leg_key']}/alternatives").json()
    assert alternatives["cached"] is False
    assert alternatives["alternatives"]
    assert {a["origin"] for a in alternatives["alternatives"]} <= {"JFK", "EWR", "LGA"}
    assert client.get("/api/v1/inventory/flights/XX1-2013-02-08-JFK/alternatives").status_code == 404
