from __future__ import annotations

from datetime import date

import pytest

from fallbacks import airports
from fallbacks.data import DataUnavailable, iter_flights, plane_seats, seats_for


def test_reads_a_real_day_from_the_package_csv():
    rows = list(iter_flights([date(2013, 2, 8)]))
    assert len(rows) == 930  # every scheduled departure from EWR/JFK/LGA that day
    assert sum(r.cancelled for r in rows) == 472  # the "Nemo" blizzard
    assert {r.origin for r in rows} == {"EWR", "JFK", "LGA"}
    first = rows[0]
    assert first.flight_number == f"{first.carrier}{first.flight}"


def test_seats_come_from_planes_csv_with_carrier_defaults():
    assert plane_seats()["N10156"] == 55
    assert seats_for("N10156", "EV") == 55
    assert seats_for("UNKNOWN", "MQ") == 50
    assert seats_for("UNKNOWN", "ZZ") == 100


def test_dates_outside_2013_are_refused():
    with pytest.raises(DataUnavailable):
        list(iter_flights([date(2014, 1, 1)]))


def test_leg_key_round_trip_and_airport_facts():
    key = airports.leg_key("ua1545", date(2013, 1, 1), "ewr")
    assert key == "UA1545-2013-01-01-EWR"
    assert airports.parse_leg_key(key) == ("UA1545", date(2013, 1, 1), "EWR")
    assert airports.parse_leg_key("booking:ABC") is None
    assert airports.is_known_airport("JFK")
    assert not airports.is_known_airport("QQQ")
    assert 15 < airports.distance_between_km("JFK", "LGA") < 25
    assert airports.is_domestic("JFK", "SJU")
    assert not airports.is_domestic("JFK", "LHR")
