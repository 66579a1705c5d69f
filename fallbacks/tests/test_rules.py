from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest

from fallbacks import rules
from fallbacks.models import TeamFallbackSettings

DEFAULTS = TeamFallbackSettings()


@pytest.mark.parametrize(
    ("inbound_origin", "hub", "outbound_destination", "expected"),
    [
        ("BOS", "JFK", "LAX", 30),  # domestic → domestic
        ("BOS", "JFK", "LHR", 60),  # domestic → international
        ("LHR", "JFK", "LAX", 90),  # international arrival
        ("LHR", "JFK", "CDG", 90),
        ("SJU", "JFK", "LAX", 30),  # Puerto Rico is domestic for US rules
    ],
)
def test_minimum_connection_time_follows_iata_defaults(inbound_origin, hub, outbound_destination, expected):
    assert (
        rules.minimum_connection_minutes(
            DEFAULTS, inbound_origin=inbound_origin, hub=hub, outbound_destination=outbound_destination
        )
        == expected
    )


def test_minimum_connection_time_is_configurable_per_team():
    custom = TeamFallbackSettings(mct_domestic_minutes=45)
    assert rules.minimum_connection_minutes(custom, inbound_origin="BOS", hub="JFK", outbound_destination="LAX") == 45


@pytest.mark.parametrize(
    ("change", "international", "eligible"),
    [
        (180, False, False),  # exactly 3 h: not over the limit
        (181, False, True),
        (300, False, True),
        (300, True, False),  # international needs more than 6 h
        (360, True, False),
        (361, True, True),
        (None, False, False),
    ],
)
def test_refund_thresholds_3h_domestic_6h_international(change, international, eligible):
    decision = rules.refund_eligibility(DEFAULTS, cancelled=False, change_minutes=change, international=international)
    assert decision.eligible is eligible
    assert decision.reason


def test_cancellation_is_always_refund_eligible():
    decision = rules.refund_eligibility(DEFAULTS, cancelled=True, change_minutes=0, international=False)
    assert decision.eligible
    assert "cancelled" in decision.reason


def test_hotel_only_when_the_new_departure_is_a_later_local_day():
    # 22:00 EST on the 8th = 03:00 UTC on the 9th; the local day is what counts.
    planned = datetime(2013, 2, 9, 3, 0, tzinfo=UTC)
    same_local_day = datetime(2013, 2, 9, 4, 30, tzinfo=UTC)  # 23:30 EST on the 8th
    next_local_day = datetime(2013, 2, 9, 12, 0, tzinfo=UTC)  # 07:00 EST on the 9th
    two_days_later = next_local_day + timedelta(days=1)
    assert rules.hotel_nights(airport="JFK", planned_departure=planned, new_departure=same_local_day) == []
    nights = rules.hotel_nights(airport="JFK", planned_departure=planned, new_departure=next_local_day)
    assert [n.isoformat() for n in nights] == ["2013-02-08"]
    assert len(rules.hotel_nights(airport="JFK", planned_departure=planned, new_departure=two_days_later)) == 2


def test_passenger_cost_fee_and_fare_difference():
    settings = TeamFallbackSettings(change_fee_voluntary=Decimal("75"), change_fee_involuntary=Decimal("10"))
    voluntary = rules.passenger_cost(
        settings, involuntary=False, passengers=2, new_fare=Decimal("300"), old_fare=Decimal("250")
    )
    assert (voluntary.change_fee, voluntary.fare_difference, voluntary.passenger_cost) == (
        Decimal("150.00"),
        Decimal("100.00"),
        Decimal("250.00"),
    )
    involuntary = rules.passenger_cost(
        settings, involuntary=True, passengers=2, new_fare=Decimal("300"), old_fare=Decimal("250")
    )
    assert involuntary.passenger_cost == Decimal("20.00")  # the fare difference is waived by default
    cheaper = rules.passenger_cost(
        settings, involuntary=False, passengers=1, new_fare=Decimal("100"), old_fare=Decimal("250")
    )
    assert cheaper.fare_difference == Decimal("0.00")


def test_connection_window_is_24_hours():
    arrival = datetime(2013, 2, 8, 12, tzinfo=UTC)
    assert rules.is_connection(arrival, arrival + timedelta(hours=23, minutes=59))
    assert not rules.is_connection(arrival, arrival + timedelta(hours=24))


def test_format_minutes():
    assert rules.format_minutes(45) == "45 min"
    assert rules.format_minutes(120) == "2 h"
    assert rules.format_minutes(125) == "2 h 05 min"


@pytest.mark.django_db
def test_disruption_is_read_from_the_flight_alert_contract():
    from alerts.tests.factories import AlertFactory
    from fallbacks.engine import disruption_from_alert

    leg = "UA1545-2013-01-01-EWR"
    cancelled = AlertFactory(type="flight_cancelled", resource=leg, dedup_key=f"flight:{leg}:cancelled")
    assert disruption_from_alert(cancelled).kind == "cancelled"
    delayed = AlertFactory(
        type="flight_delayed",
        resource=leg,
        dedup_key=f"flight:{leg}:delay",
        metadata={"delay_minutes": "150.0", "estimated_departure": "2013-01-01T08:15:00-05:00"},
    )
    disruption = disruption_from_alert(delayed)
    assert disruption.kind == "delay"
    assert disruption.delay_minutes == 150
    assert disruption.estimated_departure == datetime(2013, 1, 1, 13, 15, tzinfo=UTC)
    assert disruption.involuntary
    diverted = AlertFactory(type="flight_diverted", resource=leg, dedup_key="")
    assert disruption_from_alert(diverted).kind == "diverted"
    assert disruption_from_alert(AlertFactory(type="gate_change", resource=leg)) is None
    assert disruption_from_alert(AlertFactory(type="flight_cancelled", resource="")) is None
    naive = AlertFactory(type="flight_delayed", resource=leg, metadata={"estimated_departure": "2013-01-01T08:15:00"})
    assert disruption_from_alert(naive).estimated_departure is None
